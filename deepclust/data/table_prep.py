"""Preparation of mixed tables for clustering (``prep="standard"``): numbers on one scale, text
categories one-hot, missing values filled.

A table as it comes (people, products, sensors) mixes numeric columns on very different scales,
text categories and empty cells; distance-based clustering needs one numeric scale. With
``prep="standard"`` (``deepclust run ... --prep standard``) each feature column becomes:

* **numeric** (every non-missing cell reads as a number): missing cells take the column's median,
  then the column is standardised to mean 0 and standard deviation 1 (a constant column gives 0);
* **categorical** (any other column): one 0/1 column per value seen when fitting, missing cells
  counting as their own value ``"(missing)"``; a value first met later (``predict`` on new rows)
  sets none of them. A column with more than :data:`MAX_CATEGORIES` values is refused (an
  identifier or free text would add a column per row): remove it or turn it into numbers.

The fitted preparation (:class:`TablePrep`) is JSON (medians, means, deviations, categories),
saved with a run's model as ``table_prep.json`` so that ``deepclust predict`` prepares new rows
exactly as the training rows were. Missing cells are the empty string and ``na``, ``nan``,
``none``, ``null`` in any case (CSV) or nulls (Parquet).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from ..errors import InputError
from .labels import MISSING

PREPS = ("none", "standard")
MAX_CATEGORIES = 50
MISSING_VALUE = "(missing)"


def read_table_columns(path: Path) -> tuple[list[str], list[list]]:
    """``(header, columns)`` of a ``.csv``/``.tsv``/``.parquet`` table, every cell as read (text
    for CSV) and missing cells as ``None``."""
    if path.suffix.lower() == ".parquet":
        from .tables import read_parquet_table

        table = read_parquet_table(path)
        return list(table.column_names), [column.to_pylist() for column in table.columns]
    from .tables import data_rows, text_errors

    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with text_errors(path), open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        header = [h.strip() for h in next(reader, [])]
        if not header:
            raise InputError(f"{path.name} is empty; a header row and at least one data row are needed.")
        rows = [[None if c.strip().lower() in MISSING else c.strip() for c in row]
                for _, row in data_rows(reader, path, len(header))]
    if not rows:
        raise InputError(f"{path.name} has a header but no data rows.")
    return header, [list(col) for col in zip(*rows, strict=True)]


def _as_numbers(values: list) -> np.ndarray | None:
    """The column as float64 (NaN where missing), or ``None`` when some cell is not a finite number."""
    missing = np.array([v is None for v in values], dtype=bool)
    try:
        out = np.array([np.nan if v is None else v for v in values], dtype=object).astype(np.float64)
    except (TypeError, ValueError):
        return None
    return None if not np.isfinite(out[~missing]).all() else out


class TablePrep:
    """A fitted preparation of a table's feature columns (see the module docstring).

    ``columns`` holds one entry per feature column, in table order: ``{"name", "kind":
    "numeric", "median", "mean", "std"}`` or ``{"name", "kind": "categorical", "categories"}``.
    """

    def __init__(self, columns: list[dict]):
        self.columns = columns

    @classmethod
    def fit(cls, names: list[str], columns: list[list], source: str = "the table") -> TablePrep:
        """Learn medians, means, deviations and categories from the feature ``columns``."""
        fitted = []
        for name, values in zip(names, columns, strict=True):
            numbers = _as_numbers(values)
            if numbers is not None:
                if np.isnan(numbers).all():
                    raise InputError(f"Column {name!r} of {source} has no values; remove it.")
                median = float(np.nanmedian(numbers))
                filled = np.where(np.isnan(numbers), median, numbers)
                std = float(filled.std())
                fitted.append({"name": name, "kind": "numeric", "median": median, "mean": float(filled.mean()),
                               "std": std if std > 0 else 1.0})
                continue
            categories = sorted({MISSING_VALUE if v is None else str(v) for v in values})
            if len(categories) > MAX_CATEGORIES:
                raise InputError(
                    f"Column {name!r} of {source} holds {len(categories)} different text values; one-hot "
                    f"encoding takes at most {MAX_CATEGORIES} (an identifier or free text?): remove the column "
                    "or turn it into numbers."
                )
            fitted.append({"name": name, "kind": "categorical", "categories": categories})
        return cls(fitted)

    @property
    def feature_names(self) -> list[str]:
        """Names of the prepared features: numeric columns by name, one-hot ones as ``name=value``."""
        out = []
        for col in self.columns:
            out += [col["name"]] if col["kind"] == "numeric" else [f"{col['name']}={c}" for c in col["categories"]]
        return out

    def transform(self, names: list[str], columns: list[list], source: str = "the table") -> np.ndarray:
        """The prepared float32 feature matrix of ``columns`` (named ``names``), which must hold
        the fitted columns (in any order; others are refused)."""
        expected = [c["name"] for c in self.columns]
        if sorted(names) != sorted(expected):
            raise InputError(f"{source} has the feature columns {', '.join(names)}; the model was fitted on "
                             f"{', '.join(expected)}.")
        by_name = dict(zip(names, columns, strict=True))
        blocks = []
        for col in self.columns:
            values = by_name[col["name"]]
            if col["kind"] == "numeric":
                numbers = _as_numbers(values)
                if numbers is None:
                    example = next(v for v in values if v is not None and _as_numbers([v]) is None)
                    raise InputError(f"Column {col['name']!r} of {source} was numeric when fitted but holds "
                                     f"{example!r}.")
                numbers = np.where(np.isnan(numbers), col["median"], numbers)
                blocks.append(((numbers - col["mean"]) / col["std"])[:, None])
            else:
                index = {c: j for j, c in enumerate(col["categories"])}
                onehot = np.zeros((len(values), len(index)))
                for i, v in enumerate(values):
                    j = index.get(MISSING_VALUE if v is None else str(v))
                    if j is not None:
                        onehot[i, j] = 1.0
                blocks.append(onehot)
        return np.hstack(blocks).astype(np.float32)

    def state(self) -> dict:
        """JSON-ready description (:meth:`from_state` reads it back)."""
        return {"prep": "standard", "columns": self.columns}

    @classmethod
    def from_state(cls, state: dict) -> TablePrep:
        """Rebuild from :meth:`state`'s output."""
        if state.get("prep") != "standard" or not isinstance(state.get("columns"), list):
            raise InputError("The saved table preparation is not a 'standard' one this version can read.")
        return cls(state["columns"])

    def save(self, path) -> None:
        """Write :meth:`state` as JSON to ``path``."""
        from ..fileio import atomic_write_json

        atomic_write_json(Path(path), self.state())

    @classmethod
    def load(cls, path) -> TablePrep:
        """Read a preparation written by :meth:`save`."""
        try:
            return cls.from_state(json.loads(Path(path).read_text(encoding="utf-8")))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise InputError(f"{path} is not a table preparation (invalid JSON).") from None


def load_prepared_table(path: Path, labels: str | None, prep) -> tuple:
    """``(X, y, class_names, fitted)``: the table at ``path`` prepared by ``prep`` (``"standard"``
    to fit a new :class:`TablePrep`, or a fitted one to apply), with its label column apart."""
    from .labels import encode_labels
    from .tables import _label_column

    header, columns = read_table_columns(path)
    label_col = _label_column(path, header, labels)
    names = [h for i, h in enumerate(header) if i != label_col]
    features = [c for i, c in enumerate(columns) if i != label_col]
    if not features:
        raise InputError(f"{path.name} has no feature columns besides the label column.")
    fitted = TablePrep.fit(names, features, path.name) if isinstance(prep, str) else prep
    X = fitted.transform(names, features, path.name)
    y = class_names = None
    if label_col is not None:
        y, class_names = encode_labels(np.array(columns[label_col], dtype=object),
                                       source=f"Label column {header[label_col]!r}")
    return X, y, class_names, fitted


__all__ = ["MAX_CATEGORIES", "PREPS", "TablePrep", "load_prepared_table", "read_table_columns"]
