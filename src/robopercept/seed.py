"""Seeding. One function, called at the top of every notebook and every worker process."""

from __future__ import annotations

import os
import random

import numpy as np


def seed_everything(seed: int, *, deterministic: bool = True) -> np.random.Generator:
    """Seed Python, NumPy and torch; return a NumPy ``Generator`` to pass on explicitly.

    On the CPU, the same seed gives bit-identical results on a rerun with the same thread count:
    torch is switched to deterministic algorithms (``warn_only`` so ops without a deterministic
    kernel still run, with a warning, instead of failing on a GPU).
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency, but keep world usable alone
        pass
    else:
        torch.manual_seed(seed)
        if deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.benchmark = False
    return np.random.default_rng(seed)


def derive_seed(*keys: int | str) -> int:
    """A stable 63-bit seed from a tuple of keys (e.g. ``(base_seed, "grasp", i)``).

    Independent of worker count and process: grasp *i* gets the same seed however the work is
    sharded. Uses NumPy's SeedSequence on the keys' UTF-8 bytes, not Python's salted ``hash``.
    """
    ints: list[int] = []
    for k in keys:
        if isinstance(k, bool) or not isinstance(k, (int, str)):
            raise TypeError(f"seed keys must be int or str, got {type(k).__name__}")
        if isinstance(k, str):
            ints.extend(k.encode("utf-8"))
            ints.append(256)  # separator so ("ab",) != ("a", "b")
        else:
            if k < 0:
                raise ValueError(f"seed keys must be non-negative, got {k}")
            ints.append(k)
    return int(np.random.SeedSequence(ints).generate_state(2, dtype=np.uint32).view(np.uint64)[0] >> 1)
