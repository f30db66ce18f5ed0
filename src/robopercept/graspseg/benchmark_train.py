"""Benchmark the grasp-segmentation training step: ``python -m robopercept.graspseg.benchmark_train``.

Times the step ``graspseg_train`` runs (:func:`robopercept.graspseg.train.train_grasp_model`: the profile's
model and head widths, channels-last, eq. (2)'s loss at the resolution's kernels, Adam) on random inputs of the
given size, after ``--warmup`` untimed steps, with ``--threads`` torch threads, in ``--processes`` processes at
once (``graspseg_train`` runs two 1-thread workers: ``--processes 2`` measures what each of them gets). Prints one
JSON record (seconds per step, per process). Defaults: the cpu profile's sizes; ``--height``/``--width`` override
the resolution (the cpu-budget question of session 46: 120x180 against 160x240).

Seconds depend on the CPU and on what else runs: the record names the machine, and the README's "Benchmarks"
section keeps the measured numbers (never a timed test).
"""

from __future__ import annotations

import argparse
import json

from ..common.bench import mean_step_seconds, per_process


def step_seconds(height: int, width: int, backbone: str, head_width: int, batch: int, threads: int, warmup: int,
                 steps: int) -> float:
    """Mean seconds of ``steps`` training steps after ``warmup`` ones (one process)."""
    import torch

    from .loss import grasp_segmentation_loss, scaled_kernels
    from .model import IN_CHANNELS, GraspSegmentationModel

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = GraspSegmentationModel(backbone, (head_width, head_width // 2, head_width // 4))
    model = model.to(memory_format=torch.channels_last).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    kernels = scaled_kernels(height)
    x = torch.rand(batch, IN_CHANNELS, height, width).contiguous(memory_format=torch.channels_last)
    visible = (torch.rand(batch, 1, height, width) > 0.7).float()
    amodal = torch.maximum(visible, (torch.rand(batch, 1, height, width) > 0.8).float())
    return mean_step_seconds(lambda: grasp_segmentation_loss(model(x), visible, amodal, kernels), opt, warmup, steps)


def bench(height: int, width: int, backbone: str, head_width: int, batch: int, threads: int, processes: int,
          warmup: int, steps: int) -> dict:
    args = (height, width, backbone, head_width, batch, threads, warmup, steps)
    per = per_process(step_seconds, args, processes)
    return {"image": [height, width], "backbone": backbone, "head_width": head_width, "batch": batch,
            "threads": threads, "processes": processes, "warmup": warmup, "steps": steps,
            "s_per_step": [round(s, 3) for s in per]}


def main(argv: list[str] | None = None) -> int:
    from ..config import load_profile
    from ..reporting.cpu import fingerprint

    ap = argparse.ArgumentParser(prog="python -m robopercept.graspseg.benchmark_train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="cpu", help="sizes from this profile (default: cpu)")
    ap.add_argument("--height", type=int, help="image height (default: the profile's graspseg_data.height)")
    ap.add_argument("--width", type=int, help="image width (default: the profile's)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per process (graspseg_train: 1)")
    ap.add_argument("--processes", type=int, default=1, help="processes at once (graspseg_train: workers, 2)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=8)
    a = ap.parse_args(argv)
    for k in ("threads", "processes", "warmup", "steps"):
        if getattr(a, k) < (0 if k == "warmup" else 1):
            ap.error(f"--{k} must be >= {0 if k == 'warmup' else 1}, got {getattr(a, k)}")
    p = load_profile(a.profile)
    data, model = p["graspseg_data"], p["graspseg_model"]
    h, w = a.height or data["height"], a.width or data["width"]
    if h < 32 or w < 32:
        ap.error(f"--height/--width must be >= 32 (the backbone's stride), got {h}x{w}")
    rec = bench(h, w, model["backbone"], model["head_width"], model["batch_size"], a.threads, a.processes,
                a.warmup, a.steps)
    rec["profile"] = a.profile
    rec["cpu"] = fingerprint()
    print(json.dumps(rec, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
