"""The labeled splits' before images with their instance masks (the COCO annotations of §IV-A's dataset)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..common.records import read_json


def labeled_images(dataset: Path, split: str, files: Sequence[str] | None = None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(file name, RGB, visible instance masks (K, H, W)) of a labeled split's before images, in the
    annotation file's order (or ``files``' order)."""
    from ..formats.coco import decode
    from ..formats.grasp_pairs import read_png

    fn = Path(dataset) / split / "annotations.coco.json"
    coco = read_json(fn, stage="graspseg_grasp_data", kind=f"COCO annotations of the {split} split",
                     required=("images", "annotations"))
    anns: dict[int, list] = {}
    for a in coco["annotations"]:
        anns.setdefault(a["image_id"], []).append(a)
    by_file = {im["file_name"]: im for im in coco["images"]}
    order = list(files) if files is not None else [im["file_name"] for im in coco["images"]]
    out = []
    for f in order:
        if f not in by_file:
            raise ValueError(f"{fn} has no image {f!r}")
        im = by_file[f]
        img = read_png(Path(dataset) / split / f, rgb=True)
        a = sorted(anns.get(im["id"], []), key=lambda a: a["id"])
        masks = np.stack([decode(x["segmentation"]) for x in a]) if a else np.zeros((0, *img.shape[:2]), bool)
        out.append((f, img, masks))
    return out
