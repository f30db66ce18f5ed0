"""mlgsl §III-D: the collision-free cluttered dataset, composed from single-object samples.

"A few images are randomly selected from the single object dataset and fused into a cluttered
sample. Before fusing, each single object image is segmented, rotated, zoomed, and translated in
the image plane. Success grasp labels are then merged and pruned according to collision
constraints." Here:

* each source sample is segmented with its mask and turned into a height map above the table
  (table depth − depth); it is rotated, zoomed and moved to a random spot;
* the scene keeps, per pixel, the highest surface (a later object lying on an earlier one covers
  it) and the index of the object there (``instances``, 0 = table); depth = table depth − height,
  the stereo depth is re-simulated from it (:func:`robopercept.mlgsl.jacquard_sim.stereo_depth`);
* each object's labels move with it and are **kept only if** their centre is still on that object
  and neither jaw footprint (the finger's thickness × the jaw width, just outside the opening)
  covers a pixel of another object: :func:`jaw_collision`.

The same :func:`jaw_collision` measures the collision-free ratio of predicted grasps (§IV-C.5).
"""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np

from ..formats.jacquard import GraspRect, JacquardSample
from .jacquard_sim import stereo_depth


@dataclasses.dataclass(frozen=True)
class ClutterSpec:
    min_objects: int = 2
    max_objects: int = 4
    zoom: float = 0.15  # scale uniform in [1 - zoom, 1 + zoom]
    margin: float = 0.2  # object centres at least this fraction of the side from the border
    finger_px: float = 4.0  # finger thickness in stored pixels
    stereo_noise_std_m: float = 0.002
    stereo_edge_m: float = 0.01
    stereo_holes: int = 3


def jaw_footprints(g: GraspRect, finger_px: float) -> list[np.ndarray]:
    """The two jaw rectangles (4 x 2 corners, (col, row)) just outside the grasp's opening."""
    d = np.array([math.cos(g.angle), -math.sin(g.angle)])
    n = np.array([-d[1], d[0]])
    out = []
    for sign in (1, -1):
        c = np.array([g.col, g.row]) + sign * d * (g.opening / 2 + finger_px / 2)
        a, b = d * finger_px / 2, n * g.jaw / 2
        out.append(np.array([c - a - b, c + a - b, c + a + b, c - a + b]))
    return out


def jaw_collision(g: GraspRect, instances: np.ndarray, finger_px: float) -> bool:
    """True if a jaw footprint covers a pixel of an object other than the one under the centre."""
    h, w = instances.shape
    r, c = int(round(g.row)), int(round(g.col))
    target = int(instances[r, c]) if (0 <= r < h and 0 <= c < w) else 0
    mask = np.zeros((h, w), np.uint8)
    for poly in jaw_footprints(g, finger_px):
        cv2.fillConvexPoly(mask, np.round(poly).astype(np.int32), 1)
    under = instances[mask.astype(bool)]
    return bool(np.any((under != 0) & (under != target)))


def _affine(size: int, src_center: np.ndarray, dst_center: np.ndarray, rot: float, scale: float) -> np.ndarray:
    M = cv2.getRotationMatrix2D((float(src_center[0]), float(src_center[1])), math.degrees(rot), scale)
    M[:, 2] += dst_center - src_center
    return M


def compose(sources: list[JacquardSample], rng: np.random.Generator, spec: ClutterSpec,
            sample_id: str) -> tuple[JacquardSample, dict]:
    """Fuse ``sources`` into one cluttered sample; return it and pruning statistics."""
    size = sources[0].mask.shape[0]
    table = float(np.median(sources[0].perfect_depth[~sources[0].mask]))
    height = np.zeros((size, size), np.float32)
    inst = np.zeros((size, size), np.uint8)
    rgb = np.zeros((size, size, 3), np.float32)
    rgb[:] = np.median(sources[0].rgb[~sources[0].mask], axis=0)
    moved: list[list[GraspRect]] = []
    lo, hi = spec.margin * size, (1 - spec.margin) * size
    for k, s in enumerate(sources, start=1):
        ys, xs = np.nonzero(s.mask)
        src_c = np.array([xs.mean(), ys.mean()])
        dst_c = rng.uniform(lo, hi, size=2)
        rot = float(rng.uniform(-math.pi, math.pi))
        sc = float(rng.uniform(1 - spec.zoom, 1 + spec.zoom))
        M = _affine(size, src_c, dst_c, rot, sc)
        h_src = np.where(s.mask, table - s.perfect_depth, 0).astype(np.float32)
        h_w = cv2.warpAffine(h_src, M, (size, size), flags=cv2.INTER_NEAREST)
        m_w = cv2.warpAffine(s.mask.astype(np.uint8), M, (size, size), flags=cv2.INTER_NEAREST).astype(bool)
        rgb_w = cv2.warpAffine(s.rgb.astype(np.float32), M, (size, size), flags=cv2.INTER_LINEAR)
        top = m_w & (h_w >= height)
        height[top] = h_w[top]
        inst[top] = k
        rgb[top] = rgb_w[top]
        gs = []
        for g in s.grasps:
            c, r = M @ np.array([g.col, g.row, 1.0])
            gs.append(GraspRect(float(r), float(c), g.angle + rot, g.opening * sc, g.jaw * sc))
        moved.append(gs)
    kept: list[GraspRect] = []
    stats = {"labels_in": sum(len(g) for g in moved), "occluded": 0, "collision": 0, "outside": 0}
    for k, gs in enumerate(moved, start=1):
        for g in gs:
            r, c = int(round(g.row)), int(round(g.col))
            if not (0 <= r < size and 0 <= c < size):
                stats["outside"] += 1
            elif inst[r, c] != k:
                stats["occluded"] += 1
            elif jaw_collision(g, inst, spec.finger_px):
                stats["collision"] += 1
            else:
                kept.append(g)
    stats["labels_kept"] = len(kept)
    perfect = (table - height).astype(np.float32)
    stereo = stereo_depth(perfect, rng, noise_std_m=spec.stereo_noise_std_m, edge_m=spec.stereo_edge_m,
                          holes=spec.stereo_holes)
    scene = {"composed_from": [s.id for s in sources]}
    sample = JacquardSample(sample_id, np.clip(rgb, 0, 255).astype(np.uint8), perfect, stereo, inst > 0, kept,
                            scene, inst)
    return sample, stats


def compose_dataset(jacquard_root, out_dir, n_train: int, n_test: int, spec: ClutterSpec, seed: int) -> dict:
    """Write ``n_train`` / ``n_test`` composed samples (from the train / test splits of
    ``jacquard_root``) to ``out_dir/<split>/`` in Jacquard format; return pruning statistics."""
    import json
    import shutil
    from collections import Counter
    from pathlib import Path

    from ..formats import jacquard
    from ..seed import derive_seed

    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    summary: dict = {"seed": seed, "spec": dataclasses.asdict(spec), "splits": {}}
    for split, n in (("train", n_train), ("test", n_test)):
        sources = jacquard.list_samples(Path(jacquard_root) / split)
        if len(sources) < spec.max_objects:
            raise ValueError(f"{Path(jacquard_root) / split}: {len(sources)} samples, fewer than "
                             f"max_objects={spec.max_objects}")
        rng = np.random.default_rng(derive_seed(seed, "mlgsl_clutter", split))
        cache: dict = {}
        totals: Counter = Counter()
        objects = []
        for i in range(n):
            k = int(rng.integers(spec.min_objects, spec.max_objects + 1))
            picks = rng.choice(len(sources), size=k, replace=False)
            srcs = []
            for j in picks:
                if j not in cache:
                    cache[j] = jacquard.read_sample(*sources[j])
                srcs.append(cache[j])
            sample, stats = compose(srcs, rng, spec, f"{i:06d}_clutter")
            totals.update(stats)
            objects.append(k)
            jacquard.write_sample(out_dir / split, sample)
        summary["splits"][split] = {"samples": n, "mean_objects": float(np.mean(objects)), **dict(totals)}
    (out_dir / "dataset.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return summary
