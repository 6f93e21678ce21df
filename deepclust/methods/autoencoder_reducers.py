"""Trained encoders as the first stage of two-stage methods: ``ae+kmeans``, ``cae+kmeans``, ``ae+gmm`` ...

The autoencoder is pretrained exactly as the deep methods pretrain theirs (same network and
pretraining parameters), then its embedding is handed to a classic clusterer. ``ae+kmeans``
is the "AE + k-means" baseline of the DEC and IDEC papers; ``cae+kmeans`` is seed 004's
"CAE(10) + k-means".

After the ``ae`` encoder, k-means restarts 20 times (``n_init=20``), as DEC, IDEC and their
reference code start their clustering layer: with the same seed and autoencoder, ``ae+kmeans``
gives exactly DEC's and IDEC's starting partition, which is how DEC-keras reports its
AE + k-means row (the first evaluation of each DEC trial). On Fashion-MNIST embeddings the
best of 10 and the best of 20 restarts can be different partitions (seed 2 of the 300-epoch
autoencoders: ACC .583 with 10, .517 with 20, whose inertia is lower), so the restarts are
part of the baseline's definition. ``cae+kmeans`` keeps k-means' own default (seed 004 does
not state its restarts).
"""

from __future__ import annotations

from ..params import install_params, with_defaults
from ..registry import register_reducer
from ..training.device import as_tensor
from .deep import NETWORK_PARAMS, PRETRAIN_PARAMS, RUNTIME_PARAMS, AutoencoderMixin
from .reducers import BaseReducer

_TABLE = {**NETWORK_PARAMS, **PRETRAIN_PARAMS, **RUNTIME_PARAMS}


@register_reducer("ae", "a pretrained fully connected autoencoder's embedding (d-500-500-2000-10)")
class AutoencoderReducer(AutoencoderMixin, BaseReducer):
    """Embed data with a pretrained autoencoder (plain, denoising, sparse or stacked).

    ``history_`` holds the pretraining losses; ``transform`` embeds new data.
    """

    can_transform = True
    can_save = True
    streams_input = True
    clusterer_defaults = {"kmeans": {"n_init": 20}}  # DEC's start: see the module docstring

    def _fit_transform(self, X):
        X_t = as_tensor(X, self._device())
        self.history_ = {"pretrain": self._pretrain(X_t, self._seed(), X)}
        return self.embed(X_t).cpu().numpy()

    def _transform(self, X):
        return self.embed(as_tensor(X, self._device())).cpu().numpy()

    def get_state(self):
        """``(JSON state, arrays)`` of the trained network."""
        return self._network_state()

    def set_state(self, state, arrays, n_features):
        """Rebuild the trained network from :meth:`get_state`'s output."""
        self._load_network(state, arrays)


install_params(AutoencoderReducer, _TABLE)


@register_reducer("cae", "a pretrained convolutional autoencoder's embedding (DCEC's network)")
class ConvAutoencoderReducer(AutoencoderReducer):
    """Embed images with DCEC's pretrained convolutional autoencoder."""

    clusterer_defaults: dict[str, dict] = {}  # k-means' own restarts: seed 004 does not state its own


install_params(ConvAutoencoderReducer, with_defaults(_TABLE, network="conv", pretrain_optimizer="adam",
                                                     pretrain_lr=0.001))
