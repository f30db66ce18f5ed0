"""§III-B.1: filters that keep only confident, unoccluded, single-object predictions.

* occlusion: ``S_v / S_a > t_occ`` with ``S = Σ m̂`` (t_occ = 0.95);
* uncertainty: average relative entropy ``Σ H(m̂_v) / Σ m̂_v < t_ent`` (t_ent = 0.1), eq. (3)
  ``H(m̂) = −m̂ log m̂ − (1 − m̂) log(1 − m̂)``;
* contours: ``cv2.findContours`` on the binary mask; keep predictions with 1–2 contours of at least
  1000 pixels at 640×960 (scaled by image area to the resolution used).

The contour filter applies to any binary mask (the baselines' too); the other two need the
model's probabilities. A prediction with no pixels is always filtered (§IV-C).
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from . import paper

PAPER_PIXELS = paper.IMAGE_HW[0] * paper.IMAGE_HW[1]
PAPER_MIN_CONTOUR = paper.MIN_CONTOUR_PX


@dataclasses.dataclass(frozen=True)
class FilterConfig:
    t_occ: float = 0.95
    t_ent: float = paper.T_ENT
    min_contour_px_at_paper_res: int = PAPER_MIN_CONTOUR
    max_contours: int = 2

    def min_contour_px(self, height: int, width: int) -> float:
        return self.min_contour_px_at_paper_res * height * width / PAPER_PIXELS


def binary_entropy(p: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    p = np.clip(p, eps, 1 - eps)
    return -p * np.log(p) - (1 - p) * np.log(1 - p)  # eq. (3)


def occlusion_ratio(p_visible: np.ndarray, p_amodal: np.ndarray) -> float:
    s_a = float(p_amodal.sum())
    return float(p_visible.sum()) / s_a if s_a > 0 else 0.0  # S_v / S_a


def relative_entropy(p_visible: np.ndarray) -> float:
    s_v = float(p_visible.sum())
    return float(binary_entropy(p_visible).sum()) / s_v if s_v > 0 else float("inf")  # ΣH(m̂_v) / Σm̂_v


def large_contours(mask: np.ndarray, min_area: float) -> int:
    """Number of external contours of ``mask`` enclosing at least ``min_area`` pixels.

    The paper counts pixels; ``cv2.contourArea`` (the polygon through the boundary pixels' centres)
    would undercount, down to 0 for a one-pixel-wide line, so each contour is filled within its
    bounding box and its pixels counted.
    """
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    n = 0
    for c in contours:
        x, y, w, h = cv2.boundingRect(c)
        if w * h < min_area:
            continue
        filled = np.zeros((h, w), np.uint8)
        cv2.drawContours(filled, [c], -1, 1, thickness=cv2.FILLED, offset=(-x, -y))
        n += int(filled.sum() >= min_area)
    return n


def contour_filter(mask: np.ndarray, cfg: FilterConfig = FilterConfig()) -> bool:
    if not mask.any():
        return False
    n = large_contours(mask, cfg.min_contour_px(*mask.shape))
    return 1 <= n <= cfg.max_contours


def model_filter(p_visible: np.ndarray, p_amodal: np.ndarray, cfg: FilterConfig = FilterConfig()) -> dict[str, bool]:
    """Each filter's verdict and the overall ``keep`` for a model prediction (probabilities)."""
    mask = p_visible > 0.5
    verdict = {
        "nonempty": bool(mask.any()),
        "occlusion": occlusion_ratio(p_visible, p_amodal) > cfg.t_occ,
        "entropy": relative_entropy(p_visible) < cfg.t_ent,
        "contours": contour_filter(mask, cfg),
    }
    verdict["keep"] = all(verdict.values())
    return verdict


def passes_all_but_entropy(p_visible: np.ndarray, p_amodal: np.ndarray, cfg: FilterConfig = FilterConfig()) -> bool:
    """Whether a prediction passes every filter but the entropy one (the non-empty, occlusion and contour filters):
    what an entropy threshold is calibrated against."""
    verdict = model_filter(p_visible, p_amodal, cfg)
    return all(verdict[k] for k in ("nonempty", "occlusion", "contours"))


def calibrate_entropy_threshold(rel_entropy: np.ndarray, ious: np.ndarray, good_iou: float = 0.75) -> float:
    """Choose ``t_ent`` as the paper did — "a reasonable trade-off between precision and recall" — on
    validation predictions: the threshold maximizing F1 of retrieving good masks (IOU >= ``good_iou``).

    The paper's 0.1 is tied to its model's calibration: ``Σ H(m̂_v) / Σ m̂_v`` sums the entropy of *every*
    pixel, so a model whose background probabilities are 1e-3 instead of 1e-5 exceeds 0.1 on every
    image. Returns the paper's 0.1 if the validation set has no good mask.
    """
    rel_entropy, ious = np.asarray(rel_entropy, float), np.asarray(ious, float)
    if rel_entropy.shape != ious.shape or rel_entropy.size == 0:
        raise ValueError("need one relative entropy per validation IOU, and at least one")
    good = ious >= good_iou
    if not good.any():
        return paper.T_ENT
    best_t, best_f1 = paper.T_ENT, -1.0
    for t in np.unique(rel_entropy):
        kept = rel_entropy <= t
        precision = good[kept].mean()
        recall = (good & kept).sum() / good.sum()
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if f1 > best_f1:
            best_t, best_f1 = float(t) * (1 + 1e-9), f1  # "< t" keeps the chosen value itself
    return best_t
