"""Timing a function in several processes at once, as a stage's one-thread workers run side by side.

``python -m robopercept.<paper>.benchmark_train --processes 2`` measures what each of a stage's two workers gets
from a shared machine: :func:`per_process` starts ``processes`` fresh interpreters (spawn) that each call the same
function and hand back its number. Seconds depend on the CPU and on what else runs; the benchmarks' records name the
machine, and the README's "Benchmarks" section keeps the measured numbers (never a timed test).
"""

from __future__ import annotations

import multiprocessing as mp
from typing import Callable


def _worker(fn: Callable[..., float], args: tuple, out) -> None:
    out.put(fn(*args))


def per_process(fn: Callable[..., float], args: tuple, processes: int) -> list[float]:
    """``fn(*args)`` in this process (``processes == 1``) or in ``processes`` spawned processes at once; their
    results sorted. ``fn`` must be importable (a module-level function)."""
    if processes < 1:
        raise ValueError(f"processes must be >= 1, got {processes}")
    if processes == 1:
        return [fn(*args)]
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(fn, args, q)) for _ in range(processes)]
    for p in procs:
        p.start()
    per = sorted(q.get() for _ in procs)
    for p in procs:
        p.join()
    return per


def mean_step_seconds(loss_fn: Callable[[], "object"], optimizer, warmup: int, steps: int) -> float:
    """Mean seconds of ``steps`` training steps (``loss_fn()``, zero_grad, backward, optimizer step) after ``warmup``
    untimed ones."""
    import time

    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        loss = loss_fn()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return float(sum(times) / len(times))
