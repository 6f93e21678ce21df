"""Diagnostic: pretrain DEC-keras' autoencoder recipe in Keras, to hand to our DEC.

Question it answers: our DEC's clustering phase loses ACC against its own k-means start on
4 of 6 Fashion-MNIST seeds, where DEC-keras' ten published trials gain on 9 of 10 (and in
ARI on all 10). The clustering loops match line by line, so the remaining difference is the
autoencoder. This script trains that autoencoder the way DEC-keras' ``run_exp.py`` trains it
for Fashion-MNIST, in Keras (TensorFlow backend): 784-500-500-2000-10 with ReLU and linear
embedding/output layers, kernels drawn uniformly in +-sqrt(1/fan_in) (Keras'
``VarianceScaling(1/3, 'fan_in', 'uniform')``), zero biases, SGD lr 1 with momentum 0.9, mean
squared error, batch 256, 300 epochs, Keras' per-epoch shuffling. The weights are written as a
safetensors file in the parameter names of deepclust's MLPAutoencoder; ``benchmarks/dec_on_keras_ae.py`` runs our
AE + k-means and DEC on it.

Runs in a SEPARATE environment (Keras and TensorFlow are never dependencies of deepclust):

    python3 -m venv benchmarks/.venv-keras
    benchmarks/.venv-keras/bin/pip install tensorflow-cpu keras safetensors numpy
    KERAS_BACKEND=tensorflow benchmarks/.venv-keras/bin/python benchmarks/keras_pretrain.py \
        --seed 0 --out benchmarks/keras-ae/seed0.safetensors

The labels are never read.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import time
from importlib import metadata
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402

DATA = Path("/usr/share/datasets/fashion-mnist")
DIMS = (784, 500, 500, 2000, 10)
PROBE = 256  # Keras' embedding of the first images is stored too, to check the conversion


def read_images(folder: Path) -> np.ndarray:
    """All 70,000 images (train then test) as float32 rows in [0, 1], as DEC-keras loads them."""
    parts = []
    for split in ("train", "t10k"):
        raw = gzip.open(folder / f"{split}-images-idx3-ubyte.gz").read()
        parts.append(np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(-1, 784))
    return (np.concatenate(parts) / 255.0).astype(np.float32)


def build(keras):
    """DEC-keras' symmetric autoencoder: ReLU inside, linear embedding and output layers."""
    init = keras.initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_in", distribution="uniform")
    x = keras.Input(shape=(DIMS[0],))
    h = x
    layers = []
    sizes = [*DIMS[1:], *DIMS[-2::-1]]  # 500 500 2000 10 2000 500 500 784
    for i, units in enumerate(sizes):
        linear = i in (len(DIMS) - 2, len(sizes) - 1)  # the embedding and the output
        layer = keras.layers.Dense(units, activation=None if linear else "relu", kernel_initializer=init)
        layers.append(layer)
        h = layer(h)
    return keras.Model(x, h), layers


def torch_names(layers) -> dict:
    """Keras kernels (in, out) as the (out, in) weights of deepclust's MLPAutoencoder state dict.

    ``encoder_layers[i]`` maps size i to size i+1; ``decoder_layers[i]`` mirrors it, so the
    decoder runs ``decoder_layers[3]`` first and ``decoder_layers[0]`` last.
    """
    n_enc = len(DIMS) - 1
    arrays = {}
    for i, layer in enumerate(layers):
        kernel, bias = (np.asarray(w, dtype=np.float32) for w in layer.get_weights())
        name = f"encoder_layers.{i}" if i < n_enc else f"decoder_layers.{2 * n_enc - 1 - i}"
        arrays[f"{name}.weight"] = np.ascontiguousarray(kernel.T)
        arrays[f"{name}.bias"] = bias
    return arrays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=0,
                        help="TensorFlow's intra- and inter-op threads (0: its own choice); 1 lets two "
                             "pretrainings share the two cores")
    args = parser.parse_args()

    import keras
    if args.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from safetensors.numpy import save_file

    keras.utils.set_random_seed(args.seed)
    X = read_images(args.data)
    model, layers = build(keras)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0, momentum=0.9), loss="mse")
    start = time.perf_counter()
    fit = model.fit(X, X, batch_size=256, epochs=args.epochs, shuffle=True, verbose=2)
    seconds = time.perf_counter() - start
    args.out.parent.mkdir(parents=True, exist_ok=True)
    arrays = torch_names(layers)
    encoder = keras.Model(model.inputs, layers[len(DIMS) - 2].output)
    arrays["__probe_embedding__"] = np.asarray(encoder.predict(X[:PROBE], verbose=0), dtype=np.float32)
    save_file(arrays, str(args.out))
    record = {"seed": args.seed, "epochs": args.epochs, "seconds": round(seconds, 1),
              "final_mse": float(fit.history["loss"][-1]), "weights": str(args.out),
              "threads": args.threads or None,
              "versions": {"python": platform.python_version(), "keras": keras.__version__,
                           "backend": keras.backend.backend(),
                           "tensorflow": metadata.version("tensorflow-cpu")}}
    args.out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record))


if __name__ == "__main__":
    main()
