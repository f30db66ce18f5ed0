"""Reading the instance-segmentation sets for Mask R-CNN training: COCO files, or the released Apparel-5k annotations.

Two on-disk forms load the same way (:func:`load_annotations` returns a COCO dict):

* COCO (``{"images", "annotations", "categories"}``, RLE or polygon masks) — what :mod:`.scenes` writes and what
  the COCO and Cityscapes-in-COCO files are;
* a JSON *list* of detectron2 dataset dicts (``file_name, height, width, image_id, annotations: [{bbox, bbox_mode,
  segmentation, category_id (0-based), iscrowd}]``) — how the authors' code registers Apparel-5k
  (``instances_{train,val}.json`` loaded as dataset dicts; docs/reference/latentmrcnn_reference_code.md §8).

Everything is checked before any training (:class:`InstanceSet` validates on construction): a missing or truncated
JSON, an annotation of an unknown image, an unknown category, a missing or truncated image, an image whose size is
not the one the annotations give — each an error naming the file and what is wrong.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

XYXY_ABS, XYWH_ABS = 0, 1  # detectron2's BoxMode values


class DatasetError(ValueError):
    """An annotation file or image that cannot be used, named."""


def _read_json(path: Path, stage: str):
    if not path.exists():
        raise FileNotFoundError(f"annotation file {path} does not exist; the `{stage}` stage makes it "
                                f"(or point the notebook's data folder at a real dataset)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DatasetError(f"annotation file {path} is not valid JSON ({e}); it is truncated or corrupt") from None


def detectron2_to_coco(dicts: list, source: Path, category_names: list[str] | None = None) -> dict:
    """A detectron2 dataset-dict list (0-based category ids) as a COCO dict (1-based)."""
    images, anns, max_cat = [], [], -1
    for i, d in enumerate(dicts):
        try:
            image_id = d.get("image_id", i)
            images.append({"id": image_id, "file_name": d["file_name"], "height": int(d["height"]),
                           "width": int(d["width"])})
            for a in d.get("annotations", []):
                x0, y0, x1, y1 = a["bbox"]
                if a.get("bbox_mode", XYXY_ABS) == XYWH_ABS:
                    x1, y1 = x0 + x1, y0 + y1
                c = int(a["category_id"])
                max_cat = max(max_cat, c)
                anns.append({"id": len(anns) + 1, "image_id": image_id, "category_id": c + 1,
                             "segmentation": a["segmentation"], "iscrowd": int(a.get("iscrowd", 0)),
                             "bbox": [x0, y0, x1 - x0, y1 - y0], "area": float((x1 - x0) * (y1 - y0))})
        except (KeyError, TypeError, ValueError) as e:
            raise DatasetError(f"{source}: dataset dict {i} is malformed ({type(e).__name__}: {e})") from None
    if category_names:
        names = list(category_names)
    elif max_cat <= 0:
        names = ["object"]  # Apparel-5k's one category
    else:
        names = [f"class_{k}" for k in range(max_cat + 1)]
    return {"images": images, "annotations": anns,
            "categories": [{"id": k + 1, "name": n} for k, n in enumerate(names)]}


def load_annotations(path: str | Path, stage: str = "latentmrcnn_data") -> dict:
    """The COCO dict of an annotation file (COCO, or a detectron2 dict list), structurally checked."""
    path = Path(path)
    raw = _read_json(path, stage)
    doc = detectron2_to_coco(raw, path) if isinstance(raw, list) else raw
    if not isinstance(doc, dict) or not {"images", "annotations", "categories"} <= set(doc):
        raise DatasetError(f"{path} is neither a COCO file (images, annotations, categories) nor a list of "
                           "detectron2 dataset dicts")
    ids = {img.get("id") for img in doc["images"]}
    if len(ids) != len(doc["images"]):
        raise DatasetError(f"{path}: image ids are not unique")
    cats = {c.get("id") for c in doc["categories"]}
    ann_ids = [a.get("id") for a in doc["annotations"]]
    if None in ann_ids:
        raise DatasetError(f"{path}: annotation {ann_ids.index(None)} (0-based) has no id (COCOeval needs one)")
    if len(set(ann_ids)) != len(ann_ids):
        dup = sorted({i for i in ann_ids if ann_ids.count(i) > 1})[:5]
        raise DatasetError(f"{path}: annotation ids are not unique ({dup})")
    for a in doc["annotations"]:
        if a.get("image_id") not in ids:
            raise DatasetError(f"{path}: annotation {a.get('id')} refers to unknown image id {a.get('image_id')}")
        if a.get("category_id") not in cats:
            raise DatasetError(f"{path}: annotation {a.get('id')} has unknown category id {a.get('category_id')} "
                               f"(categories: {sorted(cats)})")
        if "segmentation" not in a:
            raise DatasetError(f"{path}: annotation {a.get('id')} has no segmentation")
    if not doc["images"]:
        raise DatasetError(f"{path} holds no images (an empty dataset)")
    return doc


def decode_segmentation(seg, height: int, width: int) -> np.ndarray:
    """A COCO segmentation (RLE with str or list counts, or polygons) as an (H, W) bool mask. Raises ValueError for
    an empty polygon list, a polygon of fewer than 3 points or an odd coordinate count (pycocotools would read a
    4-number polygon as a box), or an RLE whose ``size`` is not (height, width)."""
    from pycocotools import mask as mask_utils

    if isinstance(seg, list):  # polygons
        if not seg:
            raise ValueError("empty polygon list")
        for poly in seg:
            if not isinstance(poly, list) or len(poly) < 6 or len(poly) % 2:
                raise ValueError(f"a polygon needs an even number (>= 6) of coordinates, got "
                                 f"{len(poly) if isinstance(poly, list) else type(poly).__name__}")
        rles = mask_utils.frPyObjects(seg, height, width)
        return mask_utils.decode(mask_utils.merge(rles)).astype(bool)
    if not isinstance(seg, dict) or "counts" not in seg or "size" not in seg:
        raise ValueError("neither a polygon list nor an RLE with counts and size")
    if [int(v) for v in seg["size"]] != [height, width]:
        raise ValueError(f"RLE size {list(seg['size'])} is not the image's (height, width) = ({height}, {width})")
    r = dict(seg)
    if isinstance(r.get("counts"), list):  # uncompressed RLE
        r = mask_utils.frPyObjects(r, height, width)
    elif isinstance(r.get("counts"), str):
        r["counts"] = r["counts"].encode("ascii")
    return mask_utils.decode(r).astype(bool)


class InstanceSet:
    """Images and instance targets of one split, for torchvision's detection models.

    ``item(i)`` → (image float32 (3, H, W) in [0, 1], target {boxes (n, 4) xyxy, labels (n,), masks (n, H, W) uint8})
    and ``ground_truth(i)`` → masks (n, H, W) bool, labels (n,). ``class_agnostic`` maps every category to 1.
    """

    def __init__(self, annotation_file: str | Path, image_root: str | Path, class_agnostic: bool = False,
                 stage: str = "latentmrcnn_data"):
        from PIL import Image

        self.path = Path(annotation_file)
        self.root = Path(image_root)
        self.doc = load_annotations(self.path, stage)
        self.class_agnostic = class_agnostic
        self.images = sorted(self.doc["images"], key=lambda im: im["id"])
        self.categories = sorted(c["id"] for c in self.doc["categories"])
        self.by_image: dict[int, list[dict]] = {im["id"]: [] for im in self.images}
        for a in self.doc["annotations"]:
            if not a.get("iscrowd", 0):
                self.by_image[a["image_id"]].append(a)
        for im in self.images:  # every image exists, is complete and has the annotated size
            fn = self.root / im["file_name"]
            if not fn.exists():
                raise FileNotFoundError(f"image {fn} (listed in {self.path}) does not exist")
            try:
                with Image.open(fn) as f:
                    size = f.size
                    f.verify()  # a PNG's checksums
                with Image.open(fn) as f:
                    f.load()  # decodes every pixel: a truncated JPEG fails here (verify() does not check JPEGs)
            except Exception as e:  # noqa: BLE001 - PIL raises several types for a broken file
                raise DatasetError(f"image {fn} cannot be read ({type(e).__name__}: {e}); it is truncated or "
                                   "corrupt") from None
            if size != (im["width"], im["height"]):
                raise DatasetError(f"image {fn} is {size[0]}x{size[1]} but {self.path} says "
                                   f"{im['width']}x{im['height']}")
            for a in self.by_image[im["id"]]:  # every mask decodes now, not halfway through training
                try:
                    decode_segmentation(a["segmentation"], im["height"], im["width"])
                except Exception as e:  # noqa: BLE001 - pycocotools raises several types
                    raise DatasetError(f"{self.path}: annotation {a.get('id')} of image {im['file_name']} has an "
                                       f"unusable segmentation ({type(e).__name__}: {e})") from None

    def __len__(self) -> int:
        return len(self.images)

    def head(self, n: int) -> "InstanceSet":
        """The first ``n`` images (all when ``n`` is 0 or larger than the set), sharing this set's annotations."""
        import copy

        sub = copy.copy(self)
        if 0 < n < len(self.images):
            sub.images = self.images[:n]
        return sub

    @property
    def num_classes(self) -> int:
        """Including background (torchvision's convention)."""
        return 2 if self.class_agnostic else max(self.categories) + 1

    def image(self, i: int) -> np.ndarray:
        import cv2

        fn = self.root / self.images[i]["file_name"]
        img = cv2.imread(str(fn), cv2.IMREAD_COLOR)
        if img is None:
            raise DatasetError(f"image {fn} cannot be decoded")
        return img[..., ::-1].copy()  # BGR -> RGB

    def ground_truth(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        im = self.images[i]
        anns = self.by_image[im["id"]]
        h, w = im["height"], im["width"]
        masks = np.stack([decode_segmentation(a["segmentation"], h, w) for a in anns]) if anns else \
            np.zeros((0, h, w), bool)
        keep = masks.reshape(len(masks), -1).any(1)
        labels = np.array([1 if self.class_agnostic else a["category_id"] for a in anns], np.int64)
        return masks[keep], labels[keep]

    def item(self, i: int, flip: bool = False):
        import torch

        img = self.image(i)
        masks, labels = self.ground_truth(i)
        if flip:
            img, masks = img[:, ::-1], masks[:, :, ::-1]
        boxes = np.zeros((len(masks), 4), np.float32)
        for k, m in enumerate(masks):
            ys, xs = np.nonzero(m)
            boxes[k] = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float() / 255.0
        target = {"boxes": torch.from_numpy(boxes), "labels": torch.from_numpy(labels),
                  "masks": torch.from_numpy(np.ascontiguousarray(masks)).to(torch.uint8)}
        return x, target
