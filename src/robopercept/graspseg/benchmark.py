"""Benchmark grasp-pair generation: ``python -m robopercept.graspseg.benchmark``.

Generates ``--pairs`` unlabeled grasp pairs (no amodal labeling) at the given resolution with 1
and 2 worker processes into a temporary folder and prints pairs per second and where the time goes
(physics, rendering, sensor model, policy, file writing). Defaults: the cpu profile's resolution.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

from .. import paths
from ..config import load_profile
from .config import GraspDataConfig
from .grasp_collection import generate


def bench(cfg: GraspDataConfig, pairs: int, workers: int, seed: int = 0) -> dict:
    shard = max(1, pairs // (4 * workers))
    run_cfg = dataclasses.replace(cfg, n_unlabeled=pairs, n_labeled_train=0, n_labeled_test=0,
                                  shard_size=shard, workers=workers)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        summary = generate(run_cfg, seed, paths.data_dir(), Path(tmp) / "ds", progress=False)
        wall = time.perf_counter() - t0
    timing = summary["timing_s"]
    total = sum(timing.values())
    return {"workers": workers, "pairs": pairs, "height": cfg.height, "width": cfg.width,
            "wall_s": round(wall, 2), "pairs_per_s": round(pairs / wall, 2),
            "attempts": summary["splits"]["unlabeled"]["attempts"],
            "time_share": {k: round(v / total, 3) for k, v in timing.items() if total}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m robopercept.graspseg.benchmark", description=__doc__)
    ap.add_argument("--profile", default="cpu", help="take the resolution and physics settings from this profile")
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args(argv)
    if args.pairs < 1:
        ap.error("--pairs must be >= 1")
    cfg = GraspDataConfig.from_mapping(load_profile(args.profile)["graspseg_data"])
    results = [bench(cfg, args.pairs, int(w)) for w in args.workers.split(",")]
    for r in results:
        print(f"{r['workers']} worker(s): {r['pairs']} pairs at {r['height']}x{r['width']} in {r['wall_s']} s "
              f"= {r['pairs_per_s']} pairs/s ({r['attempts']} attempts); time share {r['time_share']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
