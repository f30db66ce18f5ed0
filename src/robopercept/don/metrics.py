"""§IV-D metrics: best-match prediction in descriptor space, PCK@k (eq. (3)) and its area under the curve over
k in [1, 100], and keypoint errors in world coordinates.

    "We found the closest matching descriptor for each query point in some other view l [...]. Here, D denotes the
    cosine similarity for NT-Xent variants, or the ℓ2 distance for pixelwise losses." (§IV-D)

The AUC is the mean of PCK@k over the integer k = 1 ... 100 (so it lies in [0, 1], as the paper's values do).

**Frame size.** The paper's k are pixels of 640 x 480 frames ("a mismatch in image plane, with a diagonal of 800
pixels"). On a smaller frame the same k would be a larger share of the image, so PCK@k is evaluated at
``k x diagonal / 800`` pixels (:func:`pixel_scale`): k keeps its meaning as a share of the image diagonal, and the
AUC stays comparable with the paper's.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


@torch.no_grad()
def best_match(query: torch.Tensor, desc_b: torch.Tensor, metric: str) -> np.ndarray:
    """Pixel (u, v) of image B whose descriptor is nearest each query (N, D); ``desc_b`` (D, H, W); ``metric``:
    ``cosine`` (NT-Xent models) or ``l2`` (pixelwise models)."""
    d, h, w = desc_b.shape
    flat = desc_b.reshape(d, -1)
    if metric == "cosine":
        score = F.normalize(query, dim=1) @ F.normalize(flat, dim=0)
        idx = score.argmax(1)
    elif metric == "l2":
        idx = torch.cdist(query, flat.T).argmin(1)
    else:
        raise ValueError(f"metric must be 'cosine' or 'l2', got {metric!r}")
    idx = idx.numpy()
    return np.stack([idx % w, idx // w], 1)


PAPER_DIAGONAL = 800.0


def pixel_scale(height: int, width: int) -> float:
    """Pixels of a ``height`` x ``width`` frame per pixel of the paper's 640 x 480 frame (diagonal ratio)."""
    return float(np.hypot(height, width)) / PAPER_DIAGONAL


def pck(pred: np.ndarray, truth: np.ndarray, ks=range(1, 101)) -> np.ndarray:
    """PCK@k for each k: the share of predictions within k pixels of the truth (eq. (3))."""
    err = np.linalg.norm(np.asarray(pred, float) - np.asarray(truth, float), axis=1)
    return np.array([float((err <= k).mean()) if len(err) else np.nan for k in ks])


def pck_auc(pred: np.ndarray, truth: np.ndarray, scale: float = 1.0) -> float:
    """Area under PCK@k for k = 1 ... 100 (times ``scale`` pixels, :func:`pixel_scale`), normalised to [0, 1]."""
    return float(np.mean(pck(pred, truth, ks=scale * np.arange(1, 101))))
