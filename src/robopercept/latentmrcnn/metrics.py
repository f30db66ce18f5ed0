"""§V: the paper's metrics — mAP, MR@HP with IoP matching, AR with IoG matching, the double-pick rate, the pickable
area fraction, and the ROC AUC of scores as predictors of a good mask (Table III).

COCO matching comes from pycocotools (:class:`OverlapEval` is ``COCOeval`` with its overlap swapped); only the
overlaps and the paper's own quantities are written here:

* ``IoP(m, g) = |m ∩ g| / |m|`` (intersection over prediction, §V-B) and ``IoG(m, g) = |m ∩ g| / |g|`` (over ground
  truth, §V-C). pycocotools' ``maskUtils.iou`` with the crowd flag set divides by the *first* argument's area, so
  IoP = ``iou(dt, gt, crowd)`` and IoG = ``iou(gt, dt, crowd)ᵀ`` — the same switch the authors added to their
  vendored ``cocoeval.py`` (docs/reference/latentmrcnn_reference_code.md §6). Matching is COCO's greedy matching on
  that overlap; every other COCO rule (max detections, area ranges, interpolated precision) is unchanged.
* MR@HP (§V-B): ``1/(|p||θ|) Σ_{p_i, θ_j} max_{t: Precision(θ_j) >= p_i} Recall(t, θ_j)`` with IoP matching and
  ``p = θ = [0.75, 0.8, 0.85, 0.9, 0.95]``: per category, the largest recall at which COCO's interpolated precision
  is still >= p_i (0 if never), averaged over categories, p and θ. The paper writes >=; the authors' code uses a
  strict > and, matching θ with an exact float comparison, scores the θ = 0.9 column 0 — we match with a tolerance.
* AR with IoG (§V-C): COCO's average recall (area all, 100 detections) with IoG matching over θ = 0.5:0.95.
* Double-pick rate (§V-D): "we randomly sample circles on the image and count the number of circles D that land
  within one predicted mask but more than one ground truth mask. We divide this by the number of circles N that land
  within one predicted mask". We evaluate *every* circle centre (each pixel) instead of a random sample: the
  expectation of the paper's estimate, without its sampling noise. A circle lands within a mask when every pixel
  of the disc is in it (the centre lies in the mask eroded by the disc) and touches a ground-truth mask when any
  pixel is (the centre lies in it dilated by the disc).
* Pickable area fraction (§V-D): "the area of all the predicted masks over the area of all the ground truth masks"
  (areas of the unions).
"""

from __future__ import annotations

import contextlib
import io
from typing import Sequence

import cv2
import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.cocoeval import COCOeval

from ..formats import coco

OVERLAPS = ("iou", "iop", "iog")
PAPER_PRECISIONS = (0.75, 0.8, 0.85, 0.9, 0.95)  # p (§V-B)
PAPER_THETAS = (0.75, 0.8, 0.85, 0.9, 0.95)  # θ, IoP thresholds (§V-B)
COCO_THRESHOLDS = tuple(np.round(np.linspace(0.5, 0.95, 10), 2))


class OverlapEval(COCOeval):
    """pycocotools' ``COCOeval`` (segm) whose matching overlap is IoU, IoP or IoG."""

    def __init__(self, coco_gt, coco_dt, overlap: str = "iou", thresholds: Sequence[float] = COCO_THRESHOLDS):
        if overlap not in OVERLAPS:
            raise ValueError(f"overlap must be one of {OVERLAPS}, got {overlap!r}")
        super().__init__(coco_gt, coco_dt, iouType="segm")
        self.overlap = overlap
        self.params.iouThrs = np.asarray(sorted(thresholds), float)

    def computeIoU(self, imgId, catId):  # noqa: N802 - pycocotools' name
        if self.overlap == "iou":
            return super().computeIoU(imgId, catId)
        p = self.params
        if p.useCats:
            gt, dt = self._gts[imgId, catId], self._dts[imgId, catId]
        else:
            gt = [g for c in p.catIds for g in self._gts[imgId, c]]
            dt = [d for c in p.catIds for d in self._dts[imgId, c]]
        if not gt and not dt:
            return []
        dt = [dt[i] for i in np.argsort([-d["score"] for d in dt], kind="mergesort")][: p.maxDets[-1]]
        if not gt or not dt:
            return np.zeros((len(dt), len(gt)))
        g = [x["segmentation"] for x in gt]
        d = [x["segmentation"] for x in dt]
        if self.overlap == "iop":  # |d ∩ g| / |d|: the crowd rule divides by the first argument's area
            return np.asarray(mask_utils.iou(d, g, [1] * len(g)))
        return np.asarray(mask_utils.iou(g, d, [1] * len(d))).T  # iog: |d ∩ g| / |g|

    def run(self) -> "OverlapEval":
        """evaluate() and accumulate(), without pycocotools' prints."""
        with contextlib.redirect_stdout(io.StringIO()):
            self.evaluate()
            self.accumulate()
        return self


def evaluate(coco_gt, results: list[dict], overlap: str = "iou", thresholds: Sequence[float] = COCO_THRESHOLDS,
             use_cats: bool = True) -> OverlapEval:
    """COCO evaluation of ``results`` (COCO results dicts with RLE ``segmentation``) with the given overlap.
    ``use_cats=False`` is class-agnostic (Apparel-5k has one category)."""
    # loadRes adds fields to the dicts it is given (area, bbox, id): hand it copies, so results can be re-evaluated
    results = [{k: r[k] for k in ("image_id", "category_id", "segmentation", "score")} for r in results]
    with contextlib.redirect_stdout(io.StringIO()):
        coco_dt = coco_gt.loadRes(results) if results else _empty_results(coco_gt)
    ev = OverlapEval(coco_gt, coco_dt, overlap, thresholds)
    ev.params.useCats = int(use_cats)
    return ev.run()


def _empty_results(coco_gt):
    from pycocotools.coco import COCO

    dt = COCO()
    dt.dataset = {"images": list(coco_gt.dataset["images"]), "categories": list(coco_gt.dataset["categories"]),
                  "annotations": []}
    with contextlib.redirect_stdout(io.StringIO()):
        dt.createIndex()
    return dt


def results_for(image_id: int, masks: np.ndarray, scores: np.ndarray, category_id: int = 1) -> list[dict]:
    """COCO results dicts (RLE segmentation) of one image's predicted masks."""
    return [{"image_id": int(image_id), "category_id": int(category_id), "segmentation": coco.encode(m),
             "score": float(s)} for m, s in zip(np.asarray(masks, bool), np.asarray(scores, float))]


def _threshold_index(ev: COCOeval, value: float) -> int:
    t = np.flatnonzero(np.isclose(ev.params.iouThrs, value, atol=1e-6))
    if not len(t):
        raise ValueError(f"threshold {value} was not evaluated (thresholds {list(ev.params.iouThrs)})")
    return int(t[0])


def mean_ap(ev: COCOeval) -> float:
    """COCO mAP (area all, max detections) in percent; NaN when no category has ground truth."""
    prec = ev.eval["precision"][:, :, :, 0, -1]
    ok = prec > -1
    return float(100 * prec[ok].mean()) if ok.any() else float("nan")


def mr_at_hp(ev: COCOeval, precisions: Sequence[float] = PAPER_PRECISIONS,
             thetas: Sequence[float] = PAPER_THETAS) -> float:
    """MR@HP in percent (``ev`` evaluated with IoP matching at the ``thetas``)."""
    rec_thrs = ev.params.recThrs
    prec = ev.eval["precision"]  # (T, R, K, A, M): interpolated precision at each recall threshold
    values = []
    for theta in thetas:
        t = _threshold_index(ev, theta)
        for k in range(prec.shape[2]):
            pk = prec[t, :, k, 0, -1]
            if (pk < 0).all():  # no ground truth of this category
                continue
            for p_i in precisions:
                reach = np.flatnonzero(pk >= p_i - 1e-12)
                values.append(rec_thrs[reach].max() if len(reach) else 0.0)  # max recall with precision >= p_i
    if not values:
        return float("nan")
    return float(100 * np.mean(values))


def average_recall(ev: COCOeval) -> float:
    """COCO AR (area all, max detections) in percent over the evaluated thresholds and categories with ground truth."""
    rec = ev.eval["recall"][:, :, 0, -1]  # (T, K)
    ok = rec > -1
    return float(100 * rec[ok].mean()) if ok.any() else float("nan")


def _disc(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def double_pick(pred_masks: np.ndarray, gt_masks: np.ndarray, radius: int) -> tuple[int, int]:
    """(D, N) over every circle centre of one image: N circles lie entirely inside one predicted mask, D of them
    also touch more than one ground-truth mask. Masks (n, H, W) bool."""
    if radius < 0:
        raise ValueError(f"gripper radius must be >= 0 pixels, got {radius}")
    pred_masks, gt_masks = np.asarray(pred_masks, bool), np.asarray(gt_masks, bool)
    if pred_masks.shape[1:] != gt_masks.shape[1:]:
        raise ValueError(f"predicted masks {pred_masks.shape[1:]} and ground truth {gt_masks.shape[1:]} differ in size")
    hw = gt_masks.shape[1:]
    disc = _disc(radius)
    inside = np.zeros(hw, bool)
    for m in pred_masks:  # the disc fits in m  <=>  its centre is in m eroded by the disc (outside the image: not m)
        inside |= cv2.erode(m.astype(np.uint8), disc, borderType=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)
    touched = np.zeros(hw, np.int32)
    for g in gt_masks:  # the disc touches g  <=>  its centre is in g dilated by the disc
        touched += cv2.dilate(g.astype(np.uint8), disc).astype(bool)
    return int((inside & (touched > 1)).sum()), int(inside.sum())


def pickable_area_fraction(pred_masks: np.ndarray, gt_masks: np.ndarray) -> float:
    """Area of the union of predicted masks over the area of the union of ground-truth masks (NaN without GT)."""
    gt = np.asarray(gt_masks, bool).any(0) if len(gt_masks) else None
    if gt is None or not gt.any():
        return float("nan")
    pred = np.asarray(pred_masks, bool).any(0) if len(pred_masks) else np.zeros_like(gt)
    return float(pred.sum() / gt.sum())


def roc_auc(scores: Sequence[float], positive: Sequence[bool]) -> float:
    """Area under the ROC curve of ``scores`` predicting ``positive`` (Mann–Whitney U / (n⁺ n⁻), ties counted half);
    NaN if either class is empty. Table III: positive = the prediction's best IoU with a ground truth > 0.5."""
    from scipy.stats import rankdata

    s, y = np.asarray(scores, float), np.asarray(positive, bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(s)  # average ranks: ties count half
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
