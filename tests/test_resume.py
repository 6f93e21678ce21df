"""Checkpoints: a run killed part-way (SIGKILL) or stopped (SIGTERM) resumes to exactly the labels
of an uninterrupted run with the same seed (CPU)."""

import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from deepclust.training.checkpoint import CheckpointStore, flatten, unflatten

AE = ["--set", "hidden_dims=[64, 64, 128]", "--set", "pretrain_epochs=15", "--set", "pretrain_batch_size=64",
      "--set", "checkpoint_every=50", "--set", "verbose=false"]
SETTINGS = {"idec": [*AE, "--set", "maxiter=900", "--set", "update_interval=30", "--set", "tol=0"],
            "ae+kmeans": AE}


def _cmd(out, method="idec"):
    return [sys.executable, "-m", "deepclust", "run", method, "--data", "digits", "--seed", "3", "--out", str(out),
            "--no-report", *SETTINGS[method]]


def _labels(out):
    return (out / "labels.csv").read_text()


def _start_and_wait(cmd, marker, timeout=300):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + timeout
    while time.time() < deadline and not marker.exists():
        if proc.poll() is not None:
            pytest.fail(f"run ended before {marker.name} appeared: {proc.stderr.read()[-500:]}")
        time.sleep(0.05)
    return proc


def _reference(out, method="idec"):
    subprocess.run(_cmd(out, method), check=True, capture_output=True)
    assert not (out / "checkpoint").exists() and not (out / "request.json").exists()
    return _labels(out)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return _reference(tmp_path_factory.mktemp("ref") / "run")


def _kill_then_resume(out, method, stage) -> str:
    """Start a run, SIGKILL it once ``stage`` has a checkpoint, resume it; return the resumed labels."""
    proc = _start_and_wait(_cmd(out, method), out / "checkpoint" / stage / "state.json")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "labels.csv").exists()
    done = subprocess.run([sys.executable, "-m", "deepclust", "run", "--resume", str(out)], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr[-800:]
    assert f"Resuming {stage} from its checkpoint (at step" in done.stderr  # it did continue, not restart
    return _labels(out)


@pytest.mark.parametrize("stage", ["pretrain", "clustering"])
def test_sigkill_then_resume_gives_identical_labels(tmp_path, reference, stage):
    assert _kill_then_resume(tmp_path / "run", "idec", stage) == reference


def test_two_stage_autoencoder_resumes_its_pretraining(tmp_path):
    """ae+kmeans: the autoencoder reducer checkpoints too, and a killed run resumes to the same labels."""
    expected = _reference(tmp_path / "ref", "ae+kmeans")
    assert _kill_then_resume(tmp_path / "run", "ae+kmeans", "pretrain") == expected


def test_sigterm_saves_a_checkpoint_and_exits_130(tmp_path, reference):
    out = tmp_path / "run"
    proc = _start_and_wait(_cmd(out), out / "checkpoint" / "clustering" / "state.json")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "checkpoint was saved" in err and f"--resume {out}" in err and "Traceback" not in err
    subprocess.run([sys.executable, "-m", "deepclust", "run", "--resume", str(out)], check=True, capture_output=True)
    assert _labels(out) == reference


def test_resume_without_a_run_is_one_sentence(tmp_path, capsys):
    from deepclust.cli import main

    assert main(["run", "--resume", str(tmp_path)]) == 2
    assert "no interrupted run to resume" in capsys.readouterr().err


def test_flatten_round_trip_and_store(tmp_path):
    state = {"a": torch.arange(3.0), "b": [1, {"c": np.ones(2)}], "d": (1, 2), 4: "x", "e": None}
    tensors = {}
    back = unflatten(flatten(state, "s", tensors), tensors)
    assert torch.equal(back["a"], state["a"]) and np.array_equal(back["b"][1]["c"], np.ones(2))
    assert back["d"] == (1, 2) and back[4] == "x" and back["e"] is None
    store = CheckpointStore(tmp_path)
    store.save("stage", state)
    assert torch.equal(store.load("stage")["a"], state["a"])
    assert store.load("missing") is None
    (tmp_path / "stage" / "tensors.safetensors").write_bytes(b"not safetensors")
    from deepclust.errors import InputError

    with pytest.raises(InputError, match="unreadable"):
        store.load("stage")


N2D = {"hidden_dims": [64, 64, 128], "pretrain_epochs": 3, "pretrain_batch_size": 64, "verbose": False}


def _signal_during(monkeypatch, cls, name):
    """Make ``cls.name`` send this process SIGTERM and then wait, as a long stage would."""
    import os

    real = getattr(cls, name)
    calls = {"n": 0}

    def slow(self, *args, **kwargs):
        calls["n"] += 1
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(20)
        raise AssertionError("the signal did not end the fit at once")

    monkeypatch.setattr(cls, name, slow)
    return lambda: monkeypatch.setattr(cls, name, real), calls


def test_a_method_without_checkpoints_stops_at_the_first_signal(monkeypatch):
    """k-means has no step boundary to stop at: SIGTERM interrupts its fit at once (no waiting
    for it to finish), and no stop request is left behind for the next fit."""
    from deepclust.methods import classic
    from deepclust.run import run
    from deepclust.training import loop

    _signal_during(monkeypatch, classic.KMeans, "_fit")
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run("kmeans", "digits", n_clusters=10, report=False)
    assert time.monotonic() - started < 10
    assert not loop._INTERRUPT.is_set()
    assert signal.getsignal(signal.SIGTERM) is not None  # the previous handler is back


def test_a_stop_request_no_trainer_took_up_is_dropped_when_the_fit_ends():
    """With checkpoints the first signal only asks the trainer to stop; if the fit ends without
    another training step, the request must not stop the next fit of the process."""
    import os

    from deepclust.run import _stop_on_signals
    from deepclust.training import loop

    before = signal.getsignal(signal.SIGTERM)
    with _stop_on_signals(checkpoints=True):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        assert loop._INTERRUPT.is_set()
    assert not loop._INTERRUPT.is_set() and signal.getsignal(signal.SIGTERM) == before


def test_a_signal_during_umap_stops_n2d_at_once_and_the_resume_is_identical(tmp_path, monkeypatch):
    """N2D's UMAP runs between checkpointed stages: the first SIGTERM ends it at once (it does not
    run on through UMAP and the mixture), the message says what a resume does, and the resume
    (pretraining restored, UMAP and the mixture repeated) gives the labels of an uninterrupted run."""
    from deepclust.errors import TrainingInterrupted
    from deepclust.methods.reducers import UMAPReducer
    from deepclust.run import resume_run, run
    from deepclust.training import loop

    expected = run("n2d", "digits", seed=1, params=N2D, out=tmp_path / "ref", report=False).labels
    restore, calls = _signal_during(monkeypatch, UMAPReducer, "fit_transform")
    out = tmp_path / "run"
    started = time.monotonic()
    with pytest.raises(TrainingInterrupted) as info:
        run("n2d", "digits", seed=1, params=N2D, out=out, report=False)
    assert time.monotonic() - started < 15 and calls["n"] == 1
    assert str(info.value) == ("Fitting was interrupted during UMAP; a resume repeats it from the stages saved "
                               f"before it; continue with: deepclust run --resume {out}.")
    assert (out / "checkpoint" / "pretrain" / "state.json").is_file() and not (out / "labels.csv").exists()
    assert not loop._STAGE and not loop._INTERRUPT.is_set()
    restore()
    resumed = resume_run(out)
    assert np.array_equal(resumed.labels, expected)


def test_a_signal_during_the_k_means_start_stops_dec_at_once_without_checkpoints(monkeypatch):
    """Without an output folder nothing is kept, and the message says so instead of promising a checkpoint."""
    from deepclust.errors import TrainingInterrupted
    from deepclust.methods.deep import DeepClusterer
    from deepclust.run import run

    _signal_during(monkeypatch, DeepClusterer, "_initialise")
    started = time.monotonic()
    with pytest.raises(TrainingInterrupted, match=r"^Fitting was interrupted during the clusters' start "
                                                  r"\(no checkpoints were kept\)\.$"):
        run("dec", "digits", seed=0, params={**N2D, "maxiter": 50}, report=False)
    assert time.monotonic() - started < 15


def test_stop_at_once_raises_for_a_pending_request_and_inside_the_stage():
    """A request pending on entry ends the stage before it starts (and is used up); inside, a
    request raises at once, naming the innermost stage; outside, it waits for a trainer."""
    from deepclust.training import loop

    loop.request_interrupt()
    with pytest.raises(loop.StageInterrupted, match="during UMAP"):
        with loop.stop_at_once("UMAP"):
            raise AssertionError("the stage ran despite the pending request")
    assert not loop._INTERRUPT.is_set() and not loop._STAGE
    with pytest.raises(loop.StageInterrupted) as info:
        with loop.stop_at_once("outer"), loop.stop_at_once("inner"):
            loop.request_interrupt()
    assert info.value.stage == "inner" and not loop._STAGE and not loop._INTERRUPT.is_set()
    loop.request_interrupt()
    assert loop._INTERRUPT.is_set()
    loop.clear_interrupt()
