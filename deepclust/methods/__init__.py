"""Every built-in method; importing this package fills the registry."""

from . import classic, dec, reducers, two_stage  # noqa: F401
