"""Diagnostic: does our pretraining step compute what Keras' does? Both frameworks in lockstep.

Question it answers: DEC gains more from autoencoders pretrained in Keras
(``benchmarks/keras_pretrain.py``) than from ours of the same recipe (benchmarks/README.md,
"DEC on Keras-pretrained autoencoders: a third seed (2)"). Either our training step differs
from Keras' in its arithmetic (initialisation aside: a bug or a convention), or the two agree
and the autoencoders differ only through float rounding, which chaotic training amplifies.
This script tells the two apart: Keras trains DEC-keras' autoencoder (784-500-500-2000-10,
SGD lr 1 momentum 0.9, MSE, batch 256) from its own start on a fixed list of mini-batches
(a numpy permutation per epoch, the last batch of each pass partial), writing the weights at
a few steps; then deepclust's step (the same network class, ``make_optimizer("sgd")`` with its
subnormal sweep, ``reconstruction_loss``) trains from Keras' starting weights on the same
batches, and the two are compared step by step: the batch losses and, at each saved step, the
relative difference of every weight matrix. If the steps compute the same thing, the first
steps agree to float32 rounding (about 1e-6) and the gap grows only as rounding grows.

Runs in the two environments (Keras never enters deepclust's), then comparisons of saved runs:

    KERAS_BACKEND=tensorflow benchmarks/.venv-keras/bin/python benchmarks/lockstep.py keras \
        --seed 0 --steps 5000 --dir /tmp/lockstep
    .venv/bin/python benchmarks/lockstep.py torch --threads 2 --name torch2 --against keras --dir /tmp/lockstep
    .venv/bin/python benchmarks/lockstep.py torch --threads 1 --name torch1 --against torch2 --dir /tmp/lockstep
    .venv/bin/python benchmarks/lockstep.py compare --name torch1 --against keras --dir /tmp/lockstep

A torch run reads the Keras run's start and batches from ``--dir``, writes its own weights at
the same steps and its batch losses (``NAME.json``), and prints one JSON line per saved step
(also written to ``NAME-vs-AGAINST.jsonl``). The same torch step with a different thread count
(``--threads``) measures how far float rounding alone moves the weights, for scale.
No labels are read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
BATCH = 256
SAVED = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)


def batches(n: int, steps: int, seed: int) -> list[np.ndarray]:
    """The mini-batches both frameworks see: a numpy permutation per epoch, last batch partial."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < steps:
        order = rng.permutation(n)
        out += [order[i:i + BATCH] for i in range(0, n, BATCH)]
    return out[:steps]


def saved_steps(steps: int) -> list[int]:
    """The steps whose weights are written (step 0 = the start)."""
    return [s for s in SAVED if s <= steps] + ([steps] if steps not in SAVED else [])


def run_keras(args) -> None:
    """Train in Keras on the fixed batches; write the weights at the saved steps and the losses."""
    import keras
    from safetensors.numpy import save_file

    sys.path.insert(0, str(HERE))
    from keras_pretrain import DATA, build, read_images, torch_names

    keras.utils.set_random_seed(args.seed)
    X = read_images(DATA)
    model, layers = build(keras)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0, momentum=0.9), loss="mse")
    args.dir.mkdir(parents=True, exist_ok=True)
    keep = set(saved_steps(args.steps))
    losses = []
    start = time.perf_counter()
    for step, idx in enumerate(batches(len(X), args.steps, args.seed)):
        if step in keep:
            save_file(torch_names(layers), str(args.dir / f"keras-{step}.safetensors"))
        xb = X[idx]
        losses.append(float(model.train_on_batch(xb, xb)))
    save_file(torch_names(layers), str(args.dir / f"keras-{args.steps}.safetensors"))
    meta = {"seed": args.seed, "steps": args.steps, "saved": sorted(keep), "losses": losses,
            "seconds": round(time.perf_counter() - start, 1), "keras": keras.__version__,
            "backend": keras.backend.backend()}
    (args.dir / "keras.json").write_text(json.dumps(meta) + "\n")
    print(json.dumps({k: v for k, v in meta.items() if k != "losses"}))


def relative_gaps(ours: dict, theirs: dict) -> dict:
    """||ours - theirs|| / ||theirs|| for each parameter, and the largest of them."""
    import torch

    gaps = {name: float(torch.linalg.norm(ours[name] - t) / max(float(torch.linalg.norm(t)), 1e-30))
            for name, t in theirs.items()}
    return {"max": max(gaps.values()), "per_parameter": gaps}


def compare_runs(folder: Path, name: str, against: str) -> list[dict]:
    """Set run ``name`` beside run ``against`` (both in ``folder``) at every saved step: the
    relative weight gaps, the mean batch loss of the 100 steps before, and the largest relative
    gap of any batch loss so far. Written to ``{name}-vs-{against}.jsonl`` and returned."""
    from safetensors.torch import load_file

    ours_loss = json.loads((folder / f"{name}.json").read_text())["losses"]
    theirs_loss = json.loads((folder / f"{against}.json").read_text())["losses"]
    records = []
    for step in json.loads((folder / "keras.json").read_text())["saved"]:
        gaps = relative_gaps(load_file(str(folder / f"{name}-{step}.safetensors")),
                             load_file(str(folder / f"{against}-{step}.safetensors")))
        window = slice(max(0, step - 100), step)
        records.append({
            "step": step, "weights_rel_gap_max": gaps["max"],
            "embedding_weight_rel_gap": gaps["per_parameter"]["encoder_layers.3.weight"],
            "loss_mean_last100": float(np.mean(ours_loss[window])) if step else None,
            "reference_loss_mean_last100": float(np.mean(theirs_loss[window])) if step else None,
            "loss_rel_gap_max_so_far": max(
                (abs(a - b) / b for a, b in zip(ours_loss[:step], theirs_loss[:step], strict=True)), default=0.0)})
    with open(folder / f"{name}-vs-{against}.jsonl", "w") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in records)
    return records


def run_torch(args) -> None:
    """Train deepclust's step from Keras' start on Keras' batches, save it as run ``--name``,
    and compare it with run ``--against``."""
    sys.path.insert(0, str(HERE.parent))
    import torch
    from safetensors.torch import load_file, save_file

    from deepclust.nn.autoencoders import MLPAutoencoder
    from deepclust.nn.losses import reconstruction_loss
    from deepclust.training.optim import make_optimizer

    sys.path.insert(0, str(HERE))
    from keras_pretrain import DATA, read_images

    if args.threads:
        torch.set_num_threads(args.threads)
    meta = json.loads((args.dir / "keras.json").read_text())
    X = torch.from_numpy(read_images(DATA))
    ae = MLPAutoencoder(784)
    ae.load_state_dict(load_file(str(args.dir / "keras-0.safetensors")))
    opt = make_optimizer("sgd", ae.parameters(), 1.0, 0.9)
    keep = set(meta["saved"])
    losses = []

    def save(step: int) -> None:
        state = {k: v.contiguous() for k, v in ae.state_dict().items()}
        save_file(state, str(args.dir / f"{args.name}-{step}.safetensors"))

    start = time.perf_counter()
    for step, idx in enumerate(batches(len(X), meta["steps"], meta["seed"])):
        if step in keep:
            save(step)
        xb = X[torch.from_numpy(idx)]
        loss = reconstruction_loss(ae.decode(ae.encode(xb)), xb, "mse")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    save(meta["steps"])
    (args.dir / f"{args.name}.json").write_text(json.dumps(
        {"threads": torch.get_num_threads(), "torch": torch.__version__, "losses": losses,
         "seconds": round(time.perf_counter() - start, 1)}) + "\n")
    run_compare(args)


def run_compare(args) -> None:
    """Print the comparison of run ``--name`` with run ``--against``, one JSON line per saved step."""
    for record in compare_runs(args.dir, args.name, args.against):
        print(json.dumps(record))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("framework", choices=("keras", "torch", "compare"),
                        help="train in Keras, train with deepclust's step, or compare two saved runs")
    parser.add_argument("--seed", type=int, default=0, help="Keras' start and the batch order (keras run)")
    parser.add_argument("--steps", type=int, default=2000, help="steps to train (keras run)")
    parser.add_argument("--dir", type=Path, default=HERE / "lockstep",
                        help="where the runs' weights and losses are written and read")
    parser.add_argument("--name", default="torch",
                        help="name of this run's files (torch run; the first run for compare)")
    parser.add_argument("--against", default="keras", help="the run to compare with (torch, compare)")
    parser.add_argument("--threads", type=int, default=0, help="torch's threads (torch run; 0: its default)")
    args = parser.parse_args()
    {"keras": run_keras, "torch": run_torch, "compare": run_compare}[args.framework](args)


if __name__ == "__main__":
    main()
