"""mlgsl §III-D / §IV-C.2: Jacquard samples as training tensors.

* depth in, as in the paper (single-view depth images): the ``stereo`` depth by default, its holes
  filled with OpenCV's inpainting (as the paper does for its real camera, §V), resized to the
  model's ``image_size`` (paper: 300 x 300), centred on its median and scaled by
  :data:`DEPTH_SCALE` (metres -> decimetres: object heights of a few cm become O(0.1-1));
* labels scaled to the resized image; ``labels_per_image`` keeps a fixed random subset of each
  image's labels (§IV-C.2: "success grasp labels are downsampled to [2, 4]"; the subset is drawn
  once per image, not per epoch — a sparse dataset, not dropout), validation always keeps all;
* augmentation (§III-D: "random rotation and zoom"): a rotation uniform in [-180°, 180°) and a zoom
  in ``[1 - zoom, 1 + zoom]`` about the image centre, applied to the depth and the labels alike.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import cv2
import numpy as np
import torch

from ..formats import jacquard
from ..formats.jacquard import GraspRect
from .loss import imgmse_targets
from .model import WIDTH_SCALE

DEPTH_SCALE = 10.0


def prepare_depth(depth: np.ndarray, size: int) -> np.ndarray:
    """Inpaint holes (0), resize to ``size`` x ``size``, centre on the median, scale to decimetres."""
    d = depth.astype(np.float32)
    holes = (d <= 0) | ~np.isfinite(d)
    if holes.all():
        raise ValueError("depth image has no valid pixel")
    if holes.any():
        d = np.where(holes, 0, d)
        lo, hi = float(d[~holes].min()), float(d[~holes].max())
        scale = (hi - lo) or 1.0
        d8 = ((d - lo) / scale).astype(np.float32)
        d = cv2.inpaint(d8, holes.astype(np.uint8), 3, cv2.INPAINT_NS) * scale + lo
    if d.shape != (size, size):
        d = cv2.resize(d, (size, size), interpolation=cv2.INTER_AREA)
    return ((d - np.median(d)) * DEPTH_SCALE).astype(np.float32)


@dataclasses.dataclass
class Item:
    sample_id: str
    depth: np.ndarray  # size x size, prepared
    grasps: list[GraspRect]  # in model pixels
    all_grasps: list[GraspRect]
    scale: float  # model pixels per stored pixel
    instances: np.ndarray | None  # size x size (nearest), composed clutter only


def load_items(root: str | Path, split: str, size: int, *, depth: str = "stereo", limit: int | None = None,
               labels_per_image: int | None = None, seed: int = 0) -> list[Item]:
    """Read ``root/split`` (a Jacquard tree) into prepared items. ``limit`` keeps the first samples
    (sorted ids), ``labels_per_image`` the sparse subset."""
    if depth not in ("stereo", "perfect"):
        raise ValueError(f"depth must be 'stereo' or 'perfect', got {depth!r}")
    samples = jacquard.list_samples(Path(root) / split)
    if not samples:
        raise FileNotFoundError(f"{Path(root) / split}: no Jacquard samples (*_grasps.txt)")
    if limit is not None:
        if limit > len(samples):
            raise ValueError(f"{Path(root) / split}: asked for {limit} samples, only {len(samples)} exist")
        samples = samples[:limit]
    rng = np.random.default_rng(seed)
    items = []
    for folder, sid in samples:
        s = jacquard.read_sample(folder, sid, depth_only=True)
        src = s.stereo_depth if depth == "stereo" else s.perfect_depth
        scale = size / src.shape[0]
        grasps = [g.scaled(scale) for g in s.grasps]
        kept = grasps
        if labels_per_image is not None and len(grasps) > labels_per_image:
            idx = np.sort(rng.choice(len(grasps), labels_per_image, replace=False))
            kept = [grasps[i] for i in idx]
        inst = None
        if s.instances is not None:
            inst = cv2.resize(s.instances, (size, size), interpolation=cv2.INTER_NEAREST)
        items.append(Item(sid, prepare_depth(src, size), kept, grasps, scale, inst))
    return items


def augment(depth: np.ndarray, grasps: list[GraspRect], rng: np.random.Generator,
            zoom: float) -> tuple[np.ndarray, list[GraspRect]]:
    """Rotate by a uniform angle and zoom about the centre; labels follow (centres leaving the image
    are dropped)."""
    h, w = depth.shape
    rot = float(rng.uniform(-math.pi, math.pi))
    s = float(rng.uniform(1 - zoom, 1 + zoom))
    # OpenCV's angle is counter-clockwise on screen, like our grasp angles; its pixel centres are
    # at integer coordinates, like ours, so label centres transform with M as they are
    M = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), math.degrees(rot), s)
    out = cv2.warpAffine(depth, M, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    moved = []
    for g in grasps:
        c, r = M @ np.array([g.col, g.row, 1.0])
        if 0 <= r < h and 0 <= c < w:
            moved.append(GraspRect(float(r), float(c), g.angle + rot, g.opening * s, g.jaw * s))
    return out, moved


class GraspDataset(torch.utils.data.Dataset):
    """Items -> (depth 1xHxW, labels) with optional augmentation; ``epoch_seed`` makes the
    augmentation of each epoch reproducible."""

    def __init__(self, items: list[Item], *, augment_zoom: float | None = None, seed: int = 0):
        if not items:
            raise ValueError("empty dataset")
        self.items = items
        self.zoom = augment_zoom
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        it = self.items[i]
        depth, grasps = it.depth, it.grasps
        if self.zoom is not None:
            rng = np.random.default_rng([self.seed, self.epoch, i])
            depth, grasps = augment(depth, grasps, rng, self.zoom)
        return depth, grasps


def collate(batch, with_maps: bool):
    """List of (depth, grasps) -> (B x 1 x H x W tensor, label dict of padded tensors)."""
    depths = torch.from_numpy(np.stack([d for d, _ in batch]))[:, None]
    b, _, h, w = depths.shape
    k = max(1, max(len(g) for _, g in batch))
    rows = torch.zeros(b, k, dtype=torch.long)
    cols = torch.zeros(b, k, dtype=torch.long)
    cos = torch.zeros(b, k)
    sin = torch.zeros(b, k)
    width = torch.zeros(b, k)
    valid = torch.zeros(b, k)
    norm = WIDTH_SCALE * w
    for i, (_, grasps) in enumerate(batch):
        for j, g in enumerate(grasps):
            rows[i, j] = min(h - 1, max(0, int(round(g.row))))
            cols[i, j] = min(w - 1, max(0, int(round(g.col))))
            cos[i, j] = math.cos(2 * g.angle)
            sin[i, j] = math.sin(2 * g.angle)
            width[i, j] = g.opening / norm
            valid[i, j] = 1.0
    labels = {"rows": rows, "cols": cols, "cos": cos, "sin": sin, "width": width, "valid": valid}
    if with_maps:
        labels["maps"] = torch.from_numpy(np.stack([imgmse_targets(g, (h, w), norm) for _, g in batch]))
    return depths, labels
