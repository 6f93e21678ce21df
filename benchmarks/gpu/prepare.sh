#!/usr/bin/env bash
# Prepare, on this machine, what the GPU check (benchmarks/gpu/check.sh) carries to a lent GPU
# machine, which reaches no network: into .gpu-carry/ (ignored by git, about 31 MB)
#   wheels/  umap-learn and pynndescent, the two dependencies the GPU image lacks (its PyTorch,
#            scikit-learn, numba, safetensors, click, tqdm, PyYAML, Pillow and matplotlib serve);
#   data/fashion-mnist/  the four IDX files of the Debian package dataset-fashion-mnist.
# Usage: bash benchmarks/gpu/prepare.sh   (then see benchmarks/gpu/check.sh for the device call)
set -euo pipefail
cd "$(dirname "$0")/../.."
CARRY=.gpu-carry
SRC=/usr/share/datasets/fashion-mnist
[ -d "$SRC" ] || make data
rm -rf "$CARRY" && mkdir -p "$CARRY/wheels" "$CARRY/data/fashion-mnist"
cp "$SRC"/*-ubyte.gz "$CARRY/data/fashion-mnist/"
PY=python3; [ -x .venv/bin/python ] && PY=.venv/bin/python
# The versions this checkout's environment uses; pure-Python wheels, so any Python 3 there takes them.
for pkg in umap-learn pynndescent; do
  version=$("$PY" -c "from importlib.metadata import version; print(version('$pkg'))")
  "$PY" -m pip download --quiet --no-deps --only-binary=:all: -d "$CARRY/wheels" "$pkg==$version"
done
git rev-parse --short=12 HEAD > "$CARRY/REVISION" 2>/dev/null || echo unknown > "$CARRY/REVISION"
du -sh "$CARRY"; ls "$CARRY/wheels" "$CARRY/data/fashion-mnist"
