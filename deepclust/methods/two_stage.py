"""Two-stage clustering: reduce the features, then cluster the reduced points.

Any registered reducer (``pca``, ``umap``, ``tsne``, and the trained encoders of the deep
methods) can precede any classic clusterer; the method name is ``REDUCER+CLUSTERER``.
"""

from __future__ import annotations

import inspect

from ..base import BaseClusterer
from ..data.lazy import map_row_chunks
from ..errors import InputError
from ..params import DICT, NONE, SEED, STR, positive_int
from ..registry import clusterer_class, reducer_class
from ..runtime import PhaseTimer
from ..training.loop import stop_at_once


def _accepts(cls, name: str) -> bool:
    return name in inspect.signature(cls.__init__).parameters


class TwoStage(BaseClusterer):
    """Reduce with ``reducer``, then cluster the embedding with ``clusterer``.

    Parameters
    ----------
    reducer, clusterer : str
        Registered names (see ``deepclust methods``).
    n_clusters : int or None
        Passed to the clusterer when it takes one (HDBSCAN does not).
    random_state : int or None
        Seeds both stages.
    reducer_params, clusterer_params : dict or None
        Further parameters of each stage. ``set_params`` also accepts a stage's parameter
        by its bare name (``n_neighbors=10``) or prefixed (``reducer.n_neighbors=10``).
        A reducer may set defaults of its own for the clusterer after it (its
        ``clusterer_defaults``: 20 k-means restarts after ``ae``, as DEC starts);
        ``clusterer_params`` override them.

    Attributes
    ----------
    embedding_ : ndarray (n_samples, n_components)
        The reduced training data the clusterer saw.
    reducer_, clusterer_ : fitted stage estimators.
    labels_ : the clusterer's assignments.
    """

    _parameter_constraints = {
        "reducer": [STR],
        "clusterer": [STR],
        "n_clusters": [positive_int(), NONE],
        "random_state": [SEED],
        "reducer_params": [DICT, NONE],
        "clusterer_params": [DICT, NONE],
    }

    def __init__(self, reducer="pca", clusterer="kmeans", n_clusters=10, random_state=None,
                 reducer_params=None, clusterer_params=None):
        self.reducer = reducer
        self.clusterer = clusterer
        self.n_clusters = n_clusters
        self.random_state = random_state
        self.reducer_params = reducer_params
        self.clusterer_params = clusterer_params

    streams_input = True  # the reducer converts data kept on disk unless it streams it itself

    @property
    def method_name(self) -> str:  # type: ignore[override]
        """The registered name, ``reducer+clusterer``."""
        return f"{self.reducer}+{self.clusterer}"

    @property
    def can_predict(self) -> bool:  # type: ignore[override]
        """True when the reducer can transform new data and the clusterer can predict."""
        return reducer_class(self.reducer).can_transform and clusterer_class(self.clusterer).can_predict

    @property
    def can_save(self) -> bool:  # type: ignore[override]
        """True when both stages can be saved (safetensors + JSON)."""
        return reducer_class(self.reducer).can_save and clusterer_class(self.clusterer).can_save

    @property
    def uses_n_clusters(self) -> bool:  # type: ignore[override]
        """True when the clusterer takes ``n_clusters`` (HDBSCAN does not)."""
        return _accepts(clusterer_class(self.clusterer), "n_clusters")

    def accepts_param(self, name: str) -> bool:
        """Own parameters and either stage's, by bare or prefixed name."""
        return name in self._valid_keys() or any(self._stage_accepts(s, name) for s in ("reducer", "clusterer"))

    def set_params(self, **params):
        """Set parameters; stage parameters go into ``reducer_params``/``clusterer_params``."""
        own = self.get_params(deep=False)
        # stage dicts passed whole replace the current ones; bare stage parameters are added to them
        stage = {name: dict(params.get(f"{name}_params", getattr(self, f"{name}_params")) or {})
                 for name in ("reducer", "clusterer")}
        direct = {}
        for key, value in params.items():
            if key in own:
                direct[key] = value
                continue
            where, _, bare = key.rpartition(".")
            targets = [where] if where else [s for s in ("reducer", "clusterer") if self._stage_accepts(s, bare)]
            if where and where not in stage or not targets or not self._stage_accepts(targets[0], bare):
                raise InputError(
                    f"Unknown parameter {key!r} for {self.method_name}; valid: "
                    f"{', '.join(sorted(self._valid_keys()))}."
                )
            stage[targets[0]][bare] = value
        super().set_params(**direct)
        super().set_params(reducer_params=stage["reducer"] or None,
                           clusterer_params=stage["clusterer"] or None)
        return self

    def resolved_params(self) -> dict:
        """The pipeline's parameters plus ``reducer_resolved`` / ``clusterer_resolved``: each
        stage's parameters with its defaults filled in (``reducer_params`` holds only overrides),
        so a run records the reducer defaults it ran under."""
        params = super().resolved_params()
        for stage in ("reducer", "clusterer"):
            params[f"{stage}_resolved"] = self._build(stage).get_params(deep=False)
        return params

    def _stage_class(self, stage: str):
        return reducer_class(self.reducer) if stage == "reducer" else clusterer_class(self.clusterer)

    def _stage_accepts(self, stage: str, name: str) -> bool:
        return name not in ("n_clusters", "random_state") and _accepts(self._stage_class(stage), name)

    def _valid_keys(self):
        keys = set(self.get_params(deep=False))
        for stage in ("reducer", "clusterer"):
            cls = self._stage_class(stage)
            keys |= {f"{stage}.{p}" for p in inspect.signature(cls.__init__).parameters
                     if p not in ("self", "n_clusters", "random_state")}
        return keys

    def _build(self, stage: str):
        cls = self._stage_class(stage)
        params = dict((self.reducer_params if stage == "reducer" else self.clusterer_params) or {})
        if stage == "clusterer":  # the reducer's defaults for this clusterer; the user's settings win
            params = {**self._stage_class("reducer").clusterer_defaults.get(self.clusterer, {}), **params}
        if _accepts(cls, "random_state"):
            params["random_state"] = self.random_state
        if stage == "clusterer" and _accepts(cls, "n_clusters") and self.n_clusters is not None:
            params["n_clusters"] = self.n_clusters
        try:
            return cls(**params)
        except TypeError as exc:
            raise InputError(f"Bad {stage} parameters for {self.method_name}: {exc}.") from None

    def _fit(self, X):
        self.reducer_ = self._build("reducer")
        self.clusterer_ = self._build("clusterer")
        timer = PhaseTimer()
        self.phase_seconds_ = timer.seconds
        with timer.phase("reduce"):
            self.embedding_ = self.reducer_.fit_transform(X, resume=self._resume)
        with timer.phase("cluster"), stop_at_once(self.clusterer):
            self.clusterer_.fit(self.embedding_)
        for attr in ("history_", "pretrain_cached_", "pretrain_cache_seconds_", "pretrain_cache_resumed_",
                     "pretrain_cache_cpu_"):
            if hasattr(self.reducer_, attr):
                setattr(self, attr, getattr(self.reducer_, attr))
        self.labels_ = self.clusterer_.labels_
        for attr in ("proba_", "confidence_"):
            if hasattr(self.clusterer_, attr):
                setattr(self, attr, getattr(self.clusterer_, attr))

    def transform(self, X):
        """The reduced coordinates of new data (when the reducer can map new data)."""
        self._check_fitted()
        return map_row_chunks(self.reducer_.transform, self._check_predict_input(X))

    def _predict(self, X):
        return self.clusterer_.predict(self.reducer_.transform(X))

    def _predict_proba(self, X):
        return self.clusterer_.predict_proba(self.reducer_.transform(X))

    def _get_state(self):
        r_state, r_arrays = self.reducer_.get_state()
        arrays = {f"reducer.{k}": v for k, v in r_arrays.items()}
        c_state, c_arrays = self.clusterer_._get_state()
        arrays.update({f"clusterer.{k}": v for k, v in c_arrays.items()})
        n_red = int(self.embedding_.shape[1]) if hasattr(self, "embedding_") else self.clusterer_.n_features_in_
        return {"reducer": r_state, "clusterer": c_state, "n_reduced": n_red}, arrays

    def _set_state(self, state, arrays):
        split = {"reducer": {}, "clusterer": {}}
        for key, arr in arrays.items():
            stage, _, name = key.partition(".")
            if stage not in split:
                raise InputError(f"Unexpected tensor {key!r} in a {self.method_name} model.")
            split[stage][name] = arr
        self.reducer_ = self._build("reducer")
        self.reducer_.set_state(state.get("reducer", {}), split["reducer"], self.n_features_in_)
        self.clusterer_ = self._build("clusterer")
        self.clusterer_.n_features_in_ = int(state["n_reduced"])
        self.clusterer_._set_state(state.get("clusterer", {}), split["clusterer"])


