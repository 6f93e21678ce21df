"""Every built-in method; importing this package fills the registry."""

from . import classic, reducers, two_stage  # noqa: F401
