"""Torch's thread count as a fixed part of a computation.

A CPU convolution's float rounding depends on how many threads split it (oneDNN picks its blocking by the thread
count), so a model's predictions on a 2-core machine and on a 16-core one differ in their last bits — enough to move
a mask pixel at a threshold. Evaluation code that must give the same bytes on every machine runs torch on one
thread: in this process (:func:`one_torch_thread`) or on a pool of one-thread workers
(:func:`robopercept.world.shards.process_pool`), which agree with each other.
"""

from __future__ import annotations

import contextlib
from typing import Iterator


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(1)``; the previous count is restored after it."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
