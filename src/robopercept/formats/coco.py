"""COCO instance annotations with RLE masks (the format of graspseg's labeled grasp images).

Written with ``pycocotools.mask.encode`` (column-major RLE, ``counts`` as a UTF-8 string) so any
COCO tool, pycocotools itself included, reads the file. Extra per-annotation keys that real COCO
files lack are allowed by the format and used here: ``object_id`` (catalog id) and
``amodal_segmentation`` (RLE of the full silhouette, as in amodal COCO variants).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils


def encode(mask: np.ndarray) -> dict[str, Any]:
    """Boolean H x W mask -> COCO RLE dict with a str ``counts``."""
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def decode(rle: dict[str, Any]) -> np.ndarray:
    r = dict(rle)
    if isinstance(r["counts"], str):
        r["counts"] = r["counts"].encode("ascii")
    return mask_utils.decode(r).astype(bool)


class CocoWriter:
    """Accumulate images and instance annotations; :meth:`write` dumps one JSON file."""

    def __init__(self, categories: list[str], description: str = ""):
        self.info = {"description": description, "version": "1.0"}
        self.categories = [{"id": i + 1, "name": n, "supercategory": "object"} for i, n in enumerate(categories)]
        self.images: list[dict] = []
        self.annotations: list[dict] = []

    def add_image(self, file_name: str, height: int, width: int, **extra) -> int:
        image_id = len(self.images) + 1
        self.images.append({"id": image_id, "file_name": file_name, "height": height, "width": width, **extra})
        return image_id

    def add_instance(self, image_id: int, category_id: int, mask: np.ndarray, *,
                     amodal: np.ndarray | None = None, **extra) -> int | None:
        """Add one instance; empty masks are skipped (COCO has no empty annotations)."""
        if not mask.any():
            return None
        if not 1 <= category_id <= len(self.categories):
            raise ValueError(f"unknown category id {category_id}")
        rle = encode(mask)
        ann = {
            "id": len(self.annotations) + 1, "image_id": image_id, "category_id": category_id,
            "segmentation": rle, "area": float(mask_utils.area(_bytes(rle))),
            "bbox": [float(v) for v in mask_utils.toBbox(_bytes(rle))], "iscrowd": 0, **extra,
        }
        if amodal is not None:
            ann["amodal_segmentation"] = encode(amodal)
        self.annotations.append(ann)
        return ann["id"]

    def merge(self, other: dict, file_prefix: str = "") -> None:
        """Append another COCO dict (from a shard), renumbering its image and annotation ids."""
        remap = {}
        for img in other["images"]:
            new = self.add_image(file_prefix + img["file_name"], img["height"], img["width"],
                                 **{k: v for k, v in img.items() if k not in ("id", "file_name", "height", "width")})
            remap[img["id"]] = new
        for ann in other["annotations"]:
            self.annotations.append({**ann, "id": len(self.annotations) + 1, "image_id": remap[ann["image_id"]]})

    def to_dict(self) -> dict:
        return {"info": self.info, "images": self.images, "annotations": self.annotations,
                "categories": self.categories}

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        # sorted keys: a resumed run (shards read back from disk) and a fresh one write the same bytes
        tmp.write_text(json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True), encoding="utf-8")
        tmp.replace(path)
        return path


def _bytes(rle: dict) -> dict:
    return {"size": rle["size"], "counts": rle["counts"].encode("ascii")}


def load(path: str | Path):
    """A ``pycocotools.coco.COCO`` for the file, with a clear error if it is missing or corrupt."""
    import contextlib
    import io

    from pycocotools.coco import COCO

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"COCO annotation file {path} does not exist")
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"COCO annotation file {path} is not valid JSON: {e}") from None
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))
