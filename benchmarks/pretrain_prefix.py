"""Diagnostic: is a longer pretraining the continuation of a shorter one with the same seed?

Two entries of the pretraining cache (``pretrain_cache=DIR``; each folder's ``meta.json`` holds
the loss history recorded every 50 steps) that differ only in ``epochs``: with the same seed the
trainer draws the same batch order epoch by epoch, so the first run's steps should be the
longer run's first steps, loss for loss. Then a comparison of the two autoencoders' clustering
results is a comparison of more epochs on one trajectory, not of two trajectories. The script
reads no data and trains nothing: it prints the settings in which the two entries differ, the
shared steps, the largest gap between their recorded losses on those steps, and the loss at the
end of each.

    .venv/bin/python benchmarks/pretrain_prefix.py CACHE/SHORT_ENTRY CACHE/LONG_ENTRY
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def load(entry: Path) -> dict:
    """The ``meta.json`` of one cache entry."""
    return json.loads((entry / "meta.json").read_text())


def losses(meta: dict) -> dict[int, float]:
    """Step -> summed recorded loss components of the pretraining history."""
    return {r["step"]: sum(v for k, v in r.items() if k not in ("phase", "step"))
            for r in meta["history"]}


def differing(a: dict, b: dict) -> dict:
    """The pretraining and network settings whose values differ between two entries."""
    out = {}
    for part in ("pretraining", "network"):
        for k in sorted(set(a[part]) | set(b[part])):
            if a[part].get(k) != b[part].get(k):
                out[f"{part}.{k}"] = (a[part].get(k), b[part].get(k))
    return out


def main() -> None:
    """Print how the two entries' loss histories agree on their shared steps."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("short", type=Path)
    ap.add_argument("long", type=Path)
    args = ap.parse_args()
    a, b = load(args.short), load(args.long)
    la, lb = losses(a), losses(b)
    shared = sorted(set(la) & set(lb))
    gap = max((abs(la[s] - lb[s]) for s in shared), default=float("nan"))
    print(f"settings that differ: {differing(a, b)}")
    print(f"shared recorded steps: {len(shared)} (up to step {shared[-1] if shared else '-'}); "
          f"largest loss gap on them: {gap:.3g}")
    for name, hist in (("short", la), ("long", lb)):
        last = max(hist)
        print(f"{name}: {len(hist)} records, loss {hist[last]:.6f} at step {last}")


if __name__ == "__main__":
    main()
