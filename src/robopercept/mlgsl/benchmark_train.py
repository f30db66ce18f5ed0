"""Benchmark the mlgsl training step: ``python -m robopercept.mlgsl.benchmark_train``.

Times the step ``mlgsl_train`` runs (:func:`robopercept.mlgsl.train.train_run`: the grasp FCN with the given
attention placement, the MLGSL loss on ``labels`` random labels per image, Adam) on random depth images of the
profile's ``image_size`` and ``batch_size``, after ``--warmup`` untimed steps, with ``--threads`` torch threads, in
``--processes`` processes at once (``mlgsl_train`` runs ``workers`` one-thread processes: ``--processes 2``
measures what each of them gets), in the channels-last layout training uses and, with ``--layouts``, in torch's
default (NCHW) layout for comparison. Prints one JSON record (seconds per step, per process and layout).

Seconds depend on the CPU and on what else runs: the record names the machine, and the README's "Benchmarks"
section keeps the measured numbers (never a timed test).
"""

from __future__ import annotations

import argparse
import json

from ..common.bench import mean_step_seconds, per_process

LAYOUTS = ("channels_last", "nchw")


def step_seconds(size: int, batch: int, attention: str, layout: str, labels: int, threads: int, warmup: int,
                 steps: int) -> float:
    """Mean seconds of ``steps`` training steps after ``warmup`` ones (one process)."""
    import torch

    from .loss import mlgsl_loss
    from .model import GraspFCN

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    model = GraspFCN(attention).to(memory_format=fmt).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = (0.7 + 0.01 * torch.randn(batch, 1, size, size)).contiguous(memory_format=fmt)
    g = torch.Generator().manual_seed(0)
    target = {"rows": torch.randint(0, size, (batch, labels), generator=g),
              "cols": torch.randint(0, size, (batch, labels), generator=g),
              "cos": torch.rand(batch, labels, generator=g) * 2 - 1, "sin": torch.rand(batch, labels, generator=g) * 2 - 1,
              "width": torch.rand(batch, labels, generator=g), "valid": torch.ones(batch, labels)}
    return mean_step_seconds(lambda: mlgsl_loss(model(x), target), opt, warmup, steps)


def bench(size: int, batch: int, attention: str, layout: str, labels: int, threads: int, processes: int,
          warmup: int, steps: int) -> list[float]:
    """Seconds a step in each of ``processes`` processes running at once, sorted."""
    return per_process(step_seconds, (size, batch, attention, layout, labels, threads, warmup, steps), processes)


def main(argv: list[str] | None = None) -> int:
    from ..config import load_profile
    from ..reporting.cpu import fingerprint
    from .model import ATTENTION

    ap = argparse.ArgumentParser(prog="python -m robopercept.mlgsl.benchmark_train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="cpu", help="sizes from this profile (default: cpu)")
    ap.add_argument("--attention", nargs="+", default=["none", "all"], choices=ATTENTION)
    ap.add_argument("--layouts", nargs="+", default=["channels_last"], choices=LAYOUTS,
                    help="memory layouts to time (mlgsl_train: channels_last)")
    ap.add_argument("--labels", type=int, default=16, help="labels per image in the loss (default 16)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per process (mlgsl_train: 1)")
    ap.add_argument("--processes", type=int, default=1, help="processes at once (mlgsl_train: workers, 2)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    a = ap.parse_args(argv)
    for k in ("labels", "threads", "processes", "warmup", "steps"):
        if getattr(a, k) < (0 if k == "warmup" else 1):
            ap.error(f"--{k} must be >= {0 if k == 'warmup' else 1}, got {getattr(a, k)}")
    t = load_profile(a.profile)["mlgsl_train"]
    size, batch = t["image_size"], t["batch_size"]
    rows = [{"attention": att, "layout": lay,
             "s_per_step": [round(s, 4) for s in bench(size, batch, att, lay, a.labels, a.threads, a.processes,
                                                         a.warmup, a.steps)]}
            for att in a.attention for lay in a.layouts]
    rec = {"profile": a.profile, "image_size": size, "batch": batch, "labels": a.labels, "threads": a.threads,
           "processes": a.processes, "warmup": a.warmup, "steps": a.steps, "rows": rows, "cpu": fingerprint()}
    print(json.dumps(rec, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
