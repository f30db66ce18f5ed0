"""CTPG benchmark (mlgsl Table II): computation time per grasp on this machine's CPU.

``python -m robopercept.mlgsl.benchmark [--size 300] [--repeats 100] [--threads 2] [--attention none]
[--no-channels-last]``
times depth pre-processing + the FCN forward pass + grasp selection at batch 1, on a random depth
image (timing does not depend on the weights). The paper's figure: 21 ms on a GTX 1060 at 300x300.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from .data import prepare_depth
from .metrics import Selection, predict
from .model import GraspFCN


def measure(size: int, repeats: int, threads: int, attention: str = "none", stored: int | None = None,
            channels_last: bool = True) -> dict:
    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    stored = stored or size
    depth = (0.75 + 0.01 * rng.standard_normal((stored, stored))).astype(np.float32)
    model = GraspFCN(attention).eval()
    if channels_last:  # as robot.load_planner deploys it
        model = model.to(memory_format=torch.channels_last)
    sel = Selection(size)
    parts = {"preprocess": [], "network": [], "selection": [], "total": []}
    with torch.no_grad():
        for k in range(repeats + 3):
            t0 = time.perf_counter()
            x = prepare_depth(depth, size)
            t1 = time.perf_counter()
            (m,) = predict(model, [x])
            t2 = time.perf_counter()
            sel.top(m, 1)
            t3 = time.perf_counter()
            if k >= 3:  # warm-up
                for key, v in (("preprocess", t1 - t0), ("network", t2 - t1), ("selection", t3 - t2), ("total", t3 - t0)):
                    parts[key].append(1000 * v)
    return {"size": size, "stored": stored, "threads": threads, "attention": attention,
            "channels_last": channels_last, "repeats": repeats,
            **{f"{k}_ms_median": round(float(np.median(v)), 2) for k, v in parts.items()},
            "total_ms_p90": round(float(np.percentile(parts["total"], 90)), 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, nargs="+", default=[300])
    ap.add_argument("--repeats", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--attention", default="none")
    ap.add_argument("--no-channels-last", action="store_true", help="keep the default NCHW weights (slower on CPU)")
    args = ap.parse_args(argv)
    for s in args.size:
        print(json.dumps(measure(s, args.repeats, args.threads, args.attention, channels_last=not args.no_channels_last)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
