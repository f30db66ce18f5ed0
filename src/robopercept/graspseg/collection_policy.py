"""The data-collection policy: deliberately mediocre, as in graspseg §IV-A.

The paper's robot picks with "an instance segmentation model with decent performance"; the
suction gauge keeps only successful grasps, which is enough to bootstrap. Our stand-in for that
model is the true instance segmentation of the before image, *degraded*:

1. **Target**: one of the three most exposed objects (visible area x height above the floor),
   chosen at random — not always the best one.
2. **Mask errors**: with probability ``policy_mask_error_rate`` the bootstrap model under-segments:
   the target's mask is merged with its most-touching neighbour, so the grasp may land between
   two objects (a failure the gauge catches, or a double pick).
3. **Grasp point**: the mask pixel farthest from the mask's boundary (the usual suction heuristic),
   plus Gaussian noise of ``policy_point_noise_m``.
4. **Angle**: the mask's principal axis plus noise of ``policy_angle_noise_deg``.
5. **Active cups**: the cups whose centres fall inside the (possibly wrong) mask; the middle cup
   is always on.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..world.camera import BinCamera
from ..world.suction import Grasp

MIN_TARGET_PIXELS = 30


def choose_grasp(ids: np.ndarray, depth: np.ndarray, camera: BinCamera, rng: np.random.Generator, *,
                 spacing: float, point_noise_m: float, angle_noise_deg: float,
                 mask_error_rate: float) -> tuple[Grasp, int] | None:
    """A grasp and the instance the policy *believes* it targets (None if nothing is visible)."""
    # a fixed number of draws per call keeps the random stream independent of the branch taken
    u_err, u_pick, noise_xy, noise_a = rng.random(), rng.random(), rng.normal(size=2), rng.normal()
    insts, counts = np.unique(ids[ids > 0], return_counts=True)
    keep = counts >= MIN_TARGET_PIXELS
    insts, counts = insts[keep], counts[keep]
    if len(insts) == 0:
        return None
    height = np.array([camera.eye_height_m - float(np.median(depth[ids == i])) for i in insts])
    score = counts * (0.02 + np.maximum(height, 0))
    top = insts[np.argsort(-score, kind="stable")[:3]]
    target = int(top[min(int(u_pick * len(top)), len(top) - 1)])
    mask = ids == target
    if u_err < mask_error_rate:
        grown = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        touching, tc = np.unique(ids[grown & ~mask & (ids > 0)], return_counts=True)
        if len(touching):
            mask = mask | (ids == int(touching[tc.argmax()]))
    dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    v, u = np.unravel_index(int(dist.argmax()), dist.shape)
    # pixel -> world at the surface height
    z = camera.eye_height_m - float(depth[v, u])
    ppm = camera.pixels_per_meter(z)
    K = camera.K
    x = (u + 0.5 - K[0, 2]) / ppm + point_noise_m * noise_xy[0]
    y = -(v + 0.5 - K[1, 2]) / ppm + point_noise_m * noise_xy[1]
    vv, uu = np.nonzero(mask)
    cov = np.cov(np.stack([uu, -vv]).astype(float)) if len(uu) > 2 else np.eye(2)
    evals, evecs = np.linalg.eigh(cov)
    major = evecs[:, -1]
    angle = math.atan2(major[1], major[0]) + math.radians(angle_noise_deg) * noise_a
    g = Grasp(x, y, angle, (True,) * 5)
    active = [True]
    for cx, cy in g.cup_xy(spacing)[1:]:
        cu = cx * ppm + K[0, 2] - 0.5
        cv = -cy * ppm + K[1, 2] - 0.5
        ui, vi = int(round(cu)), int(round(cv))
        active.append(bool(0 <= vi < mask.shape[0] and 0 <= ui < mask.shape[1] and mask[vi, ui]))
    return Grasp(x, y, angle, tuple(active)), target
