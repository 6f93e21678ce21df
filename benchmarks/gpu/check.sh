#!/usr/bin/env bash
# The GPU check of issue 3, prepared to run in ONE call of the device tool on a lent GPU machine
# (CI never runs it; every other test passes without a GPU). Here, first:
#     bash benchmarks/gpu/prepare.sh          # fills .gpu-carry/ (wheels + Fashion-MNIST, ~31 MB)
# then the device tool's run with  command "bash benchmarks/gpu/check.sh",  carry [".gpu-carry"],
# timeout_s 560. Steps, each writing into $OUT as it goes (a call stopped at its limit still
# returns what finished):
#   1. install the carried wheels; gpu.txt: nvidia-smi, PyTorch, CUDA, the source revision;
#   2. tests.log: tests/test_device.py on CUDA (the CPU floors of the DEC family under bfloat16,
#      every deep method training there, save/load across devices, the CLI with its report,
#      deterministic mode repeating labels);
#   3. Fashion-MNIST, all 70,000 images, each method's defaults, seed 0 first: dec, idec,
#      ae+kmeans (the three share one pretraining through pretrain_cache, as on the CPU), dcec;
#      then seeds 1 and 2 in the same order. No run starts after BUDGET seconds from the start
#      (default 380) and each run's --timeout is what is left of BUDGET + 120 s. bench.log,
#      results.jsonl (every run's record: seconds per phase, device, GPU), table.md.
# SMOKE=1 runs the same steps on 2,000 images with 1 pretraining epoch: a check of this script
# on any machine (PY=.venv/bin/python SMOKE=1 OUT=/tmp/gpu-smoke bash benchmarks/gpu/check.sh).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/gpu-check}
PY=${PY:-python3}
BUDGET=${BUDGET:-380}
BENCH=/tmp/gpu-bench
mkdir -p "$OUT" && rm -rf "$BENCH" /tmp/gpu-pretrain-cache  # each call stands alone, as on a bare machine
"$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
  .gpu-carry/wheels/*.whl || { echo "run benchmarks/gpu/prepare.sh here first and carry .gpu-carry"; exit 1; }
export PYTHONPATH="$PWD:/tmp/site" DEEPCLUST_DATA="$PWD/.gpu-carry/data" PYTHONUNBUFFERED=1

{ echo "revision $(cat .gpu-carry/REVISION) (prepare.sh), $(date -u +%FT%TZ)"; nvidia-smi || true
  "$PY" -c "import torch, deepclust.runtime as r; print('torch', torch.__version__, 'cuda', torch.version.cuda); \
print('gpu:', r.gpu_description()); print('cpu:', r.cpu_description())"; } > "$OUT/gpu.txt" 2>&1
cat "$OUT/gpu.txt"

"$PY" -m pytest -q -p no:cacheprovider -rs tests/test_device.py 2>&1 | tee "$OUT/tests.log"

smoke=(); [ "${SMOKE:-0}" = 1 ] && smoke=(--sample 2000 --set pretrain_epochs=1)
for seed in 0 1 2; do
  for method in dec idec ae+kmeans dcec; do
    left=$((BUDGET - SECONDS))
    if [ "$left" -le 0 ]; then echo "budget spent: $method seed $seed not started" | tee -a "$OUT/bench.log"; continue; fi
    echo "== $(date -u +%T) $method seed $seed (${SECONDS}s in)" | tee -a "$OUT/bench.log"
    extra=("${smoke[@]}"); [ "${SMOKE:-0}" = 1 ] && [ "$method" != ae+kmeans ] && extra+=(--set maxiter=140)
    "$PY" -m deepclust bench --methods "$method" --data fashion-mnist --seeds "$seed" --out "$BENCH" \
      --set pretrain_cache=/tmp/gpu-pretrain-cache --timeout $((left + 120)) "${extra[@]}" 2>&1 \
      | tr '\r' '\n' | grep -v "step/s\|cell/s\|/cell\|^$" | tee -a "$OUT/bench.log"
    cp "$BENCH/results.jsonl" "$OUT/" 2>/dev/null
  done
done
"$PY" -m deepclust table "$BENCH/results.jsonl" > "$OUT/table.md" 2>&1
cat "$OUT/table.md"
