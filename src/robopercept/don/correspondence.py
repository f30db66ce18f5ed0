"""§III-B correspondence sampling: every pixel of image A mapped through its depth and the two camera poses into
image B, kept where it lands inside B and is not occluded there.

    "instead of sampling individual pixels directly and checking for their validity afterwards, we propose the
    following direct approach: map every pixel of I^A via their world-coordinate representation to the other view,
    then determine which p[ixels are valid ...]" (§III-B; the sentence is cut in our copy of the paper)

Conventions (those of the DON scene logs, :mod:`robopercept.formats.don_logs`): pixel (u, v) is column u, row v of
the image; the camera frame is OpenCV's (x right, y down, z forward); a pixel's ray is ``K⁻¹ [u, v, 1]`` (pixel
*indices*, as the reference code's ``K`` is written); poses are camera-to-world 4 x 4 matrices; depth is metric
(metres along the optical axis, 0 = no reading).

**Validity** of a correspondence: A's depth is a reading (> 0); the point projects inside B (rounded to the nearest
pixel); it lies in front of B's camera; and B's depth at that pixel agrees with the point's depth in B within
``depth_tolerance`` — otherwise something nearer hides it in B (occlusion) or B has no reading there. The
original DON code (``correspondence_finder.py`` at 76bf649) rejects only a point that B's depth sees more than 3 mm
*nearer* (an occluder) and keeps one B sees farther; our two-sided 5 mm test also drops those, which on steep
surfaces at our coarse pixels removes some true matches (fewer, never wrong, correspondences).
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Matches:
    uv_a: np.ndarray  # (N, 2) int64 pixel (u, v) in A
    uv_b: np.ndarray  # (N, 2) int64 pixel (u, v) in B

    def __len__(self) -> int:
        return len(self.uv_a)


def backproject(depth: np.ndarray, K: np.ndarray, T_wc: np.ndarray) -> np.ndarray:
    """World points (H, W, 3) of every pixel of a depth image (NaN where depth is 0)."""
    h, w = depth.shape
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    z = depth.astype(np.float64)
    x = (u - K[0, 2]) / K[0, 0] * z
    y = (v - K[1, 2]) / K[1, 1] * z
    cam = np.stack([x, y, z, np.ones_like(z)], -1)
    world = cam @ T_wc.T
    world[z <= 0] = np.nan
    return world[..., :3]


def project(points_w: np.ndarray, K: np.ndarray, T_wc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World points (..., 3) -> (pixel (u, v) floats (..., 2), depth in that camera (...))."""
    T_cw = np.linalg.inv(T_wc)
    cam = points_w @ T_cw[:3, :3].T + T_cw[:3, 3]
    z = cam[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = K[0, 0] * cam[..., 0] / z + K[0, 2]
        v = K[1, 1] * cam[..., 1] / z + K[1, 2]
    return np.stack([u, v], -1), z


def find_matches(depth_a: np.ndarray, T_a: np.ndarray, depth_b: np.ndarray, T_b: np.ndarray, K: np.ndarray, *,
                 depth_tolerance: float = 0.005, mask_a: np.ndarray | None = None) -> Matches:
    """Every valid correspondence from A to B (row-major order of A's pixels); ``mask_a`` restricts A's pixels
    (single-object sampling: the object's mask)."""
    h, w = depth_a.shape
    pts = backproject(depth_a, K, T_a)
    uv, z = project(pts, K, T_b)
    ub, vb = np.rint(uv[..., 0]), np.rint(uv[..., 1])
    ok = np.isfinite(ub) & np.isfinite(vb) & (z > 0) & (ub >= 0) & (ub < depth_b.shape[1]) & (vb >= 0) \
        & (vb < depth_b.shape[0])
    if mask_a is not None:
        ok &= np.asarray(mask_a, bool)
    ub_i, vb_i = np.where(ok, ub, 0).astype(np.int64), np.where(ok, vb, 0).astype(np.int64)
    seen = depth_b[vb_i, ub_i].astype(np.float64)
    ok &= (seen > 0) & (np.abs(seen - z) <= depth_tolerance)
    va, ua = np.nonzero(ok)
    return Matches(np.stack([ua, va], 1).astype(np.int64), np.stack([ub_i[ok], vb_i[ok]], 1))


def sample(matches: Matches, n: int, rng: np.random.Generator) -> Matches:
    """``n`` correspondences drawn uniformly (with replacement only when fewer exist); empty stays empty."""
    if len(matches) == 0 or n <= 0:
        return Matches(matches.uv_a[:0], matches.uv_b[:0])
    idx = rng.choice(len(matches), size=n, replace=len(matches) < n)
    return Matches(matches.uv_a[idx], matches.uv_b[idx])
