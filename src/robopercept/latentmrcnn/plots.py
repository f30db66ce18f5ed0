"""Figure helpers of the latentmrcnn notebooks (one place, so the notebooks hold no code of their own)."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def overlay(image: np.ndarray, masks: Sequence[np.ndarray], alpha: float = 0.55, dim: float = 0.45) -> np.ndarray:
    """``image`` (uint8 RGB) dimmed, each mask tinted with its own colour (tab20): float RGB in [0, 1]."""
    from matplotlib import pyplot as plt

    colors = plt.get_cmap("tab20")
    out = image.astype(float) / 255 * dim
    for j, m in enumerate(masks):
        out[m] = (1 - alpha) * out[m] + alpha * np.array(colors(j % 20)[:3])
    return out
