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
* :func:`top_grasps` — the ``k`` best grasps, decoded as GG-CNN does (its ``post_process_output``
  and ``detect_grasps``), with each departure named:

  - Q̂ is smoothed by a Gaussian (σ = 2 px at 300 px), the width map by σ = 1 px; GG-CNN smooths
    the decoded angle image by σ = 2, which averages across the ±90° wrap — we smooth ``cos 2Φ̂`` and
    ``sin 2Φ̂`` by σ = 2 and decode after (same smoothing, no wrap artefact);
  - grasps sit at local maxima of the smoothed Q̂ at least ``min_distance`` apart (20 px at 300), not
    within ``min_distance`` of the image border (skimage's default, which GG-CNN keeps), best first;
  - GG-CNN keeps peaks above an absolute 0.2; MLGSL's Q̂ is only defined up to scale, so we keep
    peaks above ``threshold_rel`` (0.2) times the map's maximum — the same cut for a map whose
    maximum is ≈ 1, as ImgMSE's is. A map with no such peak yields *no* grasp (GG-CNN too), and
    fewer than ``k`` peaks yield fewer than ``k`` grasps (no padding with weak pixels);
  - the predicted rectangle is ``Ŵ`` long and ``Ŵ / 2`` wide: GG-CNN's Jacquard convention
    (``detect_grasps`` sets ``width = length / 2``).

  Top-5 success means *any* of the (up to) five is successful (as in Jacquard's top-k).
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


def grasp_at(maps: dict[str, np.ndarray], row: int, col: int, *, width_scale_px: float,
             jaw_px: float | None = None) -> GraspRect:
    """The grasp the maps predict at pixel (row, col). ``maps`` has ``q, cos, sin, width``;
    ``width_scale_px`` converts the normalised width back to pixels; ``jaw_px=None`` draws the
    rectangle ``opening / 2`` wide (GG-CNN's Jacquard convention)."""
    angle = float(decode_angle(maps["cos"][row, col], maps["sin"][row, col]))
    opening = max(1.0, float(maps["width"][row, col]) * width_scale_px)
    return GraspRect(float(row), float(col), angle, opening, opening / 2 if jaw_px is None else jaw_px)


def _blur(a: np.ndarray, sigma: float) -> np.ndarray:
    a = a.astype(np.float32)
    return cv2.GaussianBlur(a, (0, 0), sigma, borderType=cv2.BORDER_REFLECT) if sigma > 0 else a


def smooth_quality(q: np.ndarray, sigma: float) -> np.ndarray:
    return _blur(q, sigma)


def smooth_maps(maps: dict[str, np.ndarray], sigma: float) -> dict[str, np.ndarray]:
    """GG-CNN's post-processing: Q̂ and the angle maps by ``sigma``, Ŵ by ``sigma / 2``."""
    return {"q": _blur(maps["q"], sigma), "cos": _blur(maps["cos"], sigma), "sin": _blur(maps["sin"], sigma),
            "width": _blur(maps["width"], sigma / 2)}


def top_pixels(q: np.ndarray, k: int, min_distance: int, threshold_rel: float = 0.2) -> list[tuple[int, int]]:
    """Up to ``k`` local maxima of ``q`` at least ``min_distance`` apart and away from the border by
    as much, above ``threshold_rel`` x the map's maximum, best first. A map whose maximum is not
    positive has no peak (a collapsed linear Q̂)."""
    from skimage.feature import peak_local_max

    top = float(np.max(q))
    if not np.isfinite(top) or top <= 0:
        return []
    d = max(1, min_distance)
    peaks = peak_local_max(q, min_distance=d, threshold_abs=threshold_rel * top, num_peaks=k, exclude_border=d)
    return [(int(r), int(c)) for r, c in peaks]


def top_grasps(maps: dict[str, np.ndarray], k: int, *, width_scale_px: float, jaw_px: float | None,
               min_distance: int, sigma: float, threshold_rel: float = 0.2) -> list[GraspRect]:
    sm = smooth_maps(maps, sigma)
    return [grasp_at(sm, r, c, width_scale_px=width_scale_px, jaw_px=jaw_px)
            for r, c in top_pixels(sm["q"], k, min_distance, threshold_rel)]


def sample_grasps(maps: dict[str, np.ndarray], n: int, rng: np.random.Generator, *, width_scale_px: float,
                  jaw_px: float | None = None) -> list[GraspRect]:
    """§III-B: draw ``n`` pixels from Categorical(Q̂ / ΣQ̂) (with replacement) and read Φ̂, Ŵ there."""
    q = np.clip(maps["q"].astype(np.float64), 0, None).ravel()
    if q.sum() <= 0:
        raise ValueError("the quality map is zero everywhere: nothing to sample from")
    idx = rng.choice(q.size, size=n, p=q / q.sum())
    return [grasp_at(maps, *divmod(int(i), maps["q"].shape[1]), width_scale_px=width_scale_px, jaw_px=jaw_px)
            for i in idx]
