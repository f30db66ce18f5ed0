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
from typing import Callable, Sequence

import numpy as np
import pandas as pd

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
PAPER_TABLE1 = {
    "Subtract": (51.1, 396, 98.6), "Subtract-Filter": (61.6, 44.5, 50.4),
    "MOG": (51.8, 333, 98.3), "MOG-Filter": (59.9, 47.1, 65.4),
    "MOG2": (32.4, 1289, 99.8), "MOG2-Filter": (47.3, 970, 42.0),
    "LSBP": (37.7, 1050, 99.8), "LSBP-Filter": (55.6, 359, 44.0),
    "Grasp-100-NoAug": (78.3, 31.5, 100), "Grasp-100": (78.7, 22.6, 99.8),
    "Grasp-100-NoAug-Filter": (80.4, 26.9, 92.3), "Grasp-200": (86.8, 14.3, 99.6),
    "Grasp-100-Filter": (91.1, 9.05, 29.4), "Grasp-200-Filter": (92.6, 7.63, 63.9),
}


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
