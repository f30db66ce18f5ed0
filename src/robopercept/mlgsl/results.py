"""mlgsl §IV-C: every trained run evaluated once, and the paper's numbers for comparison.

:func:`evaluate_runs` gives one row per (run, seed): Top-1 / Top-5 on the test objects, Top-1 and
the collision-free ratio on the cluttered test scenes, and — for the runs of Table I — accuracy and
recall against simulated trials (:class:`robopercept.mlgsl.robot.TrialOracle`). :func:`aggregate`
averages the seeds (mean, std, best), the way the paper reports "81.6 ± 1.2 %".
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..seed import derive_seed
from . import grasps as G
from . import paper
from .data import Item
from .metrics import Selection, accuracy_recall, collision_free_ratio, predict, sample_uniform, topk_success
from .train import RUNS, Run, checkpoint_path, load_model

TABLE1_RUNS = ("MLGSL", "MLGSL (2 labels)", "ImgMSE", "ImgMSE (2 labels)")

# The paper's numbers (Table I; §IV-C.3-5 in the text). Shown only in columns labeled "paper".
PAPER_TABLE1 = paper.TABLE1
PAPER_TEXT = paper.TEXT


def evaluate_runs(models_dir: str | Path, n_seeds: int, test: list[Item], clutter_test: list[Item], image_size: int,
                  peak_distance_at_300: int, smooth_sigma_at_300: float, finger_px: float, oracle=None,
                  test_scenes: list[dict] | None = None, test_perfect: list[np.ndarray] | None = None,
                  n_accuracy_images: int = 0, n_accuracy_grasps: int = 100, quality_threshold: float = 0.5,
                  seed: int = 0, runs: tuple[Run, ...] = RUNS,
                  test_masks: list[np.ndarray] | None = None) -> pd.DataFrame:
    """One row per (run, seed). ``test_masks`` (object masks at the model's size) adds accuracy/recall
    for grasps sampled uniformly *on the object* (columns ``*_on_object``), next to the paper's
    sampling over the whole image."""
    rows = []
    for run in runs:
        for s in range(n_seeds):
            model, ckpt = load_model(checkpoint_path(models_dir, run, s))
            sel = Selection(image_size, peak_distance_at_300, smooth_sigma_at_300, float(ckpt["jaw_px"]))
            single = topk_success(model, test, sel)
            clut = topk_success(model, clutter_test, sel, ks=(1,))
            row = {"run": run.name, "seed": s, "top1": single["top1"], "top5": single["top5"],
                   "top1_epoch1": ckpt["history"][0]["test_top1"], "best_epoch": ckpt["best_epoch"],
                   "clutter_top1": clut["top1"],
                   "collision_free": collision_free_ratio(model, clutter_test, sel, finger_px)}
            if oracle is not None and run.name in TABLE1_RUNS and n_accuracy_images > 0:
                items = test[:n_accuracy_images]
                row.update(accuracy_recall_of(model, sel, items, test_scenes, test_perfect, oracle, n_accuracy_grasps,
                                              quality_threshold, derive_seed(seed, "mlgsl_accuracy", s)))
                if test_masks is not None:
                    on = accuracy_recall_of(model, sel, items, test_scenes, test_perfect, oracle, n_accuracy_grasps,
                                            quality_threshold, derive_seed(seed, "mlgsl_accuracy_object", s),
                                            regions=test_masks)
                    row.update({f"{k}_on_object": v for k, v in on.items()})
            rows.append(row)
    return pd.DataFrame(rows)


def accuracy_recall_of(model, sel: Selection, items: list[Item], scenes, perfect, oracle, n: int, threshold: float,
                       seed: int, regions: list[np.ndarray] | None = None) -> dict[str, float]:
    """§IV-A: ``n`` grasps per image sampled uniformly (over the image, or over ``regions``),
    predicted ``q̂ > threshold`` vs the simulated trial."""
    rng = np.random.default_rng(seed)
    maps = predict(model, [it.depth for it in items])
    pred, true = [], []
    for k, (m, it, scene, depth) in enumerate(zip(maps, items, scenes, perfect)):
        if regions is None:
            grasps, q = sample_uniform(m, n, rng, sel)
        else:
            grasps, q = sample_in_region(m, regions[k], n, rng, sel)
        pred.extend(q > threshold)
        true.extend(oracle.outcomes(scene, depth, grasps, it.scale))
    return accuracy_recall(np.array(pred), np.array(true))


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


def aggregate(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds (and std, best Top-1), one row per run, in RUNS order."""
    metrics = [c for c in per_seed.columns if c not in ("run", "seed")]
    g = per_seed.groupby("run", sort=False)
    out = g[metrics].mean()
    out["top1_std"] = g["top1"].std(ddof=0)
    out["top1_best"] = g["top1"].max()
    out["seeds"] = g.size()
    return out.reset_index()


def table1(agg: pd.DataFrame) -> pd.DataFrame:
    """Table I: ours (mean over seeds) beside the paper's."""
    rows = []
    idx = agg.set_index("run")
    for name in TABLE1_RUNS:
        r = idx.loc[name]
        paper = PAPER_TABLE1[name]
        rows.append({"method": name, "Top-1": r["top1"], "Top-5": r["top5"],
                     "Accuracy": r.get("accuracy", math.nan), "Recall": r.get("recall", math.nan),
                     "Accuracy (on object)": r.get("accuracy_on_object", math.nan),
                     "Recall (on object)": r.get("recall_on_object", math.nan),
                     "Top-1 (paper)": paper["top1"], "Top-5 (paper)": paper["top5"],
                     "Accuracy (paper)": paper["accuracy"], "Recall (paper)": paper["recall"]})
    return pd.DataFrame(rows)
