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
"""

from __future__ import annotations

import contextlib
import copy
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


def ap_from_matches(matches: dict, args, keys: Sequence[str] | None = None) -> dict:
    """AP and AP@50 (percent, overall and per class) from the evaluator's matches of the images ``keys`` (default:
    all; repeats allowed — a bootstrap replicate)."""
    from cityscapesscripts.evaluation import evalInstanceLevelSemanticLabeling as E

    keys = list(matches) if keys is None else list(keys)
    picked = {f"{k}#{j}": matches[k] for j, k in enumerate(keys)}
    with contextlib.redirect_stdout(io.StringIO()):
        aps = E.evaluateMatches(picked, args)
        avg = E.computeAverages(aps, args)
    return {"AP": 100 * float(avg["allAp"]), "AP50": 100 * float(avg["allAp50%"]),
            "per_class": {c: {"AP": 100 * float(v["ap"]), "AP50": 100 * float(v["ap50%"])}
                          for c, v in avg["classes"].items()}}


def evaluate_instances(gt: CityscapesSet, predictions: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
                       workdir: str | Path, *, min_region_px: int | None = None) -> dict:
    """AP (IoU 0.5:0.95) and AP@50 over the eight classes, and per class, in percent, from the official evaluator.
    ``predictions`` are per image of ``gt`` (its order). Classes without ground truth are NaN (the evaluator's
    ``nanmean`` leaves them out of the averages)."""
    matches, args = match_instances(gt, predictions, workdir, min_region_px=min_region_px)
    return ap_from_matches(matches, args)
