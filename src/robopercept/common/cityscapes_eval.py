"""Instance AP the official way: ``cityscapesscripts``' ``evalInstanceLevelSemanticLabeling`` on our predictions.

Predictions are written in the format that evaluator reads (per image a text file of ``<mask png> <label id>
<confidence>`` lines, one binary PNG per instance) and the evaluator's own matching and AP run unchanged. Three of
its settings are set per call instead of left at their module defaults, each for a reason:

* ``minRegionSizes`` — the evaluator ignores ground-truth and predicted regions below 100 pixels *at 2048 x 1024*;
  :func:`scaled_min_region` scales that area to the evaluated resolution (100 px → 25 px at 1024 x 512);
* ``gtInstancesFile`` — by default a cache *inside the installed package*, reused for any later ground truth (stale
  results across datasets); here a file in the call's work folder, rebuilt every call;
* the work folder is the current directory while it runs (the evaluator writes ``matches.json`` to it).

Only the distance-free AP is computed (``distanceAvailable = False``: our sets carry no disparity maps).

Bootstrap replicates re-accumulate the evaluator's per-image matches instead of matching again. The evaluator's own
accumulation (``evaluateMatches``) walks every image's matches again for each class and overlap and grows arrays one
element at a time: with ~70 predicted instances a frame a bootstrap of 200 replicates took tens of minutes.
:func:`image_scores` therefore reads each image's contribution — per class and overlap threshold the (true, score)
entries it adds and its hard false negatives, by the evaluator's rules — once, and :func:`ap_from_image_scores`
concatenates the images a replicate draws, in its order, and integrates the precision-recall curve as the evaluator
does. The arrays are the evaluator's, element for element, so the AP is the same float (a test holds both against
``evaluateMatches`` on random matches, repeats included).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import math
import os
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from ..formats.cityscapes import CityscapesSet, instance_label_ids

CITYSCAPES_MIN_REGION_PX = 100  # the evaluator's default, for 2048 x 1024 images
CITYSCAPES_PIXELS = 2048 * 1024


def scaled_min_region(height: int, width: int) -> int:
    return max(1, int(round(CITYSCAPES_MIN_REGION_PX * height * width / CITYSCAPES_PIXELS)))


def write_predictions(folder: Path, names: Sequence[str],
                      predictions: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> list[Path]:
    """Per image ``(masks (n, H, W) bool, label ids (n,), scores (n,))`` → the evaluator's text files (returned in
    image order) and mask PNGs under ``folder``."""
    known = set(instance_label_ids().values())
    out = []
    for name, (masks, labels, scores) in zip(names, predictions, strict=True):
        sub = folder / name
        sub.mkdir(parents=True, exist_ok=True)
        lines = []
        for k, (m, lab, sc) in enumerate(zip(masks, labels, scores, strict=True)):
            if int(lab) not in known:
                raise ValueError(f"{name}: prediction {k} has label id {int(lab)}, not one of the evaluated "
                                 f"instance classes {sorted(known)}")
            png = sub / f"{k:04d}.png"
            if not cv2.imwrite(str(png), np.asarray(m, np.uint8) * 255):
                raise OSError(f"could not write {png}")
            lines.append(f"{name}/{k:04d}.png {int(lab)} {float(sc):.6f}\n")
        txt = folder / f"{name}.txt"
        txt.write_text("".join(lines))
        out.append(txt)
    return out


def match_instances(gt: CityscapesSet, predictions: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
                    workdir: str | Path, *, min_region_px: int | None = None) -> tuple[dict, object]:
    """Write the predictions and run the evaluator's matching; returns (its per-image matches, its settings), which
    :func:`ap_from_matches` accumulates — once, or per bootstrap replicate without matching again."""
    from cityscapesscripts.evaluation import evalInstanceLevelSemanticLabeling as E

    if len(predictions) != len(gt):
        raise ValueError(f"{len(predictions)} predictions for {len(gt)} ground-truth images")
    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    txts = write_predictions(work / "pred", gt.names, predictions)
    h, w = gt.frame(0).labels.shape
    args = copy.copy(E.args)
    args.cityscapesPath = str(gt.root)
    args.exportFile = str(work / "result.json")
    args.gtInstancesFile = str(work / "gtInstances.json")
    args.minRegionSizes = np.array([min_region_px if min_region_px is not None else scaled_min_region(h, w)])
    args.distanceThs = np.array([math.inf])
    args.distanceConfs = np.array([-math.inf])
    args.distanceAvailable = False
    args.JSONOutput = False
    args.quiet = True
    args.predictionPath = str(work / "pred")
    gt_files = [str(gt.paths(i)["instances"]) for i in range(len(gt))]
    if os.path.exists(args.gtInstancesFile):
        os.remove(args.gtInstancesFile)
    cwd = os.getcwd()
    try:
        os.chdir(work)
        with contextlib.redirect_stdout(io.StringIO()):
            E.setInstanceLabels(args)
            gt_instances = E.getGtInstances(gt_files, args)
            matches = E.matchGtWithPreds([str(t) for t in txts], gt_files, gt_instances, args)
    finally:
        os.chdir(cwd)
    return {str(Path(f).name): matches[os.path.abspath(f)] for f in gt_files}, args


@dataclasses.dataclass(frozen=True)
class ImageScores:
    """One image's share of the evaluator's accumulation, per class (``args.instLabels`` order) and overlap threshold
    (``args.overlaps`` order): ``true[c][o]`` / ``score[c][o]`` are the (y_true, y_score) entries the image adds,
    ``hard_fns[c, o]`` its ground-truth instances no prediction overlaps enough; ``has_gt[c]`` / ``has_pred[c]``:
    whether it has (kept) ground truth / any prediction of class c."""
    true: tuple[tuple[np.ndarray, ...], ...]
    score: tuple[tuple[np.ndarray, ...], ...]
    hard_fns: np.ndarray
    has_gt: np.ndarray
    has_pred: np.ndarray


def _iou(gt_px: float, pred_px: float, inter: float) -> float:
    return float(inter) / (gt_px + pred_px - inter)


def _in_range(g: dict, min_region: float, dist_th: float, dist_conf: float) -> bool:
    """A ground-truth region large and near enough to count (else its pixels are ignored)."""
    return g["pixelCount"] >= min_region and g["medDist"] <= dist_th and g["distConf"] >= dist_conf


def _image_class_scores(gts: list, preds: list, overlap: float, min_region: float, dist_th: float,
                        dist_conf: float) -> tuple[np.ndarray, np.ndarray, int]:
    """The evaluator's rules for one image, class and overlap threshold (``evaluateMatches``): a kept ground-truth
    instance (instance id >= 1000, large and near enough) takes its best prediction over the threshold as a true
    positive, every further one over it is a false positive with the lower of the two scores (the kept score is the
    higher), and it is a hard false negative without any; a prediction that overlaps no ground truth over the
    threshold is a false positive unless more than the threshold of its pixels are void, groups or ignored (small or
    far) ground truth. ``gts``: the image's kept ground truth of the class (:func:`image_scores` filters it once)."""
    best = [None] * len(gts)  # score of the gt's match, None while unmatched
    extra = []  # scores of duplicate matches (false positives), in the order found
    hard_fns = 0
    for i, g in enumerate(gts):
        for p in g["matchedPred"]:
            if _iou(g["pixelCount"], p["pixelCount"], p["intersection"]) > overlap:
                c = p["confidence"]
                if best[i] is None:
                    best[i] = c
                else:
                    extra.append(min(best[i], c))
                    best[i] = max(best[i], c)
        if best[i] is None:
            hard_fns += 1
    true = [1.0] * sum(b is not None for b in best) + [0.0] * len(extra)
    score = [float(b) for b in best if b is not None] + [float(c) for c in extra]
    for p in preds:
        if any(_iou(g["pixelCount"], p["pixelCount"], g["intersection"]) > overlap for g in p["matchedGt"]):
            continue
        ignored = p["voidIntersection"]
        for g in p["matchedGt"]:
            if g["instID"] < 1000:
                ignored += g["intersection"]
            if not _in_range(g, min_region, dist_th, dist_conf):
                ignored += g["intersection"]
        if float(ignored) / p["pixelCount"] <= overlap:
            true.append(0.0)
            score.append(float(p["confidence"]))
    return np.array(true, float), np.array(score, float), hard_fns


def _check_distance_free(args) -> tuple[float, float, float]:
    if args.distanceAvailable:
        raise ValueError("image_scores: only the distance-free AP is implemented (args.distanceAvailable is True)")
    return float(args.minRegionSizes[0]), float(args.distanceThs[0]), float(args.distanceConfs[0])


def image_scores(matches: dict, args) -> dict[str, ImageScores]:
    """Each image's :class:`ImageScores`, read once from the evaluator's ``matches`` (image -> its matches)."""
    min_region, dist_th, dist_conf = _check_distance_free(args)
    out = {}
    for img, m in matches.items():
        true, score, fns, has_gt, has_pred = [], [], [], [], []
        for label in args.instLabels:
            preds, gts_all = m["prediction"][label], m["groundTruth"][label]
            kept = [g for g in gts_all if g["instID"] >= 1000 and _in_range(g, min_region, dist_th, dist_conf)]
            has_gt.append(bool(kept))
            has_pred.append(bool(preds))
            per = [_image_class_scores(kept, preds, o, min_region, dist_th, dist_conf) for o in args.overlaps]
            true.append(tuple(t for t, _, _ in per))
            score.append(tuple(s for _, s, _ in per))
            fns.append([f for _, _, f in per])
        out[img] = ImageScores(tuple(true), tuple(score), np.array(fns, int), np.array(has_gt), np.array(has_pred))
    return out


def _average_precision(y_true: np.ndarray, y_score: np.ndarray, hard_fns: int) -> float:
    """The evaluator's step-wise integral of the precision-recall curve (``evaluateMatches``), vectorised: one point
    per distinct score (the first of its run in ascending order), plus the artificial point (recall 0, precision 1).
    One departure: where a class has ground truth and predictions but no entry (every ground truth missed, every
    prediction ignored) the evaluator stops with an IndexError; here its AP is 0 (no recall)."""
    if len(y_score) == 0:  # every ground truth missed, every prediction ignored: the evaluator raises IndexError
        return 0.0
    order = np.argsort(y_score)  # the evaluator's call: the same array gives the same order
    scores, hits = y_score[order], y_true[order]
    cum = np.cumsum(hits)
    _, first = np.unique(scores, return_index=True)
    n, n_true = len(scores), cum[-1]
    below = np.append(cum, 0)[first - 1]  # hits below each threshold (index -1: the appended 0)
    tp = n_true - below
    fp = n - first - tp
    fn = below + hard_fns
    precision = np.append(tp / (tp + fp), 1.0)
    recall = np.append(tp / (tp + fn), 0.0)
    padded = np.append(np.append(recall[0], recall), 0.0)
    return float(np.dot(precision, np.convolve(padded, [-0.5, 0, 0.5], "valid")))


def ap_from_image_scores(scores: dict[str, ImageScores], args, keys: Sequence[str] | None = None) -> dict:
    """AP and AP@50 (percent, overall and per class) of the images ``keys`` (default: all; repeats allowed — a
    bootstrap replicate), from :func:`image_scores`; the evaluator's ``computeAverages`` makes the averages."""
    from cityscapesscripts.evaluation import evalInstanceLevelSemanticLabeling as E

    _check_distance_free(args)
    keys = list(scores) if keys is None else list(keys)
    picked = [scores[k] for k in keys]
    aps = np.zeros((1, len(args.instLabels), len(args.overlaps)), float)
    for c in range(len(args.instLabels)):
        have_gt = any(s.has_gt[c] for s in picked)
        have_pred = any(s.has_pred[c] for s in picked)
        for o in range(len(args.overlaps)):
            if have_gt and have_pred:
                y_true = np.concatenate([np.empty(0)] + [s.true[c][o] for s in picked])
                y_score = np.concatenate([np.empty(0)] + [s.score[c][o] for s in picked])
                aps[0, c, o] = _average_precision(y_true, y_score, int(sum(s.hard_fns[c, o] for s in picked)))
            else:
                aps[0, c, o] = 0.0 if have_gt else float("nan")
    with contextlib.redirect_stdout(io.StringIO()):
        avg = E.computeAverages(aps, args)
    return {"AP": 100 * float(avg["allAp"]), "AP50": 100 * float(avg["allAp50%"]),
            "per_class": {c: {"AP": 100 * float(v["ap"]), "AP50": 100 * float(v["ap50%"])}
                          for c, v in avg["classes"].items()}}


def ap_from_matches(matches: dict, args, keys: Sequence[str] | None = None) -> dict:
    """AP and AP@50 (percent, overall and per class) from the evaluator's matches of the images ``keys`` (default:
    all; repeats allowed — a bootstrap replicate). Many replicates of the same matches: call :func:`image_scores`
    once and :func:`ap_from_image_scores` per replicate."""
    keys = list(matches) if keys is None else list(keys)
    return ap_from_image_scores(image_scores({k: matches[k] for k in dict.fromkeys(keys)}, args), args, keys)


def evaluate_instances(gt: CityscapesSet, predictions: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
                       workdir: str | Path, *, min_region_px: int | None = None) -> dict:
    """AP (IoU 0.5:0.95) and AP@50 over the eight classes, and per class, in percent, from the official evaluator.
    ``predictions`` are per image of ``gt`` (its order). Classes without ground truth are NaN (the evaluator's
    ``nanmean`` leaves them out of the averages)."""
    matches, args = match_instances(gt, predictions, workdir, min_region_px=min_region_px)
    return ap_from_matches(matches, args)
