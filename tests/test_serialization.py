"""Model files: safetensors + JSON only; tampered files are rejected with one sentence."""

import json
import pickle

import numpy as np
import pytest

from deepclust.base import BaseClusterer
from deepclust.errors import InputError, MissingPathError
from deepclust.registry import make_estimator

X = np.random.default_rng(0).normal(size=(200, 5)).astype(np.float32)


@pytest.fixture()
def model_dir(tmp_path):
    make_estimator("kmeans", n_clusters=3, random_state=0).fit(X).save(tmp_path / "m")
    return tmp_path / "m"


def _edit_config(model_dir, fn):
    cfg_path = model_dir / "config.json"
    cfg = json.loads(cfg_path.read_text())
    fn(cfg)
    cfg_path.write_text(json.dumps(cfg))


def test_layout_is_json_plus_safetensors(model_dir):
    assert sorted(p.name for p in model_dir.iterdir()) == ["config.json", "weights.safetensors"]
    cfg = json.loads((model_dir / "config.json").read_text())
    assert cfg["format"] == "deepclust-model" and cfg["method"] == "kmeans"
    assert cfg["tensors"]["cluster_centers_"]["shape"] == [3, 5]


def test_missing_folder(tmp_path):
    with pytest.raises(MissingPathError, match="does not exist"):
        BaseClusterer.load(tmp_path / "nope")


@pytest.mark.parametrize("edit, msg", [
    (lambda c: c.pop("method"), "missing the required key 'method'"),
    (lambda c: c.update(format="other"), "not a deepclust model"),
    (lambda c: c.update(format_version=99), "format version 99"),
    (lambda c: c.update(method="kmens"), "Unknown method 'kmens'"),
    (lambda c: c["tensors"]["cluster_centers_"].update(shape=[4, 5]), "expects \\[4, 5\\]"),
    (lambda c: c["params"].update(n_clusters=4), "expected \\(4, 5\\)"),
    (lambda c: c["params"].update(bogus=1), "does not match|Invalid parameter"),
])
def test_edited_json_is_rejected(model_dir, edit, msg):
    _edit_config(model_dir, edit)
    with pytest.raises(InputError, match=msg):
        BaseClusterer.load(model_dir)


def test_invalid_json(model_dir):
    (model_dir / "config.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        BaseClusterer.load(model_dir)


def test_pickle_renamed_to_safetensors_is_rejected(model_dir):
    (model_dir / "weights.safetensors").write_bytes(pickle.dumps({"cluster_centers_": np.zeros((3, 5))}))
    with pytest.raises(InputError, match="not a valid safetensors file"):
        BaseClusterer.load(model_dir)


def test_wrong_tensor_shape_in_weights(model_dir):
    from safetensors.numpy import save_file

    save_file({"cluster_centers_": np.zeros((3, 6), np.float32)}, str(model_dir / "weights.safetensors"))
    with pytest.raises(InputError, match="shape"):
        BaseClusterer.load(model_dir)


def test_extra_tensor_is_rejected(model_dir):
    from safetensors.numpy import save_file

    save_file({"cluster_centers_": np.zeros((3, 5), np.float32), "extra": np.zeros(2, np.float32)},
              str(model_dir / "weights.safetensors"))
    with pytest.raises(InputError, match="lists"):
        BaseClusterer.load(model_dir)


def test_no_code_path_can_unpickle():
    """A static guard: no module calls pickle, torch.load or np.load with allow_pickle=True."""
    import re
    from pathlib import Path

    import deepclust

    forbidden = re.compile(r"\bpickle\.loads?\(|\btorch\.load\(|allow_pickle\s*=\s*True|\bjoblib\.load\(|"
                           r"\bdill\b|\bcloudpickle\b")
    offenders = [f"{path.name}:{i}" for path in Path(deepclust.__file__).parent.rglob("*.py")
                 for i, line in enumerate(path.read_text().splitlines(), 1) if forbidden.search(line)]
    assert offenders == []
