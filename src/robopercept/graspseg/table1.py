"""§IV-C: evaluate grasp segmentation against the grasped object's visible mask (Table I).

For each method and each held-out test grasp we have a binary prediction and, with a filter, a
keep/drop verdict. Following §IV-C:

* **recall** = share of predictions kept; a prediction with no pixels is always dropped, also for
  the unfiltered rows (Table I's unfiltered Subtract has 98.6 % recall, not 100 %);
* **mIOU** and **relative error** (incorrect pixels / ground-truth pixels) are averaged over the
  kept predictions only.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from . import paper
from .filters import FilterConfig, contour_filter, model_filter
from .metrics import iou, relative_error


@dataclasses.dataclass
class MethodResult:
    name: str
    iou: np.ndarray  # per grasp
    error: np.ndarray
    nonempty: np.ndarray  # bool per grasp
    filtered_keep: np.ndarray  # bool per grasp: nonempty and passes the method's filter
    seconds_per_pair: float

    def row(self, filtered: bool) -> dict:
        keep = self.filtered_keep if filtered else self.nonempty
        name = self.name + ("-Filter" if filtered else "")
        if not keep.any():
            return {"method": name, "mIOU": np.nan, "error_pct": np.nan, "recall_pct": 0.0, "kept": 0}
        return {"method": name, "mIOU": 100 * float(self.iou[keep].mean()),
                "error_pct": 100 * float(self.error[keep].mean()), "recall_pct": 100 * float(keep.mean()),
                "kept": int(keep.sum())}


def evaluate_masks(name: str, predict: Callable[[int], np.ndarray], gts: Sequence[np.ndarray],
                   cfg: FilterConfig = FilterConfig()) -> MethodResult:
    """A binary-mask method (the baselines): the contour filter is its only filter."""
    ious, errs, nonempty, keep = [], [], [], []
    t0 = time.perf_counter()
    preds = [predict(i) for i in range(len(gts))]
    seconds = (time.perf_counter() - t0) / max(1, len(gts))
    for pred, gt in zip(preds, gts):
        ious.append(iou(pred, gt))
        errs.append(relative_error(pred, gt))
        nonempty.append(bool(pred.any()))
        keep.append(contour_filter(pred, cfg))
    return MethodResult(name, np.array(ious), np.array(errs), np.array(nonempty), np.array(keep), seconds)


def evaluate_probabilities(name: str, probs: np.ndarray, gts: Sequence[np.ndarray], seconds_per_pair: float,
                           cfg: FilterConfig = FilterConfig()) -> tuple[MethodResult, pd.DataFrame]:
    """A grasp segmentation model: probabilities (N, 2, H, W); filters of §III-B.1."""
    ious, errs, nonempty, keep, verdicts = [], [], [], [], []
    for p, gt in zip(probs, gts):
        pred = p[0] > 0.5
        v = model_filter(p[0], p[1], cfg)
        ious.append(iou(pred, gt))
        errs.append(relative_error(pred, gt))
        nonempty.append(v["nonempty"])
        keep.append(v["keep"])
        verdicts.append(v)
    return (MethodResult(name, np.array(ious), np.array(errs), np.array(nonempty), np.array(keep), seconds_per_pair),
            pd.DataFrame(verdicts))


# Table I of the paper (real robot data), in its row order, for the "paper" columns only.
PAPER_TABLE1 = paper.TABLE1


def table1(results: Sequence[MethodResult]) -> pd.DataFrame:
    """Our rows (filtered and unfiltered for every method) beside the paper's, paper row order first."""
    rows = {}
    for r in results:
        for filtered in (False, True):
            row = r.row(filtered)
            rows[row["method"]] = row
    order = list(PAPER_TABLE1) + [m for m in rows if m not in PAPER_TABLE1]
    out = []
    for m in order:
        if m not in rows:
            continue
        paper = PAPER_TABLE1.get(m, (np.nan, np.nan, np.nan))
        out.append({**rows[m], "paper_mIOU": paper[0], "paper_error_pct": paper[1], "paper_recall_pct": paper[2]})
    return pd.DataFrame(out)


@dataclasses.dataclass
class ModelEvaluation:
    """Everything Table I needs from the grasp segmentation models."""

    results: list[MethodResult]  # -Filter rows use the shared threshold ``t_used``
    probs: dict[str, np.ndarray]  # test probabilities (N, 2, H, W) per model
    checkpoints: dict[str, dict]
    verdicts: dict[str, pd.DataFrame]  # per-filter verdicts on the test grasps
    t_used: float
    thresholds: list[dict]  # per model: threshold used, validation confidence and recall
    paper_rows: list[dict]  # -Filter rows with the paper's own thresholds


def evaluate_models(names, models_dir, test_ds, val_ds, gts: Sequence[np.ndarray], paper_cfg: FilterConfig,
                    calibrate: bool, good_iou: float) -> ModelEvaluation:
    """Predict the test and validation grasps with each model, choose one entropy threshold for all
    models on the pooled validation predictions (as the paper uses one ``t_ent``; see
    ``filters.calibrate_entropy_threshold``) unless ``calibrate`` is off, and evaluate both ways."""
    from .filters import calibrate_entropy_threshold, relative_entropy
    from .train import load_checkpoint, predict

    probs, ckpts, seconds, val_rel, val_iou = {}, {}, {}, {}, {}
    for name in names:
        model, ckpts[name] = load_checkpoint(Path(models_dir) / f"{name}.pt")
        t0 = time.perf_counter()
        probs[name] = predict(model, test_ds, batch_size=1)
        seconds[name] = (time.perf_counter() - t0) / len(test_ds)
        val_probs = predict(model, val_ds)
        val_rel[name] = np.array([relative_entropy(p[0]) for p in val_probs])
        val_iou[name] = np.array([iou(p[0] > 0.5, item[3]) for p, item in zip(val_probs, val_ds.items)])
    t_used = (calibrate_entropy_threshold(np.concatenate(list(val_rel.values())),
                                          np.concatenate(list(val_iou.values())), good_iou)
              if calibrate else paper_cfg.t_ent)
    model_cfg = dataclasses.replace(paper_cfg, t_ent=t_used)
    out = ModelEvaluation([], probs, ckpts, {}, t_used, [], [])
    for name in names:
        result, out.verdicts[name] = evaluate_probabilities(name, probs[name], gts, seconds[name], model_cfg)
        out.results.append(result)
        paper_result, _ = evaluate_probabilities(name, probs[name], gts, seconds[name], paper_cfg)
        out.paper_rows.append(paper_result.row(True))
        out.thresholds.append({"model": name, "t_ent_used": t_used, "t_ent_paper": paper_cfg.t_ent,
                               "val_median_rel_entropy": float(np.median(val_rel[name])),
                               "val_recall_at_t_ent_used": 100 * float(np.mean(val_rel[name] < t_used))})
    return out
