"""Every built-in method; importing this package fills the registry."""

from . import autoencoder_reducers, classic, conv_vae, dec, deepcluster, n2d, reducers, two_stage, vade  # noqa: F401
