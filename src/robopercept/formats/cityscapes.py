"""Cityscapes on disk (Cordts et al., CVPR 2016): ``leftImg8bit/`` images and ``gtFine/`` label and instance maps.

The layout and id conventions are those ``cityscapesscripts`` (the official scripts) read, so its evaluators run on
a folder written here unchanged, and :class:`CityscapesSet` loads a real Cityscapes download::

    <root>/leftImg8bit/<split>/<city>/<city>_<seq:06d>_<frame:06d>_leftImg8bit.png      RGB, 8 bit
    <root>/gtFine/<split>/<city>/<city>_<seq:06d>_<frame:06d>_gtFine_labelIds.png       label id per pixel, 8 bit
    <root>/gtFine/<split>/<city>/<city>_<seq:06d>_<frame:06d>_gtFine_instanceIds.png    16 bit: for classes with
        instances ``label_id * 1000 + k`` (k = 0, 1, ... per instance), otherwise the label id itself

Label ids are Cityscapes' own (``cityscapesscripts.helpers.labels``): e.g. road 7, building 11, sky 23, and the
eight classes with instances person 24, rider 25, car 26, truck 27, bus 28, train 31, motorcycle 32, bicycle 33.
We do not write ``*_gtFine_polygons.json`` or ``*_gtFine_color.png``: neither the instance nor the pixel-level
evaluator reads them (they rasterise nothing; the id maps are the ground truth), and the reader does not need them.

The reader checks a split before anything trains on it: every image has both maps, every PNG decodes (a truncated
file is named), the maps have the image's size, and every id is a Cityscapes label (instance ids only for classes
that have instances) — each failure a :class:`CityscapesFormatError` naming the file and the problem.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

# the eight Cityscapes classes with instance annotations, in the evaluator's order
INSTANCE_CLASSES = ("person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle")
_NAME = re.compile(r"^(?P<city>[a-z_]+)_(?P<seq>\d{6})_(?P<frame>\d{6})_leftImg8bit\.png$")


class CityscapesFormatError(ValueError):
    """A Cityscapes folder that cannot be read as one: the message names the file and what is wrong."""


def _labels():
    from cityscapesscripts.helpers.labels import labels

    return labels


def label_ids() -> dict[str, int]:
    """Cityscapes class name -> label id (the ids of the official table, license plate excluded)."""
    return {lab.name: lab.id for lab in _labels() if lab.id >= 0}


def instance_label_ids() -> dict[str, int]:
    """The eight evaluated instance classes -> label id."""
    ids = label_ids()
    return {n: ids[n] for n in INSTANCE_CLASSES}


def stem(city: str, seq: int, frame: int) -> str:
    if not re.fullmatch(r"[a-z_]+", city):
        raise ValueError(f"city names are lower-case letters and underscores, got {city!r}")
    return f"{city}_{seq:06d}_{frame:06d}"


def paths_of(root: str | Path, split: str, name: str) -> dict[str, Path]:
    """The three files of one frame (``name``: ``<city>_<seq>_<frame>``)."""
    city = name.rsplit("_", 2)[0]
    root = Path(root)
    return {"image": root / "leftImg8bit" / split / city / f"{name}_leftImg8bit.png",
            "labels": root / "gtFine" / split / city / f"{name}_gtFine_labelIds.png",
            "instances": root / "gtFine" / split / city / f"{name}_gtFine_instanceIds.png"}


def write_frame(root: str | Path, split: str, name: str, rgb: np.ndarray, label_map: np.ndarray,
                instance_map: np.ndarray) -> dict[str, Path]:
    """Write one frame: ``rgb`` (H, W, 3) uint8, ``label_map`` (H, W) label ids, ``instance_map`` (H, W) with
    ``label_id * 1000 + k`` on instance pixels and the label id elsewhere."""
    p = paths_of(root, split, name)
    h, w = label_map.shape
    if rgb.shape != (h, w, 3) or instance_map.shape != (h, w):
        raise ValueError(f"{name}: image {rgb.shape}, labels {label_map.shape} and instances {instance_map.shape} "
                         "must have one size")
    check_ids(label_map, instance_map, str(p["labels"]))
    for f in p.values():
        f.parent.mkdir(parents=True, exist_ok=True)
    _write(p["image"], np.ascontiguousarray(rgb[..., ::-1]))
    _write(p["labels"], label_map.astype(np.uint8))
    _write(p["instances"], instance_map.astype(np.uint16))
    return p


def _write(path: Path, img: np.ndarray) -> None:
    if not cv2.imwrite(str(path), img, [cv2.IMWRITE_PNG_COMPRESSION, 3]):
        raise OSError(f"could not write {path}")


def check_ids(label_map: np.ndarray, instance_map: np.ndarray, where: str) -> None:
    """Raise if a label id is not Cityscapes', or the instance map disagrees with the label map."""
    known = set(label_ids().values())
    with_instances = {lab.id for lab in _labels() if lab.hasInstances}
    bad = sorted(set(np.unique(label_map).tolist()) - known)
    if bad:
        raise CityscapesFormatError(f"{where}: unknown Cityscapes label id(s) {bad[:5]}")
    inst = instance_map.astype(np.int64)
    big = inst >= 1000
    if big.any():
        cls = np.unique(inst[big] // 1000).tolist()
        wrong = [c for c in cls if c not in with_instances]
        if wrong:
            raise CityscapesFormatError(f"{where}: instance ids of class(es) {wrong[:5]} without instances")
        if (inst[big] // 1000 != label_map[big]).any():
            raise CityscapesFormatError(f"{where}: instance ids disagree with the label map")
    if (inst[~big] != label_map[~big]).any():
        raise CityscapesFormatError(f"{where}: instanceIds must equal labelIds on pixels without an instance")


def _read(path: Path, flags: int, what: str) -> np.ndarray:
    if not path.exists():
        raise CityscapesFormatError(f"{path}: missing {what}")
    img = cv2.imread(str(path), flags)
    if img is None:
        raise CityscapesFormatError(f"{path}: {what} does not decode (truncated or not a PNG)")
    return img


@dataclasses.dataclass(frozen=True)
class Frame:
    name: str
    rgb: np.ndarray  # (H, W, 3) uint8
    labels: np.ndarray  # (H, W) label ids
    instances: np.ndarray  # (H, W) instance ids (label_id * 1000 + k, or the label id)

    def instance_masks(self) -> tuple[np.ndarray, np.ndarray]:
        """(masks (n, H, W) bool, label ids (n,)) of the instances of the evaluated classes."""
        ids = [int(i) for i in np.unique(self.instances) if i >= 1000 and i // 1000 in instance_label_ids().values()]
        if not ids:
            return np.zeros((0, *self.labels.shape), bool), np.zeros(0, np.int64)
        return np.stack([self.instances == i for i in ids]), np.array([i // 1000 for i in ids])


class CityscapesSet:
    """One split of a Cityscapes folder (ours or the real dataset); :meth:`check` validates every file."""

    def __init__(self, root: str | Path, split: str, *, size: tuple[int, int] | None = None,
                 resize: tuple[int, int] | None = None, check: bool = True):
        """``size``: the (height, width) every frame must have on disk; ``resize``: the (height, width) frames are
        returned at (image by area, id maps by nearest neighbour) — e.g. real Cityscapes' 2048 x 1024 read at the
        paper's 1024 x 512."""
        self.root, self.split, self.resize = Path(root), split, resize
        folder = self.root / "leftImg8bit" / split
        if not folder.is_dir():
            raise CityscapesFormatError(f"{folder}: missing (no leftImg8bit/{split} under {self.root})")
        files = sorted(folder.glob("*/*_leftImg8bit.png"))
        bad = [f.name for f in files if not _NAME.match(f.name)]
        if bad:
            raise CityscapesFormatError(f"{folder}: file names not of the form <city>_<seq>_<frame>_leftImg8bit.png: "
                                        f"{bad[:3]}")
        self.names = [f.name[: -len("_leftImg8bit.png")] for f in files]
        if not self.names:
            raise CityscapesFormatError(f"{folder}: no images (an empty split)")
        self.size = size
        if check:
            self.check()

    def __len__(self) -> int:
        return len(self.names)

    def paths(self, i: int) -> dict[str, Path]:
        return paths_of(self.root, self.split, self.names[i])

    def frame(self, i: int) -> Frame:
        p = self.paths(i)
        rgb = _read(p["image"], cv2.IMREAD_COLOR, "image")[..., ::-1].copy()
        labels = _read(p["labels"], cv2.IMREAD_UNCHANGED, "gtFine labelIds map")
        inst = _read(p["instances"], cv2.IMREAD_UNCHANGED, "gtFine instanceIds map")
        if labels.ndim != 2 or inst.ndim != 2:
            raise CityscapesFormatError(f"{p['labels'].parent}: {self.names[i]}: id maps must be single-channel")
        for key, m in (("labels", labels), ("instances", inst)):
            if m.shape != rgb.shape[:2]:
                raise CityscapesFormatError(f"{p[key]}: the map is {m.shape[1]}x{m.shape[0]}, its image "
                                            f"{rgb.shape[1]}x{rgb.shape[0]}")
        if self.size is not None and rgb.shape[:2] != tuple(self.size):
            raise CityscapesFormatError(f"{p['image']}: image is {rgb.shape[1]}x{rgb.shape[0]}, expected "
                                        f"{self.size[1]}x{self.size[0]}")
        if self.resize is not None and rgb.shape[:2] != tuple(self.resize):
            h, w = self.resize
            rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
            labels = cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST)
            inst = cv2.resize(inst, (w, h), interpolation=cv2.INTER_NEAREST)
        return Frame(self.names[i], rgb, labels.astype(np.int64), inst.astype(np.int64))

    def check(self) -> None:
        """Read every frame once; raise naming the first malformed file."""
        for i in range(len(self)):
            f = self.frame(i)
            check_ids(f.labels, f.instances, str(self.paths(i)["instances"]))

    def __iter__(self) -> Iterator[Frame]:
        for i in range(len(self)):
            yield self.frame(i)
