"""§IV-C metrics against the grasped object's visible mask."""

from __future__ import annotations

import numpy as np


def iou(pred: np.ndarray, gt: np.ndarray) -> float:
    """|pred ∩ gt| / |pred ∪ gt|; 1.0 when both are empty."""
    if pred.shape != gt.shape:
        raise ValueError(f"prediction and ground truth differ in shape: {pred.shape} vs {gt.shape}")
    union = np.logical_or(pred, gt).sum()
    return 1.0 if union == 0 else float(np.logical_and(pred, gt).sum() / union)


def relative_error(pred: np.ndarray, gt: np.ndarray) -> float:
    """Incorrectly predicted pixels / ground-truth pixels (can exceed 1, as in Table I)."""
    if pred.shape != gt.shape:
        raise ValueError(f"prediction and ground truth differ in shape: {pred.shape} vs {gt.shape}")
    n = gt.sum()
    if n == 0:
        raise ValueError("relative error is undefined for an empty ground-truth mask")
    return float(np.logical_xor(pred, gt).sum() / n)
