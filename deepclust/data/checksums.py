"""Official download locations and SHA-256 checksums of the named datasets' files.

``sha256`` is the digest of the file exactly as served. It is ``None`` where no
trustworthy published value was found; such files are never downloaded automatically
(the user is told where to place them instead). ``raw_sha256`` is the digest of the
decompressed content, where known: repackaged copies (for instance Debian's
``dataset-fashion-mnist``, which recompresses the files) differ in ``sha256`` but not in
``raw_sha256``. ``md5`` is the checksum published by the dataset authors or by
torchvision, kept for reference only (it is not used for verification).

Provenance of the values:

* mnist, fashion-mnist, cifar10, stl10 ``sha256`` and sizes: tensorflow/datasets
  ``tensorflow_datasets/url_checksums/{mnist,fashion_mnist,cifar10,stl10}.txt``, each
  also listed by several other independent projects. The MNIST files on the
  ossci-datasets mirror are the same bytes (same size and torchvision MD5) as the CVDF
  mirror that TFDS checksummed.
* mnist, fashion-mnist ``raw_sha256``: published by independent projects; the
  fashion-mnist values match the decompressed files of Debian's dataset-fashion-mnist.
* rcv1-v2.topics.qrels.gz: scikit-learn ``sklearn/datasets/_rcv1.py`` (its figshare copy
  of the JMLR file, listed as the second URL).
* usps and the RCV1 token files: no published SHA-256 found, so ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RemoteFile:
    """One downloadable file: its name, mirror URLs (tried in order) and checksums."""

    filename: str
    urls: tuple[str, ...]
    sha256: str | None
    size: int | None = None
    raw_sha256: str | None = None
    md5: str | None = None


_MNIST = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
_FASHION = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_LIBSVM = "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/"
_JMLR = "https://www.jmlr.org/papers/volume5/lewis04a/"


def _mirrors(bases, filename: str) -> tuple[str, ...]:
    bases = (bases,) if isinstance(bases, str) else bases
    return tuple(base + filename for base in bases)


def _idx(bases, name, size, sha256, raw_sha256, md5) -> RemoteFile:
    filename = f"{name}.gz"
    return RemoteFile(filename, _mirrors(bases, filename), sha256, size, raw_sha256, md5)


# dataset name -> file name -> RemoteFile
REMOTE_FILES: dict[str, dict[str, RemoteFile]] = {
    "mnist": {
        f.filename: f
        for f in (
            _idx(_MNIST, "train-images-idx3-ubyte", 9912422,
                 "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                 "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                 "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
            _idx(_MNIST, "train-labels-idx1-ubyte", 28881,
                 "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                 "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                 "d53e105ee54ea40749a09fcbcd1e9432"),
            _idx(_MNIST, "t10k-images-idx3-ubyte", 1648877,
                 "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                 "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                 "9fb629c4189551a2d022fa330f9573f3"),
            _idx(_MNIST, "t10k-labels-idx1-ubyte", 4542,
                 "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                 "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
                 "ec29112dd5afa0611ce80d1b7f02629c"),
        )
    },
    "fashion-mnist": {
        f.filename: f
        for f in (
            _idx(_FASHION, "train-images-idx3-ubyte", 26421880,
                 "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                 "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                 "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
            _idx(_FASHION, "train-labels-idx1-ubyte", 29515,
                 "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                 "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                 "25c81989df183df01b3e8a0aad5dffbe"),
            _idx(_FASHION, "t10k-images-idx3-ubyte", 4422102,
                 "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                 "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                 "bef4ecab320f06d8554ea6380940ec79"),
            _idx(_FASHION, "t10k-labels-idx1-ubyte", 5148,
                 "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                 "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
                 "bb300cfdad3c16e7a12a480ee83cd310"),
        )
    },
    "cifar10": {
        "cifar-10-binary.tar.gz": RemoteFile(
            "cifar-10-binary.tar.gz",
            ("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",),
            "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
            170052171,
            md5="c32a1d4ab5d03f1284b67883e8d87530",
        ),
    },
    "stl10": {
        "stl10_binary.tar.gz": RemoteFile(
            "stl10_binary.tar.gz",
            (
                "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz",
                "https://cs.stanford.edu/~acoates/stl10/stl10_binary.tar.gz",
            ),
            "f31fd99273a1acb8609c8db427cebb1de3f71de77758cdc0e22956e1289b9866",
            2640397119,
            md5="91f7769df0f17e558f3565bffb0c7dfb",
        ),
    },
    "usps": {
        "usps.bz2": RemoteFile(
            "usps.bz2", (_LIBSVM + "usps.bz2",), None, md5="ec16c51db3855ca6c91edd34d0e9b197"
        ),
        "usps.t.bz2": RemoteFile(
            "usps.t.bz2", (_LIBSVM + "usps.t.bz2",), None, md5="8ea070ee2aca1ac39742fdd1ef5ed118"
        ),
    },
    "reuters10k": {
        **{
            name: RemoteFile(name, (_JMLR + "a12-token-files/" + name,), None)
            for name in (
                "lyrl2004_tokens_test_pt0.dat.gz",
                "lyrl2004_tokens_test_pt1.dat.gz",
                "lyrl2004_tokens_test_pt2.dat.gz",
                "lyrl2004_tokens_test_pt3.dat.gz",
                "lyrl2004_tokens_train.dat.gz",
            )
        },
        "rcv1-v2.topics.qrels.gz": RemoteFile(
            "rcv1-v2.topics.qrels.gz",
            (
                _JMLR + "a08-topic-qrels/rcv1-v2.topics.qrels.gz",
                "https://ndownloader.figshare.com/files/5976048",
            ),
            "2a98e5e5d8b770bded93afc8930d88299474317fe14181aee1466cc754d0d1c1",
        ),
    },
}


def remote_file(dataset: str, filename: str) -> RemoteFile:
    """Return the :class:`RemoteFile` entry of ``filename`` for ``dataset``."""
    return REMOTE_FILES[dataset][filename]
