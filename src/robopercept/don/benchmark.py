"""Correspondence sampling throughput and NT-Xent / pixelwise training-step times, measured on this machine.

    python -m robopercept.don.benchmark [--profile cpu] [--steps 5] [--pairs 50] [--threads 1]
                                        [--out reports/timings/don/benchmark.json]

On scene logs at the profile's frame size (the ``don_data`` stage's when they exist, else a few scenes recorded into
a temporary folder): ``find_matches`` over random frame pairs of a multi-object scene (every pixel of A through depth
and poses, §III-B) and whole training pairs (matches, sampling, augmentation of A); then training steps of each loss
at the profile's batch sizes and correspondence counts (scaled to the frame as training does), after one warm-up
step; and one descriptor forward pass. The record goes to ``reports/timings/`` (wall-clock never enters a DVC output).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def run(profile: str = "cpu", steps: int = 5, pairs: int = 50, threads: int = 1, logs_root: Path | None = None) -> dict:
    import torch

    from ..config import load_profile, validate_params
    from .. import paths
    from ..formats.don_logs import DonLogs
    from .config import DonDataConfig
    from .correspondence import find_matches
    from .experiments import ALL_AUG, experiments
    from .model import DenseDescriptorNet
    from .pairs import training_pair
    from .scenes import generate
    from .sweep import COMPOSITE, settings, splits, training_scenes
    from .train import _step_loss

    torch.set_num_threads(threads)
    cfg = validate_params(load_profile(profile))
    dcfg, tcfg = cfg["don_data"], cfg["don_train"]
    tmp = None
    if logs_root is None:
        tmp = tempfile.TemporaryDirectory(prefix="robopercept-don-bench-")
        small = DonDataConfig(height=dcfg.height, width=dcfg.width, trajectory_poses=dcfg.trajectory_poses,
                              single_train=2, multi_train=2, single_val=0, multi_val=0, multi_test=1,
                              settle_steps=dcfg.settle_steps, workers=1)
        logs_root = generate(small, 0, paths.data_dir(), tmp.name)
    logs = DonLogs(logs_root, COMPOSITE)
    sp = splits(logs)
    scene = logs.scene(sp["multi_train"][0])
    rng = np.random.default_rng(0)
    frames = [tuple(int(x) for x in rng.choice(scene.indices, 2, replace=False)) for _ in range(pairs)]
    t = time.perf_counter()
    n_matches = [len(find_matches(scene.depth(a), scene.pose(a), scene.depth(b), scene.pose(b), scene.K))
                 for a, b in frames]
    match_s = time.perf_counter() - t
    t = time.perf_counter()
    for i in range(pairs):
        training_pair(scene, np.random.default_rng(i), n=tcfg.ntxent_correspondences, augmentations=ALL_AUG,
                      unique=True)
    pair_s = time.perf_counter() - t
    table1 = dict(experiments(tcfg, len(sp["multi_train"]))["table1"])
    rows = []
    for label in ("NT-Xent + Multi-Object + Augmentations", "Pixelwise + Multi-Object + Augmentations",
                  "Pixelwise + Cross-Object"):
        v = table1[label]
        s = settings(v, tcfg, scene.height, scene.width, 0)
        model = DenseDescriptorNet(v.descriptor_dim, tcfg.backbone)
        opt = torch.optim.Adam(model.parameters(), lr=s.lr)
        train_scenes = training_scenes(sp, v)
        times = []
        for k in range(steps + 1):  # the first is a warm-up
            t = time.perf_counter()
            loss = _step_loss(model, logs, train_scenes, sp["single_train"], np.random.default_rng([0, k]), s)
            if loss is not None:
                opt.zero_grad()
                loss.backward()
                opt.step()
            if k:
                times.append(time.perf_counter() - t)
        step = float(np.median(times))
        rows.append({"configuration": label, "batch_size": v.batch_size, "correspondences": s.correspondences,
                     "step_s": step, "pair_s": step / v.batch_size})
    img = torch.rand(1, 3, scene.height, scene.width)
    model.eval()
    with torch.no_grad():
        model(img)
        t = time.perf_counter()
        for _ in range(5):
            model(img)
        forward_ms = 1000 * (time.perf_counter() - t) / 5
    if tmp is not None:
        tmp.cleanup()
    return {"profile": profile, "threads": threads, "resolution": f"{scene.width}x{scene.height}",
            "backbone": tcfg.backbone, "find_matches_pairs_per_s": pairs / match_s,
            "mean_matches_per_pair": float(np.mean(n_matches)), "training_pairs_per_s": pairs / pair_s,
            "steps": rows, "forward_ms": forward_ms}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--pairs", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--logs", default=None, help="a DON log folder (default: a few scenes recorded for the benchmark)")
    ap.add_argument("--out", default="reports/timings/don/benchmark.json")
    a = ap.parse_args(argv)
    if min(a.steps, a.pairs, a.threads) < 1:
        raise SystemExit("--steps, --pairs and --threads must be >= 1")
    import platform

    rec = run(a.profile, a.steps, a.pairs, a.threads, Path(a.logs) if a.logs else None)
    rec["machine"] = platform.processor() or platform.machine()
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rec, indent=1, sort_keys=True) + "\n")
    print(json.dumps(rec, indent=1))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
