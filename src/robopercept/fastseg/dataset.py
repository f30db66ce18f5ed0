"""Training and validation frames in memory, with their superpixels and grid targets (§IV-A).

A sample is the frame's image in [0, 1], its superpixel index at the decoder output stride ``k`` (grid SLIC on the
image the network sees — after a flip, on the flipped image; None at k = 1) and the grid targets of
:func:`.targets.grid_targets` (the centre loss's blobs of radius ``centre_radius_px``). Frames are read once through :class:`~robopercept.formats.cityscapes.CityscapesSet`,
which validates the folder first.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from ..formats.cityscapes import CityscapesSet, Frame
from .superpixels import grid_slic
from .targets import GridTargets, grid_targets


@dataclasses.dataclass(frozen=True)
class Sample:
    image: torch.Tensor  # (3, H, W) float in [0, 1]
    index: np.ndarray | None  # (H, W) superpixel -> grid element, None at k = 1
    targets: GridTargets
    frame: Frame


class FrameSet:
    def __init__(self, root: str | Path, split: str, *, size: tuple[int, int] | None = None, n: int = 0,
                 compactness: float = 10.0, resize: tuple[int, int] | None = None, centre_radius_px: float = 0.0):
        if not centre_radius_px >= 0:
            raise ValueError(f"FrameSet: centre_radius_px must be >= 0, got {centre_radius_px}")
        self.set = CityscapesSet(root, split, size=size, resize=resize)
        count = len(self.set) if n <= 0 else min(n, len(self.set))
        self.frames = [self.set.frame(i) for i in range(count)]
        self.compactness = compactness
        self.centre_radius_px = float(centre_radius_px)

    def __len__(self) -> int:
        return len(self.frames)

    def sample(self, i: int, k: int, flip: bool = False) -> Sample:
        f = self.frames[i]
        rgb, labels, inst = f.rgb, f.labels, f.instances
        if flip:
            rgb, labels, inst = rgb[:, ::-1], labels[:, ::-1], inst[:, ::-1]
        rgb = np.ascontiguousarray(rgb)
        index = grid_slic(rgb, k, self.compactness).numpy() if k > 1 else None
        t = grid_targets(np.ascontiguousarray(labels), np.ascontiguousarray(inst), index, k, self.centre_radius_px)
        image = torch.from_numpy(rgb).permute(2, 0, 1).float() / 255
        return Sample(image, index, t, f)

    def class_counts(self, k: int, num_classes: int = 9) -> np.ndarray:
        """Target elements per class over the set at stride ``k`` (eq. (2)'s frequencies)."""
        counts = np.zeros(num_classes, np.int64)
        for i in range(len(self)):
            counts += np.bincount(self.sample(i, k).targets.semantic.ravel(), minlength=num_classes)
        return counts
