"""A COCO-format instance dataset as tensors (images, per-instance masks and categories)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..formats import coco
from ..formats.grasp_pairs import read_png


class CocoInstances(Dataset):
    """Item: (image float (3, H, W) in [0, 1], masks uint8 (K, H, W), category ids (K,))."""

    def __init__(self, root: str | Path, annotations: str = "annotations.coco.json"):
        self.root = Path(root)
        self.api = coco.load(self.root / annotations)
        self.ids = [i for i in sorted(self.api.getImgIds()) if self.api.getAnnIds(imgIds=i)]
        if not self.ids:
            raise ValueError(f"{self.root / annotations} has no annotated images")

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int):
        info = self.api.loadImgs(self.ids[i])[0]
        img = torch.from_numpy(read_png(self.root / info["file_name"], rgb=True)).permute(2, 0, 1).float() / 255
        anns = self.api.loadAnns(self.api.getAnnIds(imgIds=info["id"]))
        masks = np.stack([self.api.annToMask(a) for a in anns])
        return img, torch.from_numpy(masks), torch.tensor([a["category_id"] for a in anns], dtype=torch.int64)
