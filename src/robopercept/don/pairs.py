"""Training and evaluation pairs from DON scene logs (§III, §IV-C, §IV-E.1).

* **Training pairs** (:func:`training_pair`): two frames of one scene (a generator seeded by (seed, step) picks the
  scene and the frames), the correspondences of every pixel of A into B (:mod:`.correspondence`; restricted to A's
  object mask for single-object training — the original DON's masked sampling), image A augmented with every
  correspondence pixel (:mod:`.augment`; B is not augmented, as the paper found best), then ``n`` correspondences
  drawn from those still in view (the paper's Fig. 3: augment, then sample), so an augmented pair trains on as many
  correspondences as a plain one. The pixelwise losses also need non-matches: for each match, ``n_non_matches`` pixels of B drawn uniformly
  on B's mask ("masked") and off it ("background"), half each (the reference code's default split), or anywhere in B
  for multi-object scenes without masks.
* **Evaluation pairs** (:func:`evaluation_pairs`): pairs of frames of the test scenes whose cameras differ by at least
  ``min_translation_m`` and ``min_angle_deg`` (the paper: 20 cm and π/12), and per pair up to ``queries`` pixels on
  one known object in A with their true match in B (§IV-E.1: "Per image pair 100 query points are randomly selected
  on the object in one of the images").
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from ..formats.don_logs import DonLogs, Scene
from .augment import augment
from .correspondence import find_matches


@dataclasses.dataclass
class Pair:
    image_a: torch.Tensor  # (3, H, W) in [0, 1], augmented
    image_b: torch.Tensor
    uv_a: np.ndarray  # (N, 2) correspondences in A (after augmentation) and B
    uv_b: np.ndarray
    non_masked: np.ndarray | None = None  # (N, K, 2) non-match pixels in B on the mask, or None
    non_background: np.ndarray | None = None  # (N, K, 2) off the mask (or anywhere when B has no mask)
    frames: tuple[int, int] = (0, 0)  # the frame indices of A and B


def _image(scene: Scene, i: int) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(scene.rgb(i))).permute(2, 0, 1).float() / 255


def training_pair(scene: Scene, rng: np.random.Generator, *, n: int, augmentations: tuple[str, ...] = (),
                  masked_sampling: bool = False, n_non_matches: int = 0, depth_tolerance: float = 0.005,
                  tries: int = 10, unique: bool = False) -> Pair | None:
    """One pair of ``scene`` with ``n`` correspondences (None if no frame pair of ``tries`` overlaps). ``unique``:
    draw without replacement (at most every match once) and keep one match per pixel of A and per pixel of B
    (augmentation can send two pixels of A onto one; two pixels of A can see one pixel of B) — NT-Xent needs it, as a
    repeated pixel would be its own negative in eq. (1)."""
    idx = scene.indices
    for _ in range(tries):
        a, b = (int(x) for x in rng.choice(idx, size=2, replace=False))
        mask_a = scene.mask(a) if masked_sampling else None
        m = find_matches(scene.depth(a), scene.pose(a), scene.depth(b), scene.pose(b), scene.K,
                         depth_tolerance=depth_tolerance, mask_a=mask_a)
        if len(m) >= max(1, n // 10):
            break
    else:
        return None
    uv_a, uv_b = m.uv_a, m.uv_b
    img_a = _image(scene, a)
    if augmentations:  # every match transformed with A, then drawn from the survivors (the paper's Fig. 3 order)
        img_a, uv_a, valid = augment(img_a, uv_a, augmentations, seed=int(rng.integers(2 ** 31)))
        uv_a, uv_b = uv_a[valid], uv_b[valid]
    if unique and len(uv_a):  # a pixel twice in A or twice in B would be its own negative in eq. (1)
        keep = np.zeros(len(uv_a), bool)
        keep[np.unique(uv_a[:, 1] * scene.width + uv_a[:, 0], return_index=True)[1]] = True
        in_b = np.zeros(len(uv_b), bool)
        in_b[np.unique(uv_b[:, 1] * scene.width + uv_b[:, 0], return_index=True)[1]] = True
        uv_a, uv_b = uv_a[keep & in_b], uv_b[keep & in_b]
    if len(uv_a):
        pick = rng.choice(len(uv_a), size=min(n, len(uv_a)) if unique else n, replace=not unique and len(uv_a) < n)
        uv_a, uv_b = uv_a[pick], uv_b[pick]
    pair = Pair(img_a, _image(scene, b), uv_a, uv_b, frames=(a, b))
    if n_non_matches:
        h, w = scene.height, scene.width
        if scene.has_masks():
            mb = scene.mask(b)
            on, off = np.argwhere(mb)[:, ::-1], np.argwhere(~mb)[:, ::-1]
        else:
            on, off = np.zeros((0, 2), np.int64), np.argwhere(np.ones((h, w), bool))[:, ::-1]
        k_on = n_non_matches // 2 if len(on) else 0
        k_off = n_non_matches - k_on
        draw = lambda pts, k: pts[rng.integers(0, len(pts), (len(uv_a), k))] if k else None  # noqa: E731
        pair.non_masked, pair.non_background = draw(on, k_on), draw(off, k_off)
    return pair


def rotation_deg(Ta: np.ndarray, Tb: np.ndarray) -> float:
    c = (np.trace(Ta[:3, :3].T @ Tb[:3, :3]) - 1) / 2
    return math.degrees(math.acos(float(np.clip(c, -1, 1))))


def evaluation_pairs(logs: DonLogs, scenes: list[str], *, pairs_per_object: int, queries: int,
                     min_translation_m: float = 0.2, min_angle_deg: float = 15.0, seed: int = 0,
                     depth_tolerance: float = 0.005) -> list[dict]:
    """Per known object, ``pairs_per_object`` frame pairs (of test scenes that contain it) with up to ``queries``
    query pixels on the object in A and their true matches in B. Deterministic under ``seed``."""
    rng = np.random.default_rng(seed)
    loaded = [logs.scene(s) for s in scenes]
    objects = sorted({k for s in loaded for k in s.objects})
    out = []
    for obj in objects:
        have = [s for s in loaded if obj in s.objects]
        tries = 0
        got = 0
        while got < pairs_per_object and tries < 50 * pairs_per_object:
            tries += 1
            s = have[int(rng.integers(len(have)))]
            a, b = (int(x) for x in rng.choice(s.indices, size=2, replace=False))
            Ta, Tb = s.pose(a), s.pose(b)
            if np.linalg.norm(Ta[:3, 3] - Tb[:3, 3]) < min_translation_m or rotation_deg(Ta, Tb) < min_angle_deg:
                continue
            m = find_matches(s.depth(a), Ta, s.depth(b), Tb, s.K, depth_tolerance=depth_tolerance,
                             mask_a=s.instances(a) == obj)
            if len(m) == 0:
                continue
            pick = rng.choice(len(m), size=min(queries, len(m)), replace=False)
            out.append({"scene": s.name, "object": s.objects[obj], "a": a, "b": b, "uv_a": m.uv_a[pick],
                        "uv_b": m.uv_b[pick]})
            got += 1
    return out
