"""Table II's metrics: COCO mask AP, AP@0.5, AP@0.75, AP_L, AP_M (class-agnostic), with bootstrap intervals.

Two implementations that must agree (a test holds them to 1e-9 on random scenes):

* :func:`coco_eval` — pycocotools' ``COCOeval`` on a ground-truth COCO file and a results JSON (the
  predictions are also *written* as a standard COCO results file, :func:`write_results`);
* :func:`match_images` + :func:`average_precision` — the same matching (greedy by score, per IoU
  threshold, per area range, at most 100 detections an image), computed once per image, so that a
  bootstrap over test images only re-accumulates precision/recall (pycocotools would re-match every
  replicate: ~1000x slower).

**Area ranges.** COCO's small/medium/large split at 32² and 96² pixels is stated for COCO images; the
paper's images are 640x960 and ours smaller, so the split points are scaled by the image area ratio
(:func:`area_ranges`; at 160x240 medium starts at 64 px and large at 576 px). At the paper's resolution
they are COCO's.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Sequence

import numpy as np

from ..common.records import read_json
from . import paper

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
RECALL_POINTS = np.linspace(0.0, 1.0, 101)
MAX_DETS = 100
COCO_SMALL, COCO_MEDIUM = 32 ** 2, 96 ** 2


def area_ranges(height: int, width: int) -> dict[str, tuple[float, float]]:
    """COCO's area ranges scaled from the paper's image size to ``height`` x ``width``."""
    s = height * width / (paper.IMAGE_HW[0] * paper.IMAGE_HW[1])
    return {"all": (0.0, 1e10), "small": (0.0, COCO_SMALL * s), "medium": (COCO_SMALL * s, COCO_MEDIUM * s),
            "large": (COCO_MEDIUM * s, 1e10)}


def mask_ious(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """IoU matrix (D, G) of boolean masks (D, H, W) and (G, H, W)."""
    if len(pred) == 0 or len(gt) == 0:
        return np.zeros((len(pred), len(gt)))
    p = pred.reshape(len(pred), -1).astype(np.float64)
    g = gt.reshape(len(gt), -1).astype(np.float64)
    inter = p @ g.T
    union = p.sum(1)[:, None] + g.sum(1)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0)


@dataclasses.dataclass
class ImageMatches:
    """One image's detections matched to its ground truth, per IoU threshold and area range."""

    scores: np.ndarray  # (D,) descending, D <= MAX_DETS
    tp: dict[str, np.ndarray]  # area range -> (T, D) bool: matched at threshold t
    ignore: dict[str, np.ndarray]  # area range -> (T, D) bool: not counted (matched an ignored gt, or outside range)
    n_gt: dict[str, int]  # area range -> ground truths inside the range


def match_images(preds: Sequence[tuple[np.ndarray, np.ndarray]], gts: Sequence[np.ndarray],
                 ranges: dict[str, tuple[float, float]], iou_thresholds=IOU_THRESHOLDS) -> list[ImageMatches]:
    """COCO's per-image matching. ``preds[i]`` = (masks (D, H, W) bool, scores (D,)); ``gts[i]`` (G, H, W)."""
    if len(preds) != len(gts):
        raise ValueError(f"{len(preds)} predictions for {len(gts)} ground-truth images")
    out = []
    for (pm, ps), gm in zip(preds, gts):
        ps = np.asarray(ps, np.float64)
        order = np.argsort(-ps, kind="mergesort")[:MAX_DETS]
        pm, ps = np.asarray(pm, bool)[order], ps[order]
        gm = np.asarray(gm, bool).reshape(-1, *gm.shape[-2:]) if len(gm) else np.zeros((0, 1, 1), bool)
        ious = mask_ious(pm, gm)
        d_area = pm.reshape(len(pm), -1).sum(1) if len(pm) else np.zeros(0)
        g_area = gm.reshape(len(gm), -1).sum(1) if len(gm) else np.zeros(0)
        tp, ign, n_gt = {}, {}, {}
        for name, (lo, hi) in ranges.items():
            g_ignore = (g_area < lo) | (g_area > hi)
            g_order = np.argsort(g_ignore, kind="mergesort")  # non-ignored ground truth first
            gi = g_ignore[g_order]
            iou = ious[:, g_order]
            t_tp = np.zeros((len(iou_thresholds), len(pm)), bool)
            t_ig = np.zeros((len(iou_thresholds), len(pm)), bool)
            for ti, thr in enumerate(iou_thresholds):
                taken = np.zeros(len(gi), bool)
                for d in range(len(pm)):
                    best, m = min(thr, 1 - 1e-10), -1
                    for g in range(len(gi)):
                        if taken[g]:
                            continue
                        if m > -1 and not gi[m] and gi[g]:
                            break  # a match on a counted gt beats any ignored one
                        if iou[d, g] < best:
                            continue
                        best, m = iou[d, g], g
                    if m == -1:
                        continue
                    taken[m] = True
                    t_tp[ti, d] = True
                    t_ig[ti, d] = gi[m]
                outside = (d_area < lo) | (d_area > hi)
                t_ig[ti] |= ~t_tp[ti] & outside  # unmatched detections outside the range do not count
            tp[name], ign[name], n_gt[name] = t_tp, t_ig, int((~g_ignore).sum())
        out.append(ImageMatches(scores=ps, tp=tp, ignore=ign, n_gt=n_gt))
    return out


def average_precision(matches: Sequence[ImageMatches], area: str = "all", iou_index: int | None = None) -> float:
    """COCO AP (101-point interpolated precision) over images ``matches`` (repeats allowed), at one IoU
    threshold index or averaged over all; -1 (COCO's convention) if no ground truth is in range."""
    if not matches:
        raise ValueError("average precision of an empty image set")
    n_gt = sum(m.n_gt[area] for m in matches)
    if n_gt == 0:
        return -1.0
    scores = np.concatenate([m.scores for m in matches])
    order = np.argsort(-scores, kind="mergesort")
    tp_all = np.concatenate([m.tp[area] for m in matches], axis=1)[:, order]
    ig_all = np.concatenate([m.ignore[area] for m in matches], axis=1)[:, order]
    idx = range(tp_all.shape[0]) if iou_index is None else [iou_index]
    aps = []
    for t in idx:
        keep = ~ig_all[t]
        tps = np.cumsum(tp_all[t][keep]).astype(np.float64)
        fps = np.cumsum(~tp_all[t][keep]).astype(np.float64)
        recall = tps / n_gt
        precision = tps / (tps + fps + np.spacing(1))  # COCO's formula
        precision = np.maximum.accumulate(precision[::-1])[::-1] if precision.size else precision
        inds = np.searchsorted(recall, RECALL_POINTS, side="left")
        q = np.zeros(len(RECALL_POINTS))
        ok = inds < len(precision)
        q[ok] = precision[inds[ok]]
        aps.append(q.mean())
    return float(np.mean(aps))


METRICS = {"AP": ("all", None), "AP@0.5": ("all", 0), "AP@0.75": ("all", 5), "AP_L": ("large", None),
           "AP_M": ("medium", None)}


def table2_metrics(matches: Sequence[ImageMatches]) -> dict[str, float]:
    """Table II's columns in percent (NaN where no ground truth falls in an area range — COCO's -1 must not be
    averaged into seed means or bootstrap replicates)."""
    out = {}
    for k, (area, t) in METRICS.items():
        ap = average_precision(matches, area, t)
        out[k] = float("nan") if ap < 0 else 100 * ap
    return out


def bootstrap_metrics(matches: Sequence[ImageMatches], n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, len(METRICS)) replicates over test images resampled with replacement."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n_boot, len(METRICS)))
    for b in range(n_boot):
        pick = rng.integers(0, len(matches), len(matches))
        out[b] = list(table2_metrics([matches[i] for i in pick]).values())
    return out


# ---------------------------------------------------------------------------------------------------
# The standard files and the reference implementation
# ---------------------------------------------------------------------------------------------------

def write_results(path: Path, image_ids: Sequence[int], preds: Sequence[tuple[np.ndarray, np.ndarray]],
                  category_id: int = 1) -> Path:
    """A COCO results JSON (``segmentation`` as RLE, ``score``) for class-agnostic predictions."""
    from ..formats.coco import encode

    rows = []
    for image_id, (masks, scores) in zip(image_ids, preds):
        for m, s in zip(masks, scores):
            rows.append({"image_id": int(image_id), "category_id": category_id, "segmentation": encode(m),
                         "score": round(float(s), 6)})
    Path(path).write_text(json.dumps(rows) + "\n")
    return Path(path)


def class_agnostic_gt(coco_json: dict, image_files: Sequence[str] | None = None) -> dict:
    """A copy of a COCO ground truth with one category ("object") and, optionally, only some images."""
    images = coco_json["images"]
    if image_files is not None:
        wanted = set(image_files)
        images = [im for im in images if im["file_name"] in wanted]
    ids = {im["id"] for im in images}
    anns = [{**a, "category_id": 1} for a in coco_json["annotations"] if a["image_id"] in ids]
    return {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "object"}]}


def coco_eval(gt: dict, results_json: Path, ranges: dict[str, tuple[float, float]], *,
              stage: str = "graspseg_table2") -> dict[str, float]:
    """pycocotools' segm evaluation with the given area ranges; Table II's columns in percent. ``stage``: the DVC
    stage that wrote ``results_json`` (:func:`write_results`), named when the file is missing or unreadable."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    rows = read_json(results_json, stage=stage, kind="COCO results file")
    with contextlib.redirect_stdout(io.StringIO()):
        cg = COCO()
        cg.dataset = json.loads(json.dumps(gt))
        cg.createIndex()
        cd = cg.loadRes(rows) if rows else COCO()
        ev = COCOeval(cg, cd, "segm")
        ev.params.areaRng = [list(ranges[k]) for k in ("all", "small", "medium", "large")]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    s = ev.stats
    return {"AP": 100 * float(s[0]), "AP@0.5": 100 * float(s[1]), "AP@0.75": 100 * float(s[2]),
            "AP_L": 100 * float(s[5]), "AP_M": 100 * float(s[4])}
