"""The scikit-learn-style base class shared by every deepclust method.

``__init__`` only stores its arguments. ``fit`` validates the parameters (declared in
``_parameter_constraints``) and the data, then calls the subclass hook ``_fit``. Learned
state ends in ``_``; public parameters are never rewritten. ``save``/``load`` write and read
a model folder of safetensors + JSON (see :mod:`deepclust.serialization`) through the two
hooks ``_get_state`` and ``_set_state``.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin

from .data.lazy import map_row_chunks, materialize
from .errors import InputError
from .params import validate_params
from .validation import check_features, check_labels, check_n_clusters


def warn_if_collapsed(labels, n_clusters: int | None, method: str, min_fraction: float = 0.001) -> list[str]:
    """Warn (:class:`~deepclust.errors.CollapseWarning`) about a degenerate clustering.

    Flags fewer non-empty clusters than requested, a single cluster holding everything,
    and clusters smaller than ``min_fraction`` of the data. Returns the messages.
    """
    import warnings

    from .errors import CollapseWarning

    labels = np.asarray(labels)
    ids, counts = np.unique(labels[labels != -1], return_counts=True)
    n = len(labels)
    problems = []
    if len(ids) <= 1 and n > 1 and (n_clusters is None or n_clusters > 1):
        problems.append(f"{method} put every point in a single cluster (collapse)")
    elif n_clusters is not None and len(ids) < n_clusters:
        problems.append(f"{method} used {len(ids)} of the {n_clusters} requested clusters")
    small = ids[counts < max(1.0, min_fraction * n)]
    if len(small) and n >= 1000:
        problems.append(f"{method} has {len(small)} cluster(s) with fewer than {min_fraction:.1%} of the points")
    for msg in problems:
        warnings.warn(msg + ".", CollapseWarning, stacklevel=3)
    return problems


class BaseClusterer(ClusterMixin, BaseEstimator):
    """Base class of all deepclust clusterers.

    Subclasses implement ``_fit(X)`` (setting ``labels_``) and, when they can assign new
    data, ``_predict(X)`` with ``can_predict = True``. Subclasses with soft assignments
    implement ``_predict_proba``. Saving needs ``_get_state`` and ``_set_state``.

    After ``fit``, a method with soft assignments also sets ``proba_`` (n_samples x
    n_clusters, on the training data); one with another per-point confidence (HDBSCAN's
    membership strength) sets ``confidence_``. :meth:`training_confidence` reads either.
    """

    method_name = "base"
    can_predict = False
    can_save = False
    #: whether ``_fit`` reads data kept on disk (:class:`~deepclust.data.lazy.LazyMatrix`)
    #: batch by batch; otherwise such data is converted to an in-memory array first
    streams_input = False
    _parameter_constraints: dict = {}

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None, *, monitor_labels=None, resume: bool = False):
        """Fit the clustering on ``X`` (n_samples x n_features). ``y`` is ignored.

        Labels are never used for fitting. Deep methods accept ``monitor_labels`` only to
        record ACC/NMI/ARI in ``history_`` while they train; no decision (stopping,
        restarts, checkpoints) ever reads them. With ``resume``, deep methods continue from
        the checkpoints in their ``checkpoint_dir`` (others ignore it).
        """
        validate_params(self)
        X = materialize(check_features(X), self.streams_input)
        if self.uses_n_clusters and self.n_clusters is not None:
            check_n_clusters(self.n_clusters, X.shape[0])
        if monitor_labels is not None:
            monitor_labels = check_labels(monitor_labels, X.shape[0], name="monitor_labels")
        self.n_features_in_ = X.shape[1]
        self._monitor_labels, self._resume = monitor_labels, resume
        try:
            self._fit(X)
        finally:
            del self._monitor_labels, self._resume
        warn_if_collapsed(self.labels_, self.n_clusters if self.uses_n_clusters else None, self.method_name)
        return self

    def fit_predict(self, X, y=None):
        """Fit on ``X`` and return the method's own assignments ``labels_``."""
        return self.fit(X).labels_

    def _fit(self, X):  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def uses_n_clusters(self) -> bool:
        """Whether the method takes a number of clusters (HDBSCAN finds its own)."""
        return "n_clusters" in self.get_params(deep=False)

    def accepts_param(self, name: str) -> bool:
        """Whether ``set_params(name=...)`` is valid for this estimator."""
        return name in self.get_params(deep=False)

    def resolved_params(self) -> dict:
        """Every setting that decides the result, as recorded in ``run.json``: the estimator's
        own parameters (a two-stage pipeline adds its stages' resolved parameters)."""
        return self.get_params(deep=False)

    def training_confidence(self) -> np.ndarray | None:
        """Confidence of each training point's assignment, or ``None`` if the method has none."""
        if hasattr(self, "proba_"):
            return np.asarray(self.proba_).max(axis=1)
        return getattr(self, "confidence_", None)

    # --------------------------------------------------------------- prediction
    def predict(self, X):
        """Assign new samples to the learned clusters.

        Data kept on disk (a memory map or :class:`~deepclust.data.lazy.LazyMatrix`) is
        streamed in chunks of rows, so memory stays bounded for files larger than RAM.
        """
        X = self._check_predict_input(X)
        return map_row_chunks(self._predict, X)

    def predict_proba(self, X):
        """Soft assignment of new samples to each cluster (rows sum to 1); streamed like :meth:`predict`."""
        if not hasattr(self, "_predict_proba"):
            raise InputError(f"Method {self.method_name!r} has no soft assignments (predict_proba).")
        X = self._check_predict_input(X)
        return map_row_chunks(self._predict_proba, X)

    def _check_predict_input(self, X):
        if not self.can_predict:
            raise InputError(
                f"Method {self.method_name!r} cannot assign new data to clusters; "
                "use fit_predict on all the data instead."
            )
        self._check_fitted()
        X = check_features(X)
        if X.shape[1] != self.n_features_in_:
            raise InputError(
                f"The data has {X.shape[1]} features but the model was fitted on "
                f"{self.n_features_in_}."
            )
        return X

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_features_in_"):
            raise InputError(f"This {self.method_name} model is not fitted yet; call fit first.")

    # -------------------------------------------------------------- persistence
    def save(self, path):
        """Save the fitted model to the folder ``path`` (safetensors + JSON, never pickle)."""
        from .serialization import write_model

        if not self.can_save:
            raise InputError(f"Method {self.method_name!r} cannot be saved to a model file.")
        self._check_fitted()
        state, arrays = self._get_state()
        state = {"n_features_in_": int(self.n_features_in_), **state}
        return write_model(path, self.method_name, self.get_params(deep=False), state, arrays)

    @staticmethod
    def load(path, device: str | None = None) -> BaseClusterer:
        """Load a model saved by :meth:`save`; the method is read from its config.

        ``device`` (``"auto"``, ``"cpu"`` or ``"cuda"``) says where a deep model's network goes;
        ``None`` keeps the saved setting: ``"auto"`` (the GPU when there is one) unless training
        named a device. A model trained with ``device="cuda"`` loads on a CPU-only machine with
        ``device="cpu"`` or ``"auto"``. Classic models ignore it.
        """
        from .registry import make_estimator
        from .serialization import read_model

        config, arrays = read_model(path)
        try:
            # JSON has no tuples; sequence parameters (layer sizes, shapes) are tuples
            params = {k: tuple(v) if isinstance(v, list) else v for k, v in config["params"].items()}
            if device is not None and "device" in params:
                params["device"] = device
            est = make_estimator(config["method"], **params)
            est.n_features_in_ = int(config["state"]["n_features_in_"])
            est._set_state(config["state"], arrays)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError(f"Model in {path} does not match its method's layout ({exc}).") from None
        return est

    def _get_state(self) -> tuple[dict, dict]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _set_state(self, state: dict, arrays: dict) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _require(self, arrays: dict, name: str, shape: tuple) -> np.ndarray:
        """Fetch ``arrays[name]`` and check its shape against what the config implies."""
        if name not in arrays:
            raise InputError(f"The model file has no tensor {name!r}.")
        arr = arrays[name]
        if tuple(arr.shape) != tuple(shape):
            raise InputError(
                f"Tensor {name!r} has shape {tuple(arr.shape)}, expected {tuple(shape)} "
                "for this model's configuration."
            )
        return arr
