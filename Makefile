# Two commands do everything (see README): `make demo` and `make test` (ruff, then pytest).
# Both create .venv and install the package with the CPU build of PyTorch pinned for this machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TORCH  := torch==2.13.0
FASHION_DIR := /usr/share/datasets/fashion-mnist

.PHONY: demo test setup data lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

# Fashion-MNIST's original IDX files from the Debian package (no download at run time).
data:
	@if [ -d $(FASHION_DIR) ]; then echo "Fashion-MNIST found in $(FASHION_DIR)"; \
	elif [ "$$(id -u)" = 0 ]; then (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist) >/dev/null; \
	elif command -v sudo >/dev/null; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null; \
	else echo "Install the Debian package dataset-fashion-mnist for the real-data runs and tests."; fi

# The main job: DEC on all 70,000 Fashion-MNIST images (10 pretraining epochs; about 20 minutes on
# two CPU cores), writing labels, metrics, run record, model and report.html into runs/demo, then
# the cluster explorer runs/demo/explorer.html (about a minute more).
demo: setup data
	$(BIN)/deepclust run dec --data fashion-mnist --seed 0 --set pretrain_epochs=10 --out runs/demo --force
	$(BIN)/deepclust explore runs/demo

test: setup data lint
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check deepclust tests benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache
