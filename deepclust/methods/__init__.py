"""Every built-in method; importing this package fills the registry."""

from . import autoencoder_reducers, classic, dec, reducers, two_stage  # noqa: F401
