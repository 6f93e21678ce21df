"""Tables: ``.csv``/``.tsv`` text files (with a header row) and ``.parquet`` files.

Every column is a feature except the one named by ``labels="column"``. A non-numeric
column that is not the label column raises :class:`InputError` naming the column and
suggesting ``labels=``. Empty cells are missing values and raise as well; ``nan`` or
``inf`` values are caught by the feature check.
"""

from __future__ import annotations

import csv
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..validation import check_features
from .dataset import Dataset
from .labels import MISSING, encode_labels


def load_text_table(path: Path, labels: str | None = None) -> Dataset:
    """Load a ``.csv`` (comma) or ``.tsv`` (tab) file whose first row is a header."""
    with text_errors(path):
        return _load_text_table(path, labels)


@contextmanager
def text_errors(path: Path, what: str = "file"):
    """Turn undecodable bytes and malformed CSV into one-sentence :class:`InputError` s."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise InputError(
            f"The {what} {path.name} is not UTF-8 text (byte {exc.start} cannot be decoded); "
            "save it as UTF-8 CSV."
        ) from None
    except csv.Error as exc:
        raise InputError(f"The {what} {path.name} is not valid CSV ({exc}).") from None


def _load_text_table(path: Path, labels: str | None) -> Dataset:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with open(path, newline="", encoding="utf-8-sig") as fh:
        header = next(csv.reader(fh, delimiter=delimiter), None)
    if not header:
        raise InputError(
            f"{path.name} is empty; a header row and at least one data row are needed."
        )
    header = [h.strip() for h in header]
    label_col = _label_column(path, header, labels)
    feature_cols = [i for i in range(len(header)) if i != label_col]
    if not feature_cols:
        raise InputError(f"{path.name} has no feature columns besides the label column.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data" for header-only files
            X = np.loadtxt(
                path,
                delimiter=delimiter,
                skiprows=1,
                usecols=feature_cols if label_col is not None else None,
                dtype=np.float64,
                ndmin=2,
                quotechar='"',
                encoding="utf-8-sig",
            )
    except ValueError:
        _explain_bad_text_table(path, header, feature_cols, delimiter)
        raise  # _explain_bad_text_table always raises; this keeps type checkers calm
    y, class_names = None, None
    if label_col is not None:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            next(reader)
            values = [row[label_col] for _, row in data_rows(reader, path, len(header))]
        y, class_names = encode_labels(
            np.array(values, dtype=object), source=f"Label column {header[label_col]!r}"
        )
    X = check_features(X, name=path.name)
    return Dataset(
        X=X, y=y, shape=(X.shape[1],), class_names=class_names, source=str(path), name=path.stem
    )


def _label_column(path: Path, header: list[str], labels: str | None) -> int | None:
    if labels is None:
        return None
    if labels not in header:
        raise InputError(
            f"{path.name} has no column {labels!r}; its columns are {', '.join(header)}."
        )
    return header.index(labels)


def _explain_bad_text_table(path: Path, header, feature_cols, delimiter) -> None:
    """Find the first bad cell of a text table and raise a one-sentence error about it."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        next(reader)
        for line_no, row in data_rows(reader, path, len(header)):
            for col in feature_cols:
                cell = row[col].strip()
                if cell.lower() in MISSING and cell.lower() != "nan":
                    raise InputError(
                        f"Column {header[col]!r} of {path.name} has a missing value on line "
                        f"{line_no}; fill it in, remove the row, or pass prep='standard' (--prep standard)."
                    )
                try:
                    float(cell)
                except ValueError:
                    raise _non_numeric(path, header[col], cell) from None
    raise InputError(f"{path.name} could not be read as a numeric table.")


def data_rows(reader, path: Path, n_header: int):
    """``(line number, row)`` of each non-empty data row of a CSV reader past its header row;
    a row whose field count differs from the header's raises a one-sentence error."""
    for line_no, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != n_header:
            raise _ragged(path, line_no, len(row), n_header)
        yield line_no, row


def _ragged(path: Path, line_no: int, n_fields: int, n_header: int) -> InputError:
    return InputError(
        f"Line {line_no} of {path.name} has {n_fields} fields but the header has {n_header}."
    )


def _non_numeric(path: Path, column: str, example) -> InputError:
    return InputError(
        f"Column {column!r} of {path.name} is not numeric (it holds {example!r}); pass "
        f"labels={column!r} if it holds the labels, prep='standard' (--prep standard) to one-hot "
        "encode text columns, or remove it."
    )


def read_parquet_table(path: Path):
    """The pyarrow table of a ``.parquet`` file (one-sentence errors without pyarrow or for a bad file)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(
            "Reading .parquet files needs pyarrow; install it with "
            "pip install 'deepclust[parquet]'."
        ) from None
    try:
        return pq.read_table(path)
    except Exception as exc:  # pyarrow raises its own ArrowInvalid/OSError family
        raise InputError(f"{path.name} could not be read as a Parquet file ({exc}).") from None


def load_parquet(path: Path, labels: str | None = None) -> Dataset:
    """Load a ``.parquet`` file with pyarrow; same column rules as CSV files."""
    table = read_parquet_table(path)  # first: its one-sentence error when pyarrow is missing
    import pyarrow.types as pat

    header = list(table.column_names)
    label_col = _label_column(path, header, labels)
    columns = []
    for i, column in enumerate(table.columns):
        if i == label_col:
            continue
        kind = column.type
        if not (pat.is_integer(kind) or pat.is_floating(kind) or pat.is_boolean(kind)):
            example = next((v for v in column.to_pylist() if v is not None), None)
            raise _non_numeric(path, header[i], example)
        if column.null_count:
            raise InputError(
                f"Column {header[i]!r} of {path.name} has {column.null_count} missing value(s); "
                "fill them in or remove those rows."
            )
        columns.append(column.to_numpy(zero_copy_only=False).astype(np.float64, copy=False))
    if not columns:
        raise InputError(f"{path.name} has no feature columns besides the label column.")
    X = check_features(np.column_stack(columns), name=path.name)
    y, class_names = None, None
    if label_col is not None:
        values = np.array(table.column(label_col).to_pylist(), dtype=object)
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
            values = values.astype(np.int64)
        y, class_names = encode_labels(values, source=f"Label column {labels!r}")
    return Dataset(
        X=X, y=y, shape=(X.shape[1],), class_names=class_names, source=str(path), name=path.stem
    )
