"""mlgsl §III-A/§IV-A: grasps as rectangles, grasp selection from the predicted maps, and the
rectangle metric of Top-1 / Top-5 success.

A grasp ``g = (p, φ, w)`` (Fig. 2) is drawn as a rectangle centred on ``p``, ``w`` long along the
closing direction ``φ`` and one jaw wide (:class:`robopercept.formats.jacquard.GraspRect`).

* :func:`rect_iou` — intersection over union of two rotated rectangles, exactly (OpenCV's convex
  polygon intersection).
* :func:`angle_difference` — ``|φ1 − φ2|`` modulo π (a parallel-jaw grasp is the same grasp
  turned by 180°), in radians.
* :func:`is_successful` — the paper's criterion: some label with IoU ≥ 25 % and angle difference
  ≤ 30°.
* :func:`top_grasps` — the ``k`` best grasps: local maxima of the (lightly smoothed) Q̂ map, best
  first, as in GG-CNN's detection; their angle and width are read from the Φ̂, Ŵ maps there.
  Top-5 success means *any* of the five is successful (as in Jacquard's top-k).
* :func:`sample_grasps` — §III-B's stochastic selection: pixels drawn from the categorical
  distribution ``P(p) ∝ Q̂_p``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..formats.jacquard import GraspRect

IOU_THRESHOLD = 0.25
ANGLE_THRESHOLD = math.radians(30)


def rasterize(corners: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Boolean mask of the pixels whose centres lie inside the polygon (``corners`` as (col, row),
    pixel (r, c) centred at (c, r))."""
    from skimage.draw import polygon

    rr, cc = polygon(corners[:, 1], corners[:, 0], shape)
    mask = np.zeros(shape, bool)
    mask[rr, cc] = True
    return mask


def rect_iou(a: GraspRect, b: GraspRect) -> float:
    pa, pb = a.corners().astype(np.float32), b.corners().astype(np.float32)
    inter, _ = cv2.intersectConvexConvex(pa, pb)
    area_a, area_b = a.opening * a.jaw, b.opening * b.jaw
    union = area_a + area_b - inter
    return float(inter / union) if union > 0 else 0.0


def angle_difference(a: float, b: float) -> float:
    """Smallest difference of two grasp angles, modulo π, in [0, π/2]."""
    d = (a - b) % math.pi
    return min(d, math.pi - d)


def is_successful(pred: GraspRect, labels: list[GraspRect], *, iou: float = IOU_THRESHOLD,
                  angle: float = ANGLE_THRESHOLD) -> bool:
    """∃ label: IoU(label, pred) ≥ 25 % and |φ_label − φ_pred| ≤ 30° (§IV-A)."""
    return any(angle_difference(pred.angle, g.angle) <= angle and rect_iou(pred, g) >= iou for g in labels)


def decode_angle(cos2: np.ndarray, sin2: np.ndarray) -> np.ndarray:
    """Φ = ½ atan2(sin 2Φ, cos 2Φ) (§III-C)."""
    return 0.5 * np.arctan2(sin2, cos2)


def grasp_at(maps: dict[str, np.ndarray], row: int, col: int, *, width_scale_px: float, jaw_px: float) -> GraspRect:
    """The grasp the maps predict at pixel (row, col). ``maps`` has ``q, cos, sin, width``;
    ``width_scale_px`` converts the normalised width back to pixels."""
    angle = float(decode_angle(maps["cos"][row, col], maps["sin"][row, col]))
    opening = max(1.0, float(maps["width"][row, col]) * width_scale_px)
    return GraspRect(float(row), float(col), angle, opening, jaw_px)


def smooth_quality(q: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(q.astype(np.float32), (0, 0), sigma) if sigma > 0 else q.astype(np.float32)


def top_pixels(q: np.ndarray, k: int, min_distance: int) -> list[tuple[int, int]]:
    """Up to ``k`` local maxima of ``q`` at least ``min_distance`` apart, best first; if there are
    fewer peaks, the best remaining pixels fill the list (a flat map still yields k grasps)."""
    from skimage.feature import peak_local_max

    peaks = peak_local_max(q, min_distance=max(1, min_distance), num_peaks=k, exclude_border=False)
    out = [(int(r), int(c)) for r, c in peaks]
    if len(out) < k:
        order = np.argsort(-q, axis=None, kind="stable")
        taken = set(out)
        for flat in order:
            rc = divmod(int(flat), q.shape[1])
            if rc not in taken:
                out.append(rc)
                taken.add(rc)
            if len(out) == k:
                break
    return out


def top_grasps(maps: dict[str, np.ndarray], k: int, *, width_scale_px: float, jaw_px: float,
               min_distance: int, sigma: float) -> list[GraspRect]:
    q = smooth_quality(maps["q"], sigma)
    return [grasp_at(maps, r, c, width_scale_px=width_scale_px, jaw_px=jaw_px) for r, c in top_pixels(q, k, min_distance)]


def sample_grasps(maps: dict[str, np.ndarray], n: int, rng: np.random.Generator, *, width_scale_px: float,
                  jaw_px: float) -> list[GraspRect]:
    """§III-B: draw ``n`` pixels from Categorical(Q̂ / ΣQ̂) (with replacement) and read Φ̂, Ŵ there."""
    q = np.clip(maps["q"].astype(np.float64), 0, None).ravel()
    if q.sum() <= 0:
        raise ValueError("the quality map is zero everywhere: nothing to sample from")
    idx = rng.choice(q.size, size=n, p=q / q.sum())
    return [grasp_at(maps, *divmod(int(i), maps["q"].shape[1]), width_scale_px=width_scale_px, jaw_px=jaw_px)
            for i in idx]
