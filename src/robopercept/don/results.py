"""Tables I–IV and the Fig. 5/6 series from the per-model evaluations, with their uncertainty.

One row per (experiment, label) of :func:`robopercept.don.experiments.experiments`, named ``"<experiment>: <label>"``
(the claims file reads rows by that name). For each row:

* ``AUC`` — the mean over seeds of the model's AUC over all test queries pooled (each pair weighted by its
  queries), and ``sigma`` — the standard deviation over seeds (the paper's ± σ, over its 5 seeds; ours over
  ``seeds``);
* ``AUC_lo`` / ``AUC_hi`` — a 95 % bootstrap interval that resamples the test pairs and the seeds, the same resample
  for every row (all models are evaluated on the same pairs and share seed k's draws: comparisons are paired);
* ``track_median_mm`` / ``track_p90_mm`` — the median and 90th percentile of the keypoint-tracking error (§IV-E.2)
  pooled over seeds, ``track_log_skew`` — the skewness of its log (:func:`log_skewness`: > 0, a long right tail on
  Fig. 4's log scale), and ``track_invalid_pct``
  — predictions on pixels without a depth reading; the bootstrap resamples tracked queries for it (empty for a
  model evaluated without tracking: only Table I's are, for Fig. 4);
* ``paper_AUC`` / ``paper_sigma`` — the paper's value where it has the row (robopercept.don.paper).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from . import paper as P
from .evaluate import load_eval
from .experiments import Variant
from .sweep import model_key


@dataclasses.dataclass
class Evaluations:
    """Per variant key: ``auc`` (seeds, pairs), ``track`` (seeds, entries) in mm (NaN: no depth), ``pck`` (seeds, 100);
    ``weight``: each test pair's number of queries (the same pairs for every model)."""

    auc: dict[str, np.ndarray]
    track: dict[str, np.ndarray]
    pck: dict[str, np.ndarray]
    track_group: np.ndarray  # the tracked query of each entry (the same for every model)
    track_object: np.ndarray
    weight: np.ndarray


def load(eval_dir: Path, variants: list[Variant], seeds: int) -> Evaluations:
    auc, track, pck = {}, {}, {}
    group = obj = weight = None
    for v in variants:
        runs = [load_eval(eval_dir, model_key(v, k)) for k in range(seeds)]
        auc[v.key()] = np.stack([r["pair_auc"] for r in runs])
        track[v.key()] = np.stack([r["track_mm"] for r in runs])
        pck[v.key()] = np.stack([r["pck"] for r in runs])
        weight = runs[0]["pair_n"].astype(float)
        if group is None or (len(runs[0]["track_group"]) and not len(group)):
            group, obj = runs[0]["track_group"], runs[0]["track_object"]
    if group is None:
        raise ValueError("no evaluated model")
    return Evaluations(auc, track, pck, group, obj, weight)


def log_skewness(errors: np.ndarray) -> float:
    """Skewness of log10 of the positive ``errors``: the lean of Fig. 4's log-scale histogram. Above 0: a tail to the
    right, longer than a log-normal's (0); a 3-D Gaussian error (Maxwell lengths) gives −0.93, a guess uniform over
    a ball −2.0 (its errors are capped by the scene), a Gaussian bulk with 10 % far outliers +2.0. NaN below three
    errors or without spread."""
    lg = np.log10(errors[errors > 0])
    sd = lg.std() if len(lg) > 2 else 0.0
    return float(((lg - lg.mean()) ** 3).mean() / sd ** 3) if sd > 0 else float("nan")


def _row_values(ev: Evaluations, key: str, seeds: np.ndarray, pairs: np.ndarray | None,
                entries: np.ndarray | None) -> dict[str, float]:
    a = ev.auc[key][seeds]
    w = ev.weight if pairs is None else ev.weight[pairs]
    a = a if pairs is None else a[:, pairs]
    t = ev.track[key][seeds]
    t = t if entries is None or t.shape[1] == 0 else t[:, entries]  # an untracked model has no entries
    per_seed = (a * w).sum(1) / max(w.sum(), 1e-12)  # queries pooled over pairs (eq. (3))
    finite = t[np.isfinite(t)]
    return {"AUC": float(per_seed.mean()), "sigma": float(per_seed.std(ddof=1)) if len(per_seed) > 1 else float("nan"),
            "track_median_mm": float(np.median(finite)) if len(finite) else float("nan"),
            "track_p90_mm": float(np.percentile(finite, 90)) if len(finite) else float("nan"),
            "track_log_skew": log_skewness(finite),
            "track_invalid_pct": float(100 * np.isnan(t).mean()) if t.size else float("nan")}


def tables(experiments: dict[str, list[tuple[str, Variant]]], ev: Evaluations, n_boot: int,
           seed: int, steps: Callable[[Variant], int] | None = None) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """All rows of all experiments (column ``row``: "<experiment>: <label>") and ``n_boot`` paired replicates.
    ``steps``: a row's optimiser updates (:func:`.sweep.steps_for`), written as columns ``batch_size`` and ``steps``
    beside the model key."""
    rows = [(e, lab, v) for e, items in experiments.items() for lab, v in items]
    n_seeds, n_pairs = next(iter(ev.auc.values())).shape
    all_seeds = np.arange(n_seeds)

    def frame(values: list[dict]) -> pd.DataFrame:
        return pd.DataFrame([{"row": f"{e}: {lab}", **val} for (e, lab, _), val in zip(rows, values)])

    point = frame([_row_values(ev, v.key(), all_seeds, None, None) for _, _, v in rows])
    groups = np.unique(ev.track_group)
    members = {g: np.flatnonzero(ev.track_group == g) for g in groups}
    rng = np.random.default_rng(seed)
    reps = []
    for _ in range(n_boot):
        s = rng.choice(all_seeds, size=n_seeds, replace=True)
        p = rng.integers(0, n_pairs, n_pairs)
        picked = rng.choice(groups, size=len(groups), replace=True) if len(groups) else groups
        entries = np.concatenate([members[g] for g in picked]) if len(picked) else np.zeros(0, np.int64)
        cache: dict[str, dict] = {}
        values = []
        for _, _, v in rows:
            if v.key() not in cache:
                cache[v.key()] = _row_values(ev, v.key(), s, p, entries)
            values.append(cache[v.key()])
        reps.append(frame(values))
    auc = np.stack([r.AUC.to_numpy() for r in reps])
    point["AUC_lo"], point["AUC_hi"] = np.percentile(auc, 2.5, axis=0), np.percentile(auc, 97.5, axis=0)
    point.insert(1, "experiment", [e for e, _, _ in rows])
    point.insert(2, "label", [lab for _, lab, _ in rows])
    point.insert(3, "model", [v.key() for _, _, v in rows])
    if steps is not None:
        point.insert(4, "batch_size", [v.batch_size for _, _, v in rows])
        point.insert(5, "steps", [int(steps(v)) for _, _, v in rows])
    paper = [P.value(e, lab, v) for e, lab, v in rows]
    point["paper_AUC"] = [a for a, _ in paper]
    point["paper_sigma"] = [s for _, s in paper]
    return point, reps


def experiment_table(table: pd.DataFrame, experiment: str) -> pd.DataFrame:
    """One experiment's rows, without the "<experiment>: " prefix."""
    t = table[table.experiment == experiment].drop(columns=["experiment", "row"]).reset_index(drop=True)
    return t.rename(columns={"label": experiment})
