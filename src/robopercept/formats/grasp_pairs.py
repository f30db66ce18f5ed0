"""The grasp-interaction dataset on disk (graspseg §IV-A).

One folder per grasp, in shards (the unit of generation and resumption)::

    <root>/dataset.json                  config, counts, camera, per-split shard list
    <root>/camera.json                   intrinsics K and extrinsics (OpenCV convention, metres)
    <root>/<split>/shard_00000/000003/
        before.png  after.png            RGB, uint8
        grasp_mask.png                   g: footprint of the active suction cups (0/255)
        depth_before.png depth_after.png uint16 millimetres (sensor depth, with noise)
        record.json                      success, cups, grasped object, neighbour motion, seed
        visible.png amodal.png           labeled splits only: masks of the grasped object (0/255)
        instances.png                    labeled splits only: uint16 instance ids of the before image
    <root>/<split>/annotations.coco.json labeled splits: COCO instances of every before image (RLE)

Splits: ``unlabeled`` and ``labeled_train`` use training objects, ``labeled_test`` test objects.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

SPLITS = ("unlabeled", "labeled_train", "labeled_test")
LABELED = ("labeled_train", "labeled_test")


def write_png(path: Path, img: np.ndarray) -> None:
    if img.dtype == bool:
        img = img.astype(np.uint8) * 255
    if img.ndim == 3:
        img = img[..., ::-1]  # RGB -> BGR for OpenCV
    if not cv2.imwrite(str(path), img, [cv2.IMWRITE_PNG_COMPRESSION, 3]):
        raise OSError(f"could not write {path}")


def read_png(path: Path, *, rgb: bool = False, mask: bool = False) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise FileNotFoundError(f"missing or unreadable image {path}")
    if rgb:
        return img[..., ::-1].copy()
    if mask:
        return img > 127
    return img


def depth_to_png(depth_m: np.ndarray) -> np.ndarray:
    return np.clip(np.round(depth_m * 1000), 0, 65535).astype(np.uint16)


@dataclasses.dataclass
class GraspSample:
    """One grasp as read back from disk."""

    folder: Path
    before: np.ndarray
    after: np.ndarray
    grasp_mask: np.ndarray
    depth_before: np.ndarray  # metres
    depth_after: np.ndarray
    record: dict
    visible: np.ndarray | None = None
    amodal: np.ndarray | None = None


def read_sample(folder: Path, labels: bool = True) -> GraspSample:
    folder = Path(folder)
    rec_fn = folder / "record.json"
    if not rec_fn.exists():
        raise FileNotFoundError(f"grasp folder {folder} has no record.json")
    try:
        record = json.loads(rec_fn.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"corrupt grasp record {rec_fn}: {e}") from None
    s = GraspSample(
        folder=folder,
        before=read_png(folder / "before.png", rgb=True),
        after=read_png(folder / "after.png", rgb=True),
        grasp_mask=read_png(folder / "grasp_mask.png", mask=True),
        depth_before=read_png(folder / "depth_before.png").astype(np.float32) / 1000,
        depth_after=read_png(folder / "depth_after.png").astype(np.float32) / 1000,
        record=record,
    )
    if labels and (folder / "visible.png").exists():
        s.visible = read_png(folder / "visible.png", mask=True)
        s.amodal = read_png(folder / "amodal.png", mask=True)
    return s


def iter_grasp_folders(root: Path, split: str) -> Iterator[Path]:
    """Grasp folders of a split in order (complete shards only)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    d = Path(root) / split
    if not d.is_dir():
        raise FileNotFoundError(f"dataset split folder {d} does not exist")
    for shard in sorted(d.glob("shard_*")):
        if shard.name.endswith(".tmp") or not (shard / "shard.json").exists():
            continue
        yield from sorted(p for p in shard.iterdir() if p.is_dir())
