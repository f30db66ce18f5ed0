"""Grasp-segmentation training data (§III-A): ``(i_b, i_a, g) -> (m_v, m_a)`` with augmentations.

Samples come from a labeled split of the grasp-interaction dataset (``formats.grasp_pairs``) and are
held in memory as uint8 (a few hundred grasps at the cpu profile).

**Augmentations.** The paper specifies only their kinds — "random crops, resizes, blurs, and color
adjustments" (§III-A) — not their ranges or probabilities. Our choices, with torchvision
``transforms.v2``:

* crops and resizes: a random resized crop (scale 0.5–1, aspect within ±25 % of the image's) back
  to the input size; horizontal and vertical flips are *our addition*; all applied *jointly* to
  both images and all masks (one call, one set of parameters);
* colour adjustments: one colour jitter (brightness/contrast/saturation 0.3, hue 0.03) applied
  jointly to both images, then a milder jitter (0.1) to the after image alone — our choice, since
  the lighting may change between the two images in the data;
* blurs: a Gaussian blur (kernel 5, σ 0.1–1.5), jointly, with probability 0.3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2

from ..formats.grasp_pairs import read_sample


class GraspSegDataset(Dataset):
    """Labeled grasps as tensors: before/after float (3, H, W) in [0, 1], g/visible/amodal (1, H, W)."""

    def __init__(self, folders: Sequence[Path], augment: bool = False):
        if not folders:
            raise ValueError("a grasp segmentation dataset needs at least one labeled grasp")
        self.folders = [Path(f) for f in folders]
        self.augment = augment
        self.items = []
        for f in self.folders:
            s = read_sample(f)
            if s.visible is None:
                raise ValueError(f"{f} has no visible/amodal labels (is it from a labeled split?)")
            self.items.append((s.before, s.after, s.grasp_mask, s.visible, s.amodal))
        h, w = self.items[0][0].shape[:2]
        self.size = (h, w)
        self.geometry = v2.Compose([
            v2.RandomResizedCrop((h, w), scale=(0.5, 1.0), ratio=(0.8 * w / h, 1.25 * w / h), antialias=True),
            v2.RandomHorizontalFlip(), v2.RandomVerticalFlip(),
        ])
        self.colour = v2.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.03)
        self.after_only = v2.ColorJitter(brightness=0.1, contrast=0.1)
        self.blur = v2.RandomApply([v2.GaussianBlur(5, sigma=(0.1, 1.5))], p=0.3)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        b, a, g, vis, amo = self.items[i]
        img = lambda x: tv_tensors.Image(torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1))  # noqa: E731
        msk = lambda x: tv_tensors.Mask(torch.from_numpy(x[None].astype(np.uint8)))  # noqa: E731
        b, a, g, vis, amo = img(b), img(a), msk(g), msk(vis), msk(amo)
        if self.augment:
            b, a, g, vis, amo = self.geometry(b, a, g, vis, amo)
            b, a = self.colour(b, a)
            a = self.after_only(a)
            b, a = self.blur(b, a)
        return {"before": b.float() / 255, "after": a.float() / 255, "grasp_mask": g.float(),
                "visible": vis.float(), "amodal": amo.float()}


def collate(batch: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {k: torch.stack([b[k] for b in batch]) for k in batch[0]}
