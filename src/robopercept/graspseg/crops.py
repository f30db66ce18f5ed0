"""§III-B.1: object crops on disk — the material of the cut-and-paste rows: their format, writer and readers.

    "we use the grasp segmentation model on unlabeled grasp image pairs to predict the mask of the
    grasped object. To collect a reliable set of unoccluded object crops, we apply a several filters on
    the prediction." (§III-B.1); "we use a suction gauge to keep only successful grasps" (§I)

Table II pastes from four sources (its "Paste From" column):

=================  ===========================================================================
``Grasp-100``        every non-empty visible mask (``m̂_v > 0.5``) Grasp-100 predicts on a successful
                     unlabeled grasp, unfiltered
``Grasp-100-Filter`` the same predictions, kept by the §III-B.1 filters (occlusion, entropy, contours)
``Subtract-Filter``  image subtraction (Table I's tuned parameters) kept by the contour filter
``Train Objects``    the labeled training images' own instances whose visible/amodal area ratio
                     exceeds ``t_occ`` (the occlusion criterion applied to ground truth)
=================  ===========================================================================

On disk, one folder per (method, seed)::

    <root>/<method>/index.json     provenance (model checkpoint md5, filter config, parameters) and one
                                   record per considered grasp: grasp folder, object, area, verdicts,
                                   ``kept`` (passes the filter), ``file`` (the crop, or null if empty),
                                   ``bbox`` [x, y, w, h] of the crop in the before image
    <root>/<method>/000123.png     the crop: RGBA, alpha = mask (the object's pixels of the *before*
                                   image, cut to the mask's bounding box)

A model's folder holds every non-empty prediction, so "Grasp-100" and "Grasp-100-Filter" are two
readings of one folder (:func:`load_crops` with ``filtered``).

This module is what Table II's training reads (and the Train Objects crops it cuts itself); collecting crops
with Table I's models, baselines and filters is :mod:`robopercept.graspseg.crop_collection` (stage graspseg_crops),
kept apart so that Table I's code stays outside Table II's training closure.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

from ..common.records import read_json
from .paste import Crop

INDEX = "index.json"


def write_crop(path: Path, crop: Crop) -> None:
    bgra = np.dstack([crop.rgb[..., ::-1], crop.mask.astype(np.uint8) * 255])
    if not cv2.imwrite(str(path), bgra, [cv2.IMWRITE_PNG_COMPRESSION, 3]):
        raise OSError(f"could not write crop {path}")


def read_crop(path: Path, source: str = "") -> Crop:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None or img.ndim != 3 or img.shape[2] != 4:
        raise ValueError(f"crop {path} is missing, unreadable or not an RGBA PNG (made by stage graspseg_crops)")
    return Crop(rgb=img[..., 2::-1].copy(), mask=img[..., 3] > 127, source=source or str(path))


class CropWriter:
    """Writes one method's crop folder atomically (``<folder>.tmp`` renamed on :meth:`close`)."""

    def __init__(self, folder: Path, dataset: Path, provenance: dict):
        self.folder, self.dataset = Path(folder), Path(dataset)
        self.tmp = self.folder.with_name(self.folder.name + ".tmp")
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir(parents=True)
        self.provenance, self.records = provenance, []

    def add(self, grasp: Path, obj: str, image: np.ndarray, mask: np.ndarray, verdicts: dict[str, bool],
            kept: bool) -> None:
        rec = {"grasp": str(Path(grasp).relative_to(self.dataset)), "object": obj, "area": int(mask.sum()),
               "kept": bool(kept), "verdicts": {k: bool(v) for k, v in verdicts.items()}, "file": None}
        rec["image_hw"] = [int(mask.shape[0]), int(mask.shape[1])]
        if mask.any():
            ys, xs = np.nonzero(mask)
            rec["bbox"] = [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]
            rec["file"] = f"{len(self.records):06d}.png"
            write_crop(self.tmp / rec["file"], Crop.cut(image, mask, rec["grasp"]))
        self.records.append(rec)

    def close(self) -> dict:
        index = {**self.provenance, "considered": len(self.records),
                 "nonempty": sum(r["file"] is not None for r in self.records),
                 "kept": sum(r["kept"] for r in self.records), "records": self.records}
        (self.tmp / INDEX).write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
        shutil.rmtree(self.folder, ignore_errors=True)
        self.tmp.rename(self.folder)
        return index


def collect_train_object_crops(dataset: Path, image_files: Iterable[str], out: Path, t_occ: float = 0.95,
                               split: str = "labeled_train") -> dict:
    """Crops of the labeled training images' instances (Paste-Train): every annotated instance whose
    visible area exceeds ``t_occ`` of its amodal area (unoccluded objects, as the model filter keeps)."""
    from ..formats.coco import decode
    from ..formats.grasp_pairs import read_png

    ann_fn = Path(dataset) / split / "annotations.coco.json"
    coco = read_json(ann_fn, stage="graspseg_grasp_data", kind="COCO annotations", required=("images", "annotations"))
    wanted = list(image_files)
    by_file = {im["file_name"]: im for im in coco["images"]}
    missing = [f for f in wanted if f not in by_file]
    if missing:
        raise ValueError(f"{ann_fn} has no image {missing[0]!r} (and {len(missing) - 1} more missing)")
    anns: dict[int, list] = {}
    for a in coco["annotations"]:
        anns.setdefault(a["image_id"], []).append(a)
    w = CropWriter(out, dataset, {"method": "Train Objects", "kind": "labeled instances",
                               "annotations": str(ann_fn.relative_to(dataset)), "t_occ": t_occ})
    for f in wanted:
        im = by_file[f]
        image = read_png(Path(dataset) / split / f, rgb=True)
        for a in sorted(anns.get(im["id"], []), key=lambda a: a["id"]):
            vis, amo = decode(a["segmentation"]), decode(a["amodal_segmentation"])
            ratio = vis.sum() / max(amo.sum(), 1)
            ok = ratio > t_occ
            w.add(Path(dataset) / split / Path(f).parent, f"object_id:{a.get('object_id', '?')}", image, vis,
                  {"occlusion": ok}, ok)
    return w.close()


def read_index(folder: Path, stage: str = "graspseg_crops") -> dict:
    """The index of one crop folder (provenance and one record per considered grasp); ``stage`` is the stage that
    writes it (graspseg_crops; graspseg_table2 for the Train Objects crops it cuts itself)."""
    return read_json(Path(folder) / INDEX, stage=stage, kind="crop index", required=("records",))


def load_crops(folder: Path, filtered: bool, stage: str = "graspseg_crops") -> list[Crop]:
    """The crops of one method's folder: every non-empty one, or (``filtered``) those the filter kept."""
    index = read_index(folder, stage)
    crops = [read_crop(Path(folder) / r["file"], r["grasp"]) for r in index["records"]
             if r["file"] is not None and (r["kept"] or not filtered)]
    if not crops:
        raise ValueError(f"crop folder {folder} has no {'kept' if filtered else 'non-empty'} crops")
    return crops


def load_grasp_masks(folder: Path, dataset: Path, filtered: bool) -> list[tuple[Path, np.ndarray]]:
    """(before image path, full-size mask) of every crop of a folder — the single-object supervision of
    Single-Object-100 (§V-A.1): the grasped object's predicted mask in its own image."""
    from ..formats.grasp_pairs import read_png

    index = read_index(folder)
    out = []
    for r in index["records"]:
        if r["file"] is None or (filtered and not r["kept"]):
            continue
        before = Path(dataset) / r["grasp"] / "before.png"
        h, w = r["image_hw"] if "image_hw" in r else read_png(before).shape[:2]
        crop = read_crop(Path(folder) / r["file"], r["grasp"])
        x, y, cw, ch = r["bbox"]
        mask = np.zeros((h, w), bool)
        mask[y:y + ch, x:x + cw] = crop.mask
        out.append((before, mask))
    if not out:
        raise ValueError(f"crop folder {folder} has no {'kept' if filtered else 'non-empty'} masks")
    return out


