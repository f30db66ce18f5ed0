"""mlgsl §IV-C: every trained run evaluated once, and the paper's numbers for comparison.

:func:`evaluate_runs` gives one row per (run, seed): Top-1 / Top-5 on the test objects, Top-1 and
the collision-free ratio on the cluttered test scenes, and — for the runs of Table I — accuracy and
recall against simulated trials (:class:`robopercept.mlgsl.robot.TrialOracle`), and the per-image
results behind them. :func:`aggregate` averages the seeds (mean, std over seeds, best) the way the
paper reports "81.6 ± 1.2 %", and bootstraps seeds and test images together
(:mod:`robopercept.reporting.uncertainty`) for the intervals and the claims' verdicts.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..reporting.uncertainty import Ratio, bootstrap, interval
from ..seed import derive_seed
from . import grasps as G
from . import paper
from .data import Item
from .metrics import Selection, collision_per_image, predict, sample_uniform, topk_hits
from .train import RUNS, Run, checkpoint_path, load_model

TABLE1_RUNS = ("MLGSL", "MLGSL (2 labels)", "ImgMSE", "ImgMSE (2 labels)")

# The paper's numbers (Table I; §IV-C.3-5 in the text). Shown only in columns labeled "paper".
PAPER_TABLE1 = paper.TABLE1
PAPER_TEXT = paper.TEXT


# Every metric as a ratio of sums over test units (robopercept.reporting.uncertainty): the group says
# which units (test images, cluttered scenes, the accuracy images, or one number per seed).
RATIOS = {
    "top1": Ratio("test", "top1"), "top5": Ratio("test", "top5"),
    "clutter_top1": Ratio("clutter", "clutter_top1"),
    "collision_free": Ratio("clutter", "free", "on_object"), "on_object": Ratio("clutter", "on_object"),
    "top1_epoch1": Ratio("seed", "top1_epoch1", scale=1.0),
    **{f"{name}{suffix}": Ratio(group, num, den)
       for suffix, group in (("", "accuracy"), ("_on_object", "accuracy_object"))
       for name, num, den in (("accuracy", "correct", "n"), ("recall", "tp", "pos"), ("precision", "tp", "pp"),
                              ("true_positive_rate_of_samples", "pos", "n"), ("predicted_positive_rate", "pp", "n"))},
}


def evaluate_runs(models_dir: str | Path, n_seeds: int, test: list[Item], clutter_test: list[Item], image_size: int,
                  ecfg, finger_px: float, oracle=None, test_scenes: list[dict] | None = None,
                  test_perfect: list[np.ndarray] | None = None, seed: int = 0, runs: tuple[Run, ...] = RUNS,
                  test_masks: list[np.ndarray] | None = None, workers: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every (run, seed) on the test sets. Returns ``(per_seed, units)``: one row per (run, seed) with
    its metrics, and the per-unit results behind them (one row per run, seed, unit group, unit) for
    :func:`aggregate`'s bootstrap. ``test_masks`` (object masks at the model's size) adds
    accuracy/recall for grasps sampled uniformly *on the object* (``*_on_object``), next to the
    paper's sampling over the whole image; accuracy/recall are measured for the runs of Table I.

    With ``workers`` > 1 the (run, seed) pairs are evaluated in that many one-thread processes, each with its own
    copy of ``oracle`` (a :class:`robopercept.mlgsl.robot.TrialOracle` pickles as a fresh world); the result is the
    same for any ``workers`` (a stored scene is placed anew before its trials)."""
    jobs = [(run, s) for run in runs for s in range(n_seeds)]
    args = (models_dir, test, clutter_test, image_size, ecfg, finger_px, oracle, test_scenes, test_perfect, seed,
            test_masks)
    if workers <= 1 or len(jobs) < 2:
        done = [_evaluate_one(run, s, *args) for run, s in jobs]
    else:
        from ..world.shards import process_pool

        with process_pool(min(workers, len(jobs))) as pool:
            futures = [pool.submit(_evaluate_one, run, s, *args) for run, s in jobs]
            done = [f.result() for f in futures]
    rows = [row for row, _ in done]
    units = [u for _, part in done for u in part]
    units_df = pd.DataFrame(units)
    per_seed = []
    for row in rows:  # each seed's own metrics: the same ratios over that seed alone
        one = units_df[(units_df.method == row["method"]) & (units_df.seed == row["seed"])].assign(seed=0)
        t, _ = bootstrap(one, _present(one), n_boot=1)
        per_seed.append({**row, **t.drop(columns="method").iloc[0].to_dict()})
    return pd.DataFrame(per_seed), units_df


def _evaluate_one(run: Run, s: int, models_dir, test, clutter_test, image_size, ecfg, finger_px, oracle, test_scenes,
                  test_perfect, seed, test_masks) -> tuple[dict, list[dict]]:
    """One (run, seed) of :func:`evaluate_runs`: its row and its per-unit results."""
    n_acc = ecfg.n_accuracy_images if oracle is not None else 0
    units = []
    model, ckpt = load_model(checkpoint_path(models_dir, run, s))
    sel = Selection.of(image_size, ecfg)
    hits = topk_hits(model, test, sel)
    clut = topk_hits(model, clutter_test, sel, ks=(1,))[:, 0]
    col = collision_per_image(model, clutter_test, sel, finger_px)
    key = {"method": run.name, "seed": s}
    units += [{**key, "group": "test", "unit": i, "top1": float(h[0]), "top5": float(h[1])}
              for i, h in enumerate(hits)]
    units += [{**key, "group": "clutter", "unit": i, "clutter_top1": float(c), "on_object": float(o),
               "free": float(f)} for i, (c, o, f) in enumerate(zip(clut, col["on_object"], col["free"]))]
    units.append({**key, "group": "seed", "unit": 0, "top1_epoch1": float(ckpt["history"][0]["test_top1"])})
    if n_acc > 0 and run.name in TABLE1_RUNS:
        items = test[:n_acc]
        for group, regions, tag in (("accuracy", None, "mlgsl_accuracy"),
                                    ("accuracy_object", test_masks, "mlgsl_accuracy_object")):
            if group == "accuracy_object" and test_masks is None:
                continue
            per_image = accuracy_counts(model, sel, items, test_scenes, test_perfect, oracle,
                                        ecfg.n_accuracy_grasps, ecfg.quality_threshold,
                                        derive_seed(seed, tag, s), regions)
            units += [{**key, "group": group, "unit": i, **c} for i, c in enumerate(per_image)]
    return {**key, "best_epoch": ckpt["best_epoch"]}, units


def _present(units: pd.DataFrame) -> dict:
    groups = set(units["group"])
    return {k: r for k, r in RATIOS.items() if r.group in groups}


def accuracy_counts(model, sel: Selection, items: list[Item], scenes, perfect, oracle, n: int, threshold: float,
                    seed: int, regions: list[np.ndarray] | None = None) -> list[dict[str, float]]:
    """§IV-A per image: ``n`` grasps sampled uniformly (over the image, or over ``regions``), predicted
    ``q̂ > threshold`` vs the simulated trial; counts ``n, correct, tp, pos, pp`` per image."""
    rng = np.random.default_rng(seed)
    maps = predict(model, [it.depth for it in items])
    out = []
    for k, (m, it, scene, depth) in enumerate(zip(maps, items, scenes, perfect)):
        if regions is None:
            grasps, q = sample_uniform(m, n, rng, sel)
        else:
            grasps, q = sample_in_region(m, regions[k], n, rng, sel)
        pred = q > threshold
        true = np.array(oracle.outcomes(scene, depth, grasps, it.scale), bool)
        out.append({"n": float(n), "correct": float((pred == true).sum()), "tp": float((pred & true).sum()),
                    "pos": float(true.sum()), "pp": float(pred.sum())})
    return out


def accuracy_recall_of(model, sel: Selection, items: list[Item], scenes, perfect, oracle, n: int, threshold: float,
                       seed: int, regions: list[np.ndarray] | None = None) -> dict[str, float]:
    """§IV-A over all ``items`` at once (the per-image counts of :func:`accuracy_counts`, summed)."""
    c = pd.DataFrame(accuracy_counts(model, sel, items, scenes, perfect, oracle, n, threshold, seed, regions)).sum()
    pct = lambda a, b: 100.0 * c[a] / c[b] if c[b] else math.nan  # noqa: E731
    return {"accuracy": pct("correct", "n"), "recall": pct("tp", "pos"), "precision": pct("tp", "pp"),
            "true_positive_rate_of_samples": pct("pos", "n"), "predicted_positive_rate": pct("pp", "n")}


def sample_in_region(maps: dict[str, np.ndarray], region: np.ndarray, n: int, rng: np.random.Generator,
                     sel: Selection) -> tuple[list, np.ndarray]:
    """``n`` grasps at pixels drawn uniformly inside ``region`` (bool, the maps' size)."""
    rows, cols = np.nonzero(region)
    if not len(rows):
        raise ValueError("empty region: nothing to sample on")
    idx = rng.integers(0, len(rows), size=n)
    grasps = [G.grasp_at(maps, int(rows[i]), int(cols[i]), width_scale_px=sel.width_scale_px, jaw_px=sel.jaw_px)
              for i in idx]
    return grasps, np.array([float(maps["q"][rows[i], cols[i]]) for i in idx])


def object_masks(samples, size: int) -> list[np.ndarray]:
    """Stored object masks resized (nearest) to the model's input size."""
    import cv2

    return [cv2.resize(s.mask.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST).astype(bool)
            for s in samples]


def aggregate(per_seed: pd.DataFrame, units: pd.DataFrame, n_boot: int, seed: int,
              runs: tuple[Run, ...] = RUNS) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """One row per run (RUNS order): each metric's mean over seeds, ``top1_std`` (over seeds,
    ddof=1; NaN with one seed), ``top1_lo/hi`` (95 % bootstrap interval over seeds and test images),
    ``seeds``; and the bootstrap replicates of the table (for the claims' verdicts)."""
    order = [r.name for r in runs if r.name in set(units["method"])]
    point, reps = bootstrap(units, _present(units), n_boot=n_boot, seed=derive_seed(seed, "mlgsl_bootstrap"))
    point = point.set_index("method").loc[order].reset_index()
    g = per_seed.groupby("method", sort=False)
    extra = pd.DataFrame({"top1_std": g["top1"].std(ddof=1), "top1_best": g["top1"].max(), "seeds": g.size(),
                          "best_epoch": g["best_epoch"].mean()}).reindex(order).reset_index(names="method")
    ci = interval(reps, "top1").set_index("method").loc[order].reset_index()
    out = point.merge(extra, on="method").merge(ci, on="method")
    return out, reps


def table1(agg: pd.DataFrame) -> pd.DataFrame:
    """Table I: ours (mean over seeds) beside the paper's."""
    rows = []
    idx = agg.set_index("method")
    for name in TABLE1_RUNS:
        r = idx.loc[name]
        paper = PAPER_TABLE1[name]
        rows.append({"method": name, "Top-1": r["top1"], "Top-1 95% CI": f"{r['top1_lo']:.1f}-{r['top1_hi']:.1f}",
                     "Top-1 std (seeds)": r["top1_std"], "Top-5": r["top5"],
                     "Accuracy": r.get("accuracy", math.nan), "Recall": r.get("recall", math.nan),
                     "Accuracy (on object)": r.get("accuracy_on_object", math.nan),
                     "Recall (on object)": r.get("recall_on_object", math.nan),
                     "Top-1 (paper)": paper["top1"], "Top-5 (paper)": paper["top5"],
                     "Accuracy (paper)": paper["accuracy"], "Recall (paper)": paper["recall"]})
    return pd.DataFrame(rows)


def chance_levels(agg: pd.DataFrame, quality_threshold: float) -> str:
    """Markdown: the accuracy a predictor that calls every sampled grasp bad would get, beside each model's, and
    whether MLGSL is the more conservative one (predicts q̂ > ``quality_threshold`` for fewer on-object grasps),
    the paper's reading of its lower recall. Each sampled grasp takes the model's own angle and width, so the share
    that succeeds (``true_positive_rate_of_samples``, over the image and ``_on_object``) differs by model.

    ``agg``: :func:`aggregate`'s table (rates in %), with rows ``MLGSL`` and ``ImgMSE``."""
    models = ("MLGSL", "ImgMSE")
    r = agg.set_index("method")
    missing = [m for m in models if m not in r.index]
    if missing:
        raise ValueError(f"chance_levels: no row for {missing} in the runs table")
    ml_pp = r.loc["MLGSL", "predicted_positive_rate_on_object"]
    gg_pp = r.loc["ImgMSE", "predicted_positive_rate_on_object"]
    per_model = " ".join(
        f"{m}: {r.loc[m, 'true_positive_rate_of_samples']:.1f} % of the grasps sampled over the image succeed "
        f"(all-negative accuracy {100 - r.loc[m, 'true_positive_rate_of_samples']:.1f} %, the model's "
        f"{r.loc[m, 'accuracy']:.1f} %), on the object {r.loc[m, 'true_positive_rate_of_samples_on_object']:.1f} % "
        f"(all-negative {100 - r.loc[m, 'true_positive_rate_of_samples_on_object']:.1f} %, the model's "
        f"{r.loc[m, 'accuracy_on_object']:.1f} %)." for m in models)
    reading = (f"Here too MLGSL calls fewer on-object grasps good than ImgMSE ({ml_pp:.1f} vs {gg_pp:.1f} %)."
               if ml_pp < gg_pp else
               f"Here MLGSL is *not* the more conservative one ({ml_pp:.1f} vs {gg_pp:.1f} % predicted positive), so "
               "that reading does not carry over to our runs.")
    return ("Each sampled grasp takes the model's own angle and width, so the share that succeeds in the simulator "
            "differs by model; a predictor that calls every grasp bad would score 100 % minus that share. "
            f"{per_model} MLGSL predicts q̂ > {quality_threshold} for {ml_pp:.1f} % of the on-object grasps, ImgMSE "
            f"for {gg_pp:.1f} %. MLGSL's loss fixes Q̂ only *up to a scale* (it is normalised into a distribution), "
            "so its absolute values are not calibrated success rates; the paper reads its lower recall as \"a "
            f"conservative estimation of the grasp quality\". {reading}")
