"""Neural building blocks: autoencoders, clustering heads and losses as pure functions."""

from .autoencoders import ConvAutoencoder, MLPAutoencoder, build_autoencoder
from .losses import (
    kl_divergence,
    reconstruction_loss,
    student_t_assignment,
    target_distribution,
)

__all__ = [
    "ConvAutoencoder",
    "MLPAutoencoder",
    "build_autoencoder",
    "kl_divergence",
    "reconstruction_loss",
    "student_t_assignment",
    "target_distribution",
]
