"""What experiment a recorded run (or a bench cell) is: its settings, as their difference from
today's defaults.

A cell is spelled by its ``--set`` overrides, but two spellings can be one experiment (an
override that repeats a default, a result-neutral ``pretrain_cache``), and one spelling can be
two experiments (the same overrides before and after a default changed). So a run's identity
is the list of comparable parameters (:func:`comparable`) whose recorded values differ from
the method's defaults today (:func:`settings_from_config`), and a cell's is the same list for
the parameters its overrides give today (:func:`cell_settings`). A run recorded under an
older default keeps its own identity (the old value shows in its settings); ``deepclust
bench`` treats its cell as not run and a results table shows it only in a row that asks for
those settings. A parameter the recorded config lacks (added since the run) counts as the
value it had before it existed (:data:`ADDED_LATER`) or, for the others, as its default today.
"""

from __future__ import annotations

import functools
import inspect
import json

# settings that change how a run is carried out but never its result: a cached pretraining
# gives bit-for-bit the network that pretraining would have produced (training/pretrain_cache.py)
RESULT_NEUTRAL_SETTINGS = ("pretrain_cache", "verbose", "checkpoint_every")


# set by `deepclust run` from the seed, the data and the cell's folder, not by the defaults
RUN_SETTINGS = ("random_state", "n_clusters", "input_shape", "checkpoint_dir", "device")

# method parameters added after runs were recorded whose default has changed since, with the
# value every run recorded before the parameter existed ran under: the deep methods started from
# PyTorch's weights until `weight_init` came (commit 8b94ca8); DCEC's default has been "glorot"
# since 2026-11-24 and N2D's since 2026-12-07, so their older runs are PyTorch-start runs
ADDED_LATER = {"weight_init": "torch"}


def comparable(params: dict) -> dict:
    """``params`` without the result-neutral and run-set entries, as JSON values (tuples become
    lists), nested parameter dicts (a pipeline's ``reducer_params``) filtered the same way."""
    skip = set(RESULT_NEUTRAL_SETTINGS) | set(RUN_SETTINGS)
    return {k: comparable(v) if isinstance(v, dict) else json.loads(json.dumps(v))
            for k, v in params.items() if k not in skip}


@functools.cache
def expected_config(method: str, overrides: tuple) -> dict | None:
    """The comparable parameters a cell of ``method`` with ``overrides`` gets today (None when the
    method or an override no longer exists)."""
    from .cli import parse_assignments
    from .errors import DeepclustError
    from .registry import make_estimator

    try:
        return comparable(make_estimator(method, **parse_assignments(overrides)).resolved_params())
    except (DeepclustError, TypeError, ValueError):  # an unknown method, parameter or value
        return None


def recorded_config(row: dict) -> dict | None:
    """A run's recorded parameters, comparable (``None`` for a row without a config)."""
    config = row.get("config")
    return None if config is None else comparable(_with_clusterer_resolved(config))


def _with_clusterer_resolved(config: dict) -> dict:
    """A pipeline's recorded config with ``clusterer_resolved`` filled in where the run predates it.

    Until 2026-11-24 a two-stage run built its clusterer from the clusterer class's own
    defaults plus ``clusterer_params``, ``n_clusters`` and ``random_state``; rebuilding that
    tells such a run from one under a reducer's later ``clusterer_defaults`` (20 k-means
    restarts after ``ae``), which the missing key would otherwise let pass as current.
    """
    if "clusterer" not in config or "clusterer_resolved" in config:
        return config
    from .errors import DeepclustError
    from .registry import clusterer_class

    try:
        cls = clusterer_class(config["clusterer"])
    except DeepclustError:
        return config
    wanted = {**(config.get("clusterer_params") or {}), "random_state": config.get("random_state")}
    if config.get("n_clusters") is not None:
        wanted["n_clusters"] = config["n_clusters"]
    accepted = inspect.signature(cls.__init__).parameters
    params = cls(**{k: v for k, v in wanted.items() if k in accepted}).get_params(deep=False)
    return {**config, "clusterer_resolved": params}


def _canonical(value):
    """``value`` with integral numbers as ints (so 1.0 and 1 are one setting), lists likewise."""
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _show(value) -> str:
    value = _canonical(value)
    return value if isinstance(value, str) else json.dumps(value)


def settings_from_config(config: dict, defaults: dict, added_later: dict = ADDED_LATER) -> tuple:
    """The ``name=value`` settings (sorted) in which the comparable ``config`` differs from
    ``defaults``.

    A parameter the config lacks was added after the run: it ran under the value in
    ``added_later`` (:data:`ADDED_LATER`), or else under the default of today, which is not
    compared. One the defaults lack no longer exists. A pipeline's stage is compared
    by its resolved parameters (``reducer_resolved``), read from the stage's own
    ``reducer_params`` for a run recorded before stages were resolved; the ``*_params`` entries
    are then covered. A stage's settings are named as ``--set`` names them (``n_components=30``).
    """
    out = []
    for name, default in defaults.items():
        if name.endswith("_params") and f"{name[:-len('_params')]}_resolved" in defaults:
            continue
        got = config.get(name)
        if name.endswith("_resolved") and got is None:
            got = config.get(f"{name[:-len('_resolved')]}_params") or {}
        elif name not in config:
            if name not in added_later:
                continue
            got = added_later[name]
        if isinstance(got, dict) and isinstance(default, dict):
            # a stage's recorded parameters are its own; ADDED_LATER names method parameters
            out += settings_from_config(got, default, {})
        elif _canonical(got) != _canonical(default):
            out.append(f"{name}={_show(got)}")
    return tuple(sorted(out))


def cell_settings(method: str, overrides) -> tuple:
    """The settings (:func:`settings_from_config`) a cell of ``method`` with ``overrides`` runs
    under today; the overrides' :func:`result_settings` when the method or an override is unknown."""
    expected = expected_config(method, tuple(overrides))
    defaults = expected_config(method, ())
    if expected is None or defaults is None:
        return result_settings(overrides)
    return settings_from_config(expected, defaults)


def row_settings(row: dict) -> tuple | None:
    """The settings a recorded run ran under (its recorded config against today's defaults);
    ``None`` when its method no longer exists."""
    config = recorded_config(row)
    if config is None:
        return cell_settings(row["method"], row.get("overrides", ()))
    defaults = expected_config(row["method"], ())
    return None if defaults is None else settings_from_config(config, defaults)


def ran_with_current_defaults(row: dict) -> bool:
    """Whether a recorded run is the run its cell (its ``--set`` overrides) would make today.

    A cell is spelled by its overrides only, so a method default changed since the run would
    otherwise pass the old run off as the new cell's; see the module docstring. Rows without a
    config (none so far) count as current."""
    settings = row_settings(row)
    return settings is not None and settings == cell_settings(row["method"], row.get("overrides", ()))


def result_settings(overrides) -> tuple:
    """The overrides that can change a run's result, as ``key=value`` sorted by key: runs that
    differ only in ``RESULT_NEUTRAL_SETTINGS`` (e.g. one with ``pretrain_cache=DIR``), in the
    order of their ``--set`` options or in spaces around ``=`` are the same experiment (a key
    given twice keeps its order, so the last value still wins)."""
    pairs = [tuple(part.strip() for part in o.split("=", 1)) for o in overrides]
    kept = [p for p in pairs if p[0] not in RESULT_NEUTRAL_SETTINGS]
    return tuple("=".join(p) for p in sorted(kept, key=lambda p: p[0]))


def identity(key: str, method: str, data: str, seed: int, overrides, settings: tuple) -> str:
    """The experiment ``key`` names (``method|data|seed|overrides`` plus its n_clusters/sample
    suffix), with the overrides replaced by ``settings``."""
    prefix = f"{method}|{data}|{seed}|"
    suffix = key[len(prefix) + len(",".join(overrides)):]
    return prefix + ",".join(settings) + suffix


def row_identity(row: dict) -> str | None:
    """The experiment a recorded row ran (see :attr:`deepclust.bench.Cell.identity`); ``None``
    when its method no longer exists."""
    settings = row_settings(row)
    if settings is None:
        return None
    overrides = row.get("overrides", ())
    return identity(row["key"], row["method"], row["data"], row["seed"], overrides, settings)


def current_rows(rows: list[dict]) -> dict[str, dict]:
    """The latest ok row of each experiment (:func:`row_identity`): a re-run replaces older
    lines, also one spelled with other overrides that give the same settings (so no seed is
    counted twice). Runs of methods that no longer exist are left out."""
    latest = {}
    for r in rows:
        if r.get("status") == "ok" and (ident := row_identity(r)) is not None:
            latest[ident] = r
    return latest
