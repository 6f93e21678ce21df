"""REUTERS-10K, built from RCV1-v2 the way the DEC paper did (Xie, Girshick & Farhadi 2016).

Construction (same steps as DEC's ``make_reuters_data``):

1. Read the topic assignments (``rcv1-v2.topics.qrels``) and keep the documents whose
   topics include **exactly one** of the four root categories CCAT, GCAT, MCAT, ECAT;
   that category is the label (0..3 in that order). Note that this filter uses the
   labels: it is a property of how the benchmark was built, not something a clustering
   method sees or could do on unlabeled data.
2. Read the token files in the order test_pt0..3, train, keeping those documents in file
   order (about 685,000 of the 804,414).
3. Count the ``n_words`` (2,000) most frequent words over all kept documents
   (scikit-learn ``CountVectorizer``), and weight them by tf-idf (``TfidfTransformer``
   with ``sublinear_tf=True`` and l2-normalised rows), then multiply by
   ``sqrt(n_words)`` as the reference does.
4. Take ``n_docs`` (10,000) documents. ``subset="random"`` (default) follows the original
   DEC code: a permutation of all kept documents drawn with ``numpy.random.seed(seed)``
   (``seed=1234``) and its first ``n_docs`` rows. ``subset="first"`` follows the later
   DEC-keras ``reutersidf10k.npy``: the first ``n_docs`` documents in file order,
   then shuffled with the same seed.

Only ``split="all"`` exists. The vocabulary and idf weights come from all kept
documents, so the result depends on the full files, not only on the selected rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import InputError
from ..compressed import decompression_errors, open_text
from ..dataset import Dataset
from .base import NamedSource, first_existing

TOKEN_FILES = [
    "lyrl2004_tokens_test_pt0.dat.gz",
    "lyrl2004_tokens_test_pt1.dat.gz",
    "lyrl2004_tokens_test_pt2.dat.gz",
    "lyrl2004_tokens_test_pt3.dat.gz",
    "lyrl2004_tokens_train.dat.gz",
]
QRELS = "rcv1-v2.topics.qrels.gz"
ROOT_TOPICS = ("CCAT", "GCAT", "MCAT", "ECAT")


def read_single_root_topic(path: Path) -> dict[int, int]:
    """Map document id -> root topic index, for documents with exactly one root topic."""
    roots: dict[int, set[int]] = {}
    index = {t: i for i, t in enumerate(ROOT_TOPICS)}
    with decompression_errors(path), open_text(path) as fh:
        for line_no, line in enumerate(fh, start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) < 2 or not parts[1].isdigit():
                raise InputError(
                    f"Line {line_no} of {path.name} is not 'TOPIC DOCID 1' topic data."
                )
            if parts[0] in index:
                roots.setdefault(int(parts[1]), set()).add(index[parts[0]])
    return {doc: next(iter(t)) for doc, t in roots.items() if len(t) == 1}


def iter_documents(path: Path):
    """Yield ``(doc_id, text)`` from an RCV1 token file (``.I id``, ``.W``, token lines)."""
    doc_id, lines = None, []
    with decompression_errors(path), open_text(path) as fh:
        for line_no, line in enumerate(fh, start=1):
            if line.startswith(".I"):
                if doc_id is not None:
                    yield doc_id, " ".join(lines)
                fields = line.split()
                if len(fields) != 2 or not fields[1].isdigit():
                    raise InputError(
                        f"Line {line_no} of {path.name} should be '.I <document id>'."
                    )
                doc_id, lines = int(fields[1]), []
            elif line.startswith(".W"):
                continue
            elif doc_id is None:
                if line.strip():
                    raise InputError(
                        f"{path.name} is not an RCV1 token file: line {line_no} comes before "
                        "the first '.I' line."
                    )
            else:
                lines.append(line.strip())
    if doc_id is not None:
        yield doc_id, " ".join(lines)


def build_reuters(
    token_paths: list[Path],
    qrels_path: Path,
    *,
    n_docs: int = 10000,
    n_words: int = 2000,
    seed: int = 1234,
    subset: str = "random",
) -> tuple[np.ndarray, np.ndarray]:
    """Build the REUTERS-10K features and labels (see the module notes)."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

    if subset not in ("random", "first"):
        raise InputError(f"subset must be 'random' or 'first', got {subset!r}.")
    for value, label in ((n_docs, "n_docs"), (n_words, "n_words")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise InputError(f"{label} must be a positive integer, got {value!r}.")
    topic_of = read_single_root_topic(qrels_path)
    texts, labels = [], []
    for path in token_paths:
        for doc_id, text in iter_documents(path):
            topic = topic_of.get(doc_id)
            if topic is not None:
                texts.append(text)
                labels.append(topic)
    if len(texts) < n_docs:
        raise InputError(
            f"Only {len(texts)} documents have exactly one of the topics "
            f"{', '.join(ROOT_TOPICS)}, fewer than n_docs={n_docs}."
        )
    counts = CountVectorizer(dtype=np.float64, max_features=n_words).fit_transform(texts)
    tfidf = TfidfTransformer(norm="l2", sublinear_tf=True).fit_transform(counts).tocsr()
    y_all = np.asarray(labels, dtype=np.int64)
    rng = np.random.RandomState(seed)
    if subset == "random":
        rows = rng.permutation(len(texts))[:n_docs]
    else:
        rows = rng.permutation(n_docs)
    X = tfidf[rows].toarray() * np.sqrt(tfidf.shape[1])
    return X.astype(np.float32), y_all[rows]


class Reuters10kSource(NamedSource):
    """REUTERS-10K: 10,000 RCV1-v2 news stories, 2,000 tf-idf features, 4 topics."""

    name = "reuters10k"
    description = "10,000 RCV1-v2 news stories as 2,000 tf-idf features, 4 root topics (DEC)"
    splits = ("all",)
    options = {"n_docs": 10000, "n_words": 2000, "seed": 1234, "subset": "random"}

    def required_files(self, split: str) -> list[str]:
        """The five token files and the topics file."""
        return [*TOKEN_FILES, QRELS]

    def _files(self, location: Path) -> list[Path] | None:
        names = self.required_files("all")
        files = [first_existing(location, [f, f[: -len(".gz")]]) for f in names]
        return None if any(f is None for f in files) else files

    def find(self, location: Path, split: str) -> Path | None:
        """``location`` if it is a folder holding all six files (``.gz`` or plain)."""
        return location if location.is_dir() and self._files(location) else None

    def parse(self, found: Path, split: str, **options) -> Dataset:
        """Build the dataset; ``options`` are n_docs, n_words, seed and subset."""
        files = self._files(found)
        X, y = build_reuters(files[:-1], files[-1], **options)
        return Dataset(
            X=X, y=y, shape=(X.shape[1],), class_names=list(ROOT_TOPICS),
            source=str(found), name=self.name,
        )


REUTERS10K = Reuters10kSource()
