"""§IV-B: image subtraction, ``m̂ = |G(I_a) − G(I_b)| > t`` with ``G = GaussianBlur(Greyscale(·))``.

The threshold ``t`` (grey levels) and the blur kernel size are tuned on training data only
(:func:`tune_subtract`). The background-subtraction baselines (MOG, MOG2, LSBP) and the contour
filter come with graspseg Table I.
"""

from __future__ import annotations

import itertools
from typing import Iterable, Sequence

import cv2
import numpy as np

from .metrics import iou


def grey_blur(img: np.ndarray, ksize: int) -> np.ndarray:
    """G(I): greyscale then Gaussian blur (odd ``ksize``; 1 means no blur)."""
    if ksize < 1 or ksize % 2 == 0:
        raise ValueError(f"blur kernel size must be odd and >= 1, got {ksize}")
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return grey if ksize == 1 else cv2.GaussianBlur(grey, (ksize, ksize), 0)


def subtract(before: np.ndarray, after: np.ndarray, threshold: float, ksize: int = 5) -> np.ndarray:
    """Boolean mask of pixels whose blurred grey level changed by more than ``threshold``."""
    if before.shape != after.shape:
        raise ValueError(f"before and after differ in shape: {before.shape} vs {after.shape}")
    return np.abs(grey_blur(after, ksize) - grey_blur(before, ksize)) > threshold  # |G(I_a) − G(I_b)| > t


def tune_subtract(pairs: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
                  thresholds: Iterable[float] = (6, 10, 15, 20, 30, 40, 60),
                  ksizes: Iterable[int] = (1, 5, 9, 15)) -> tuple[float, int, float]:
    """Grid search of (threshold, ksize) maximizing mIOU on (before, after, visible mask) triples."""
    if not pairs:
        raise ValueError("cannot tune subtraction on an empty set of grasps")
    best = (-1.0, 0.0, 1)
    for t, k in itertools.product(thresholds, ksizes):
        score = float(np.mean([iou(subtract(b, a, t, k), m) for b, a, m in pairs]))
        if score > best[0]:
            best = (score, float(t), int(k))
    return best[1], best[2], best[0]
