"""§IV-C: evaluate grasp segmentation against the grasped object's visible mask (Table I).

For each method and each held-out test grasp we have a binary prediction and, with a filter, a
keep/drop verdict. Following §IV-C:

* **recall** = share of predictions kept; a prediction with no pixels is always dropped, also for
  the unfiltered rows (Table I's unfiltered Subtract has 98.6 % recall, not 100 %);
* **mIOU** and **relative error** (incorrect pixels / ground-truth pixels) are averaged over the
  kept predictions only.

A trained variant has several seeds: its row is the mean over seeds of each seed's numbers, and
:func:`units` gives the per-grasp results behind every row so that
:mod:`robopercept.reporting.uncertainty` can bootstrap test grasps and seeds together (the baselines
are deterministic: one "seed"). A method's unfiltered and -Filter rows are the same runs, so one
replicate draws the same seeds for both (see :data:`RATIOS`).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ..reporting.uncertainty import Ratio, bootstrap, interval
from . import paper
from .filters import FilterConfig, contour_filter, model_filter
from .metrics import iou, relative_error


@dataclasses.dataclass
class MethodResult:
    name: str
    seed: int = dataclasses.field(default=0, kw_only=True)
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


# Table I's metrics as ratios of sums over test grasps (robopercept.reporting.uncertainty), for a run's unfiltered
# predictions and (suffix FILTERED) its -Filter row: both rows of one run are columns of one bootstrap row, so they
# share each replicate's seed draw — Grasp-200 and Grasp-200-Filter are the same three models, and a claim comparing
# them ("filtering raises mIOU") must not carry the seed noise that the shared models cancel.
FILTERED = "_f"
RATIOS = {f"{m}{suffix}": Ratio("test", f"{num}{suffix}" if num else f"kept{suffix}", f"kept{suffix}" if num else None)
          for suffix in ("", FILTERED)
          for m, num in (("mIOU", "iou_kept"), ("error_pct", "error_kept"), ("recall_pct", None))}
METRICS = ("mIOU", "error_pct", "recall_pct")


def units(results: Sequence[MethodResult]) -> pd.DataFrame:
    """Per-grasp results of every run (``method`` = the unfiltered row's name) and seed: ``iou_kept``,
    ``error_kept``, ``kept`` for its unfiltered row and the same with suffix :data:`FILTERED` for its -Filter row."""
    frames = []
    for r in results:
        cols = {"method": r.name, "seed": r.seed, "group": "test", "unit": np.arange(len(r.iou))}
        for suffix, keep in (("", r.nonempty), (FILTERED, r.filtered_keep)):
            keep = keep.astype(float)
            cols.update({f"kept{suffix}": keep, f"iou_kept{suffix}": r.iou * keep,
                         f"error_kept{suffix}": r.error * keep})
        frames.append(pd.DataFrame(cols))
    return pd.concat(frames, ignore_index=True)


def _rows(runs: pd.DataFrame) -> pd.DataFrame:
    """A table of runs (``method`` and the :data:`RATIOS` columns) as Table I's rows: each run's unfiltered row,
    then its -Filter row."""
    out = []
    for _, r in runs.iterrows():
        for suffix, name in (("", r["method"]), (FILTERED, r["method"] + "-Filter")):
            out.append({"method": name, **{m: r[f"{m}{suffix}"] for m in METRICS}})
    return pd.DataFrame(out)


def table1(results: Sequence[MethodResult], n_boot: int = 0, seed: int = 0) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Our rows (filtered and unfiltered for every method; trained variants averaged over their seeds)
    beside the paper's, paper row order first; with ``n_boot`` > 0 also the bootstrap replicates (test grasps shared
    by every row, seeds shared by a run's two rows) and each row's 95 % interval of mIOU, error and recall."""
    u = units(results)
    point, reps = bootstrap(u, RATIOS, n_boot=max(1, n_boot), seed=seed)
    reps = [_rows(r) for r in reps] if n_boot > 0 else []
    point = _rows(point).set_index("method")
    per_seed = u.groupby(["method", "seed"])[["kept", f"kept{FILTERED}"]].sum().groupby("method").mean()
    kept = pd.concat([per_seed["kept"], per_seed[f"kept{FILTERED}"].rename(lambda m: m + "-Filter")])
    seeds = u.groupby("method").seed.nunique()
    seeds = pd.concat([seeds, seeds.rename(lambda m: m + "-Filter")])
    ci = pd.concat([interval(reps, m).set_index("method") for m in METRICS], axis=1) if reps else None
    order = list(PAPER_TABLE1) + [m for m in point.index if m not in PAPER_TABLE1]
    out = []
    for m in order:
        if m not in point.index:
            continue
        paper = PAPER_TABLE1.get(m, (np.nan, np.nan, np.nan))
        row = {"method": m, "mIOU": point.loc[m, "mIOU"], "error_pct": point.loc[m, "error_pct"],
               "recall_pct": point.loc[m, "recall_pct"], "kept": float(kept[m]), "seeds": int(seeds[m])}
        if ci is not None:
            row.update({f"{k}_{end}": ci.loc[m, f"{k}_{end}"] for k in METRICS for end in ("lo", "hi")})
        out.append({**row, "paper_mIOU": paper[0], "paper_error_pct": paper[1], "paper_recall_pct": paper[2]})
    return pd.DataFrame(out), reps


def claims_by_seed(claims_file, results: Sequence[MethodResult]) -> pd.DataFrame:
    """Each claim evaluated on each seed's own Table I: the rows of one run (the deterministic baselines, an
    ablation trained with one seed) beside the models trained with seed k. The bootstrap over test grasps and seeds
    gives the verdict; this shows whether the seeds agree (:func:`seed_agreement`)."""
    from ..reporting.claims import evaluate_claims

    multi = {r.name for r in results if r.seed > 0}
    seeds = sorted({r.seed for r in results if r.name in multi}) or [0]
    per_seed = []
    for k in seeds:
        mine = [r if r.name not in multi else dataclasses.replace(r, seed=0)  # one seed a row: numbered 0
                for r in results if r.name not in multi and r.seed == 0 or r.name in multi and r.seed == k]
        t, _ = table1(mine)
        per_seed.append(evaluate_claims(claims_file, t))
    return seed_agreement(per_seed)


def seed_agreement(per_seed: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """From one claims evaluation per seed (``id``, ``holds``): ``id``, ``seeds`` (seed tables the claim could be
    evaluated on), ``seeds_held`` and ``held_by_seed`` ("held, missed, …" in seed order; "—" where a seed's table
    lacked a row the claim reads)."""
    tables = [v.set_index("id") for v in per_seed]
    out = []
    for c in (list(tables[0].index) if tables else []):
        held = [v.loc[c, "holds"] for v in tables]
        out.append({"id": c, "seeds": sum(h is not None for h in held), "seeds_held": sum(bool(h) for h in held),
                    "held_by_seed": ", ".join("—" if h is None else "held" if h else "missed" for h in held)})
    return pd.DataFrame(out, columns=["id", "seeds", "seeds_held", "held_by_seed"])


def paired_interval(replicates: Sequence[pd.DataFrame], a: str, b: str, metric: str = "mIOU",
                    level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of ``metric(a) − metric(b)`` over bootstrap replicates of :func:`table1` (the same
    resampled test grasps in both rows, so the difference is paired); NaN replicates are left out."""
    if not replicates:
        raise ValueError("paired_interval: no bootstrap replicates (table1 with n_boot > 0)")
    d = [r.set_index("method")[metric][a] - r.set_index("method")[metric][b] for r in replicates]
    lo, hi = np.nanquantile(d, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def against_defaults(defaults: Sequence[MethodResult], table: pd.DataFrame) -> pd.DataFrame:
    """The background baselines run at OpenCV's defaults (``defaults``, one result per method) beside Table I's tuned
    rows (``table``) and the paper's: one row per method and -Filter row, columns ``defaults_*``, ``tuned_*`` and
    ``paper_*`` of mIOU, error and recall."""
    tuned = table.set_index("method")
    rows = []
    for r in defaults:
        for filtered in (False, True):
            row = r.row(filtered)
            name = row["method"]
            rows.append({"method": name, **{f"defaults_{k}": row[k] for k in METRICS},
                         **{f"tuned_{k}": tuned.loc[name, k] for k in METRICS},
                         **{f"paper_{k}": v for k, v in zip(METRICS, PAPER_TABLE1[name])}})
    return pd.DataFrame(rows)


def seed_spread(results: Sequence[MethodResult]) -> pd.DataFrame:
    """Per row with several seeds: each seed's mIOU and the std over seeds (ddof=1)."""
    rows = []
    for r in results:
        for filtered in (False, True):
            rows.append({"method": r.name + ("-Filter" if filtered else ""), "seed": r.seed, **{
                k: v for k, v in r.row(filtered).items() if k in ("mIOU", "error_pct", "recall_pct")}})
    df = pd.DataFrame(rows)
    g = df.groupby("method", sort=False)
    out = g.mIOU.agg(["mean", "std", "min", "max", "count"]).reset_index()
    return out[out["count"] > 1].rename(columns={"mean": "mIOU_mean", "std": "mIOU_std_seeds", "min": "mIOU_min",
                                                  "max": "mIOU_max", "count": "seeds"})


@dataclasses.dataclass
class ModelEvaluation:
    """Everything Table I needs from the grasp segmentation models (one entry per (variant, seed))."""

    results: list[MethodResult]  # -Filter rows use the shared threshold ``t_used``
    probs: dict[tuple[str, int], np.ndarray]  # test probabilities (N, 2, H, W) per model
    checkpoints: dict[tuple[str, int], dict]
    verdicts: dict[tuple[str, int], pd.DataFrame]  # per-filter verdicts on the test grasps
    t_used: float
    thresholds: list[dict]  # per model: validation confidence and recall at each threshold
    calibrations: dict[str, float]  # name -> t_ent: "F1 (ours)" (when calibrating), "recall-matched", "paper"
    results_at: dict[str, list[MethodResult]]  # the same models' results under each calibration
    table_calibration: str = "F1 (ours)"  # the calibration Table I's -Filter rows use ("paper" when not calibrating)


def calibration_pool(values: dict[tuple[str, int], np.ndarray], names: Sequence[str] | None) -> np.ndarray:
    """The per-grasp validation values of the models named ``names`` (every model when None), concatenated in the
    models' order: the pool one entropy threshold is calibrated on."""
    keys = [k for k in values if names is None or k[0] in set(names)]
    if not keys:
        raise ValueError(f"entropy calibration: none of the models {sorted({k[0] for k in values})} is in the "
                         f"calibration pool {list(names or [])}")
    return np.concatenate([values[k] for k in keys])


def read_checkpoints(models: Sequence[tuple[str, int]], models_dir) -> dict[tuple[str, int], dict]:
    """Every (variant, seed)'s checkpoint, read before anything is computed: a missing or truncated one stops the
    stage at once, naming the file and ``graspseg_train``, instead of after the baselines' tuning (minutes on the cpu
    profile). Hand the result to :func:`evaluate_models` (``checkpoints``): the files are read once."""
    from .train import read_checkpoint
    from .variants import checkpoint_path

    return {key: read_checkpoint(checkpoint_path(models_dir, *key)) for key in models}


@dataclasses.dataclass
class ModelPredictions:
    """One model's predictions for :func:`evaluate_models`."""

    probs: np.ndarray  # test grasps: sigmoid probabilities (N, 2, H, W), float32
    seconds_per_pair: float  # a timing (kept apart from the committed tables)
    val_rel_entropy: np.ndarray  # validation grasps: relative entropy of the visible prediction
    val_iou: np.ndarray  # validation grasps: IOU of the visible prediction at 0.5
    val_passes_other: np.ndarray  # validation grasps: every filter but the entropy one (the calibrations set it)


def predict_model(checkpoint: dict, test_ds, val_ds, paper_cfg: FilterConfig) -> ModelPredictions:
    """Predict the test and validation grasps with one checkpoint (:func:`train.predict`: one torch thread, so the
    bytes are the same in this process and in a pool worker, on any machine)."""
    from .filters import passes_all_but_entropy, relative_entropy
    from .train import model_from_checkpoint, predict

    model = model_from_checkpoint(checkpoint)
    t0 = time.perf_counter()
    probs = predict(model, test_ds, batch_size=16)  # eval mode: batch size changes nothing but float rounding
    seconds = (time.perf_counter() - t0) / len(test_ds)  # per pair at batch 16
    val_probs = predict(model, val_ds)
    return ModelPredictions(
        probs, seconds,
        np.array([relative_entropy(p[0]) for p in val_probs]),
        np.array([iou(p[0] > 0.5, item[3]) for p, item in zip(val_probs, val_ds.items)]),
        np.array([passes_all_but_entropy(p[0], p[1], paper_cfg) for p in val_probs]))


_WORKER_DATASETS: dict[tuple, tuple] = {}


def _predict_task(checkpoint: dict, *, test_folders: tuple[str, ...], val_folders: tuple[str, ...],
                  paper_cfg: FilterConfig) -> ModelPredictions:
    """:func:`predict_model` in a pool worker, which reads the grasps once (not once per model)."""
    from .data import GraspSegDataset

    key = (test_folders, val_folders)
    if key not in _WORKER_DATASETS:
        _WORKER_DATASETS.clear()
        _WORKER_DATASETS[key] = (GraspSegDataset(list(test_folders)), GraspSegDataset(list(val_folders)))
    return predict_model(checkpoint, *_WORKER_DATASETS[key], paper_cfg)


def evaluate_models(models: Sequence[tuple[str, int]], models_dir, test_ds, val_ds, gts: Sequence[np.ndarray],
                    paper_cfg: FilterConfig, calibrate: bool, good_iou: float,
                    recall_reference: str = "Grasp-100",
                    calibration_models: Sequence[str] | None = None,
                    checkpoints: dict[tuple[str, int], dict] | None = None, workers: int = 1) -> ModelEvaluation:
    """Predict the test and validation grasps with each (variant, seed), choose one entropy threshold
    for all models on the pooled validation predictions (as the paper uses one ``t_ent``; see
    ``filters.calibrate_entropy_threshold``) unless ``calibrate`` is off, and evaluate the -Filter rows
    under three thresholds: that one ("F1 (ours)"; without ``calibrate`` Table I uses "paper" and this entry is
    absent), the paper's 0.1, and the one at which
    ``recall_reference``'s validation keep rate equals the paper's recall for its -Filter row
    ("recall-matched": our whole filter — non-empty, occlusion, entropy, contours — as selective on
    validation grasps as the paper's was on its test grasps). ``calibration_models``: the variants whose validation
    predictions set the F1 threshold (the paper's own rows; our ablations are evaluated at it but do not choose it);
    every model when None. ``checkpoints``: the models' checkpoints already read (:func:`read_checkpoints`); read
    from ``models_dir`` when None. ``workers``: models predicted at once, in one-thread processes (1: here, on one
    thread); the same bytes either way (:func:`predict_model`)."""
    from .filters import calibrate_entropy_threshold

    if checkpoints is None:
        checkpoints = read_checkpoints(models, models_dir)
    missing = [f"{name} seed {k}" for name, k in models if (name, k) not in checkpoints]
    if missing:
        raise ValueError(f"evaluate_models: no checkpoint given for {', '.join(missing)}; read every model's with "
                         "read_checkpoints")
    if workers < 1:
        raise ValueError(f"evaluate_models: workers must be >= 1, got {workers}")
    ckpts = {key: checkpoints[key] for key in models}
    if workers == 1 or len(models) == 1:
        preds = [predict_model(ckpts[key], test_ds, val_ds, paper_cfg) for key in models]
    else:
        from ..world.shards import process_pool

        task = functools.partial(_predict_task, test_folders=tuple(map(str, test_ds.folders)),
                                 val_folders=tuple(map(str, val_ds.folders)), paper_cfg=paper_cfg)
        with process_pool(min(workers, len(models))) as pool:
            preds = list(pool.map(task, [ckpts[key] for key in models]))
    probs = {key: p.probs for key, p in zip(models, preds)}
    seconds = {key: p.seconds_per_pair for key, p in zip(models, preds)}
    val_rel = {key: p.val_rel_entropy for key, p in zip(models, preds)}
    val_iou = {key: p.val_iou for key, p in zip(models, preds)}
    val_other = {key: p.val_passes_other for key, p in zip(models, preds)}
    f1_t = (calibrate_entropy_threshold(calibration_pool(val_rel, calibration_models),
                                        calibration_pool(val_iou, calibration_models), good_iou)
            if calibrate else paper_cfg.t_ent)
    refs = [k for k in val_rel if k[0] == recall_reference] or list(val_rel)
    ref_rel = np.concatenate([val_rel[k] for k in refs])
    ref_other = np.concatenate([val_other[k] for k in refs])
    target = paper.TABLE1.get(f"{recall_reference}-Filter", (np.nan, np.nan, 50.0))[2] / 100
    recall_t = recall_matched_threshold(ref_rel, ref_other, target)
    main = "F1 (ours)" if calibrate else "paper"
    calibrations = {"F1 (ours)": f1_t} if calibrate else {}
    calibrations |= {"recall-matched": recall_t, "paper": paper_cfg.t_ent}
    out = ModelEvaluation([], probs, ckpts, {}, f1_t, [], calibrations, {c: [] for c in calibrations}, main)
    for cname, t in calibrations.items():
        cfg = dataclasses.replace(paper_cfg, t_ent=t)
        for key in models:
            result, verdicts = evaluate_probabilities(key[0], probs[key], gts, seconds[key], cfg)
            result.seed = key[1]
            out.results_at[cname].append(result)
            if cname == main:
                out.results.append(result)
                out.verdicts[key] = verdicts
    for key in models:
        out.thresholds.append({"model": key[0], "seed": key[1],
                               "val_median_rel_entropy": float(np.median(val_rel[key])),
                               **{f"val_recall_at_{c} (%)": 100 * float(np.mean(val_other[key] & (val_rel[key] < t)))
                                  for c, t in calibrations.items()}})
    return out


def recall_matched_threshold(rel_entropy: np.ndarray, passes_other_filters: np.ndarray, target: float) -> float:
    """The entropy threshold at which the *whole* filter keeps a share ``target`` of the predictions
    (a kept prediction must also pass the non-empty, occlusion and contour filters). If the other
    filters alone keep less than ``target``, every prediction they keep is kept."""
    rel = np.asarray(rel_entropy, float)
    other = np.asarray(passes_other_filters, bool)
    if rel.shape != other.shape or rel.size == 0:
        raise ValueError("need one relative entropy and one filter verdict per validation prediction")
    k = int(round(min(1.0, max(0.0, target)) * rel.size))
    candidates = np.sort(rel[other])
    if k == 0:
        return float(candidates[0]) * (1 - 1e-9) if candidates.size else float(rel.min())
    if k > candidates.size:
        return float(candidates[-1]) * (1 + 1e-9) if candidates.size else float(rel.max()) * (1 + 1e-9)
    return float(candidates[k - 1]) * (1 + 1e-9)  # "< t" keeps the k least uncertain of those passing
