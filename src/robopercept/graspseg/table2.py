"""§V, Table II: the table of the paper's ten instance segmentation models (and one reference row of ours), with its uncertainty and claims.

The models are trained by :mod:`robopercept.graspseg.table2_train` (its docstring lists the rows and what
each pastes); this module reads their test predictions (a COCO results JSON per ``<row>_seed<k>``): per image
matches once (:mod:`robopercept.graspseg.instance_eval`), then a bootstrap that resamples test images (the same
resample for every row: comparisons are paired) and each row's seeds. Nothing here enters the models' plan
identity: editing the table or its claims never retrains a model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .instance_eval import METRICS, ImageMatches, area_ranges, match_images, table2_metrics
from .labeled import labeled_images
from ..common.records import read_json
from .table2_train import ROWS, model_key


# ---------------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------------

UNTRAINED_VAL_AP = 1.0  # a run whose best validation mask AP (%) stayed below this never learned to segment


EVIDENCE_COLUMNS = ["claim", "verdict", "row", "seed", "val_AP_best", "best_step", "steps", "unconverged", "test_AP"]


def claims_evidence(verdict: pd.DataFrame, summary: pd.DataFrame,
                    matches: dict[tuple[str, int], list[ImageMatches]]) -> pd.DataFrame:
    """For each evaluated claim that is not held, one line per trained run of each row its expression names: the
    run's best validation AP and its step, steps trained, whether it was stopped before converging (``summary``'s
    ``unconverged``) and its test AP — what a miss or an inconclusive verdict is read against."""
    from ..reporting.untrained import rows_named

    by_run = summary.set_index(["row", "seed"])
    out = []
    for r in verdict.itertuples():
        if r.verdict in ("held", "not evaluated"):
            continue
        for row in rows_named(r.expr):
            for k in sorted(summary[summary.row == row].seed):
                run = by_run.loc[(row, k)]
                out.append({"claim": r.id, "verdict": r.verdict, "row": row, "seed": k, "val_AP_best": run.val_AP,
                            "best_step": run.best_step, "steps": run.steps, "unconverged": bool(run.unconverged),
                            "test_AP": table2_metrics(matches[(row, k)])["AP"]})
    return pd.DataFrame(out, columns=EVIDENCE_COLUMNS)


def untrained_seeds(summary: pd.DataFrame, rows: Sequence[str]) -> dict[str, int]:
    """For each row, how many of its trained seeds never learned: best validation AP < UNTRAINED_VAL_AP. Claims
    that compare such a row are flagged (robopercept.reporting.untrained)."""
    return {r: int(((summary.row == r) & (summary.val_AP < UNTRAINED_VAL_AP)).sum()) for r in rows}


def read_results(results_json: Path, gt: dict, limit: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """A COCO results file back as per-image (masks, scores), in ``gt['images']`` order (the first ``limit``
    images only, if given: decoding every mask of every image costs memory)."""
    from ..formats.coco import decode

    if not Path(results_json).exists():
        raise FileNotFoundError(f"{results_json} is missing (stage graspseg_table2 writes it)")
    rows = read_json(results_json, stage="graspseg_table2", kind="COCO results")
    by_image: dict[int, list] = {}
    for r in rows:
        by_image.setdefault(r["image_id"], []).append(r)
    out = []
    for im in gt["images"][:limit]:
        rs = by_image.get(im["id"], [])
        masks = np.stack([decode(r["segmentation"]) for r in rs]) if rs else np.zeros((0, im["height"], im["width"]), bool)
        out.append((masks, np.array([r["score"] for r in rs], float)))
    return out


def evaluate(models_dir: Path, dataset: Path, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], list[ImageMatches]]:
    """Per-image matches of the test predictions of each trained (row, seed) in ``keys``."""
    from .instance_eval import class_agnostic_gt

    ann = read_json(Path(dataset) / "labeled_test" / "annotations.coco.json", stage="graspseg_grasp_data",
                    kind="COCO annotations", required=("images", "annotations"))
    gt = class_agnostic_gt(ann)
    test = labeled_images(dataset, "labeled_test", [im["file_name"] for im in gt["images"]])
    h, w = test[0][1].shape[:2]
    gts = [m for _, _, m in test]
    return {(r, k): match_images(read_results(Path(models_dir) / model_key(r, k) / "results.coco.json", gt), gts,
                                 area_ranges(h, w))
            for r, k in keys}


def table2(matches: dict[tuple[str, int], list[ImageMatches]], n_boot: int, seed: int,
           rows: Sequence[str] | None = None) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Table II (mean over seeds of each metric, percent) and bootstrap replicates of it: each replicate
    resamples the test images and the seed indices, both once for all rows (rows trained with seed k share
    seed k's initialisation and batch draws: comparisons are paired by image and by seed). A row of ``rows``
    with no trained model has empty (NaN) cells; a row missing some seeds averages over those it has. With 2-3
    seeds the seed resample has few distinct values and understates seed variance (see reporting.claims)."""
    if not matches:
        raise ValueError("Table II: no trained model to evaluate (every row's crop source was empty?)")
    rows = list(rows) if rows is not None else list(dict.fromkeys(r for r, _ in matches))
    seeds = {r: sorted(k for rr, k in matches if rr == r) for r in rows}
    all_seeds = sorted({k for _, k in matches})
    nan = {m: float("nan") for m in METRICS}
    def frame(metric_rows: dict[str, dict[str, float]]) -> pd.DataFrame:
        return pd.DataFrame([{"method": r, **metric_rows[r]} for r in rows])

    def seed_mean(values: list[float]) -> float:  # NaN (no ground truth in an area range) is left out
        finite = [v for v in values if np.isfinite(v)]
        return float(np.mean(finite)) if finite else float("nan")

    per = {key: table2_metrics(v) for key, v in matches.items()}
    point = {r: {m: seed_mean([per[(r, k)][m] for k in seeds[r]]) for m in METRICS} if seeds[r] else nan
             for r in rows}
    table = frame(point)
    table.insert(1, "paste_from", [ROWS[r].paste_from for r in rows])
    table.insert(2, "seeds", [len(seeds[r]) for r in rows])
    rng = np.random.default_rng(seed)
    n_img = len(next(iter(matches.values())))
    reps = []
    for _ in range(n_boot):
        pick = rng.integers(0, n_img, n_img)
        rep = {}
        ks = rng.choice(all_seeds, size=len(all_seeds), replace=True)
        for r in rows:
            have = [int(k) for k in ks if (r, int(k)) in matches]
            if not have:
                rep[r] = nan
                continue
            vals = [table2_metrics([matches[(r, k)][i] for i in pick]) for k in have]
            rep[r] = {m: seed_mean([v[m] for v in vals]) for m in METRICS}
        reps.append(frame(rep))
    return table, reps


def paired_difference(table: pd.DataFrame, replicates: Sequence[pd.DataFrame], a: str, b: str, metric: str = "AP",
                      level: float = 0.95) -> tuple[float, float, float]:
    """``metric`` of row ``a`` minus row ``b``: the point difference and its ``level`` interval over the bootstrap
    replicates (each replicate resamples the same images and seeds for both rows: a paired difference; the interval
    is :func:`robopercept.graspseg.table1.paired_interval`'s)."""
    from .table1 import paired_interval

    lo, hi = paired_interval(replicates, a, b, metric, level)
    point = table.set_index("method")[metric]
    return float(point[a] - point[b]), lo, hi


def claims_by_seed(claims_file: Path, matches: dict[tuple[str, int], list[ImageMatches]], rows: Sequence[str],
                   columns: dict[str, dict[str, float]] | None = None) -> pd.DataFrame:
    """Each claim evaluated on each seed's own Table II (the rows trained with seed k, on every test image): ``id``,
    ``seeds`` (seed tables the claim could be evaluated on), ``seeds_held`` and ``held_by_seed`` ("held, missed, …" in
    seed order). The bootstrap over images and seeds gives the verdict; this shows whether the seeds agree — with 3
    seeds the seed resample has only 10 distinct draws, so a claim that holds on one seed and not on another is read
    against both. ``columns``: extra per-row cells the claims read (e.g. ``labeled_images``)."""
    from ..reporting.claims import evaluate_claims
    from .table1 import seed_agreement

    seeds = sorted({k for _, k in matches})
    per_seed = []
    for k in seeds:
        mine = {key: v for key, v in matches.items() if key[1] == k}
        t, _ = table2(mine, 0, 0, rows=rows)
        for col, values in (columns or {}).items():
            t[col] = [values.get(r, np.nan) for r in t.method]
        per_seed.append(evaluate_claims(claims_file, t.drop(columns=["paste_from"])))
    return seed_agreement(per_seed)


def write_ap_replicates(replicates: Sequence[pd.DataFrame], path: Path, metric: str = "AP") -> Path:
    """Table II's bootstrap replicates of ``metric`` (one row per replicate and method) for Table III, whose claim
    that the grasping evaluation is consistent with Table II then carries Table II's uncertainty too."""
    long = (pd.concat([r[["method", metric]].assign(replicate=i) for i, r in enumerate(replicates)], ignore_index=True)
            if len(replicates) else pd.DataFrame(columns=["replicate", "method", metric]))  # no row trained: header only
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    long[["replicate", "method", metric]].to_csv(path, index=False, float_format="%.6f")
    return path


def read_ap_replicates(path: Path, metric: str = "AP", empty_ok: bool = False) -> list[dict[str, float]]:
    """:func:`write_ap_replicates`' file back: one ``{method: value}`` per replicate, in replicate order.
    ``empty_ok``: a header-only file (Table II trained no row) reads as ``[]`` instead of an error."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: Table II's bootstrap replicates are missing; run the graspseg_table2 stage "
                                "first (Table III's claims compare with them)")
    long = pd.read_csv(path)
    if empty_ok and list(long.columns) == ["replicate", "method", metric] and long.empty:
        return []  # Table II trained no row (its profile's rows: [])
    if not {"replicate", "method", metric} <= set(long.columns) or long.empty:
        raise ValueError(f"{path}: expected rows with columns 'replicate', 'method' and {metric!r}, found "
                         f"{list(long.columns)} ({len(long)} rows)")
    return [{str(m): float(v) for m, v in zip(g.method, g[metric])} for _, g in long.groupby("replicate", sort=True)]


# ---------------------------------------------------------------------------------------------------
# A profile that trains no row (graspseg_table2.rows: [])
# ---------------------------------------------------------------------------------------------------

# the setting that trains no row, as the notebooks name it in their placeholders and caveats (the cpu profile's)
NO_ROWS_SETTING = "graspseg_table2.rows: []"
# the columns of Table II's and Table III's claims tables (graspseg.table3 writes its own with them too)
CLAIMS_COLUMNS = ["id", "section", "quote", "claim", "verdict", "holds", "margin", "margin_lo", "margin_hi", "share_held",
                  "held_by_seed", "untrained_rows", "caveat"]
NOT_TRAINED_TABLES = ("table2", "table2_training")
NOT_TRAINED_FIGURES = ("table2_curves", "table2_ap", "table2_examples")


def not_trained_claims(claims_file: Path, setting: str) -> pd.DataFrame:
    """Table II's claims when no row is trained: every one "not evaluated", its caveat naming the setting that left
    the rows out (:func:`robopercept.reporting.not_trained.explain_claims`; a claim naming a row no experiment has
    is an error there, as on a trained table)."""
    from ..reporting import claims, not_trained

    empty = pd.DataFrame({"method": pd.Series(dtype=str), **{m: pd.Series(dtype=float) for m in METRICS}})
    verdict = claims.evaluate_claims(claims_file, empty)
    verdict = not_trained.explain_claims(verdict, claims_file, [], {r: "table2" for r in ROWS}, ["table2"], setting)
    for col in ("held_by_seed", "untrained_rows"):
        verdict[col] = ""
    return verdict


def write_not_trained(out_tables: Path, out_figures: Path, training_dir: Path, models_dir: Path,
                      replicates_path: Path, claims_file: Path, setting: str) -> pd.DataFrame:
    """Every output stage ``graspseg_table2`` declares, for a profile that trains no row: Table II and its training
    table as placeholders ("not trained at this profile (<setting>)", :mod:`robopercept.reporting.not_trained`), a
    figure saying so for each of its figures, the claims (:func:`not_trained_claims`, returned and written as
    ``table2_claims``), an empty replicates file (header only: Table III reads it as "no row") and a status file in
    the model and training-log folders, which hold no model. Nothing from an earlier run with rows stands in for
    this one's outputs."""
    from matplotlib import pyplot as plt

    from ..reporting import figures, not_trained, tables

    status = not_trained.status(setting)
    for name in NOT_TRAINED_TABLES:
        tables.write_table(not_trained.placeholder("table2", setting), out_tables, name, caption=f"Table II: {status}.")
    for name in NOT_TRAINED_FIGURES:
        fig, ax = plt.subplots(figsize=(6.5, 1.0))
        ax.text(0.5, 0.5, f"Table II: {status}", ha="center", va="center", fontsize=9)
        ax.set_axis_off()
        figures.save_figure(fig, Path(out_figures) / f"{name}.png")
        plt.close(fig)
    verdict = not_trained_claims(claims_file, setting)
    tables.write_table(verdict[CLAIMS_COLUMNS], out_tables, "table2_claims",
                       caption=f"graspseg §V-B claims: Table II {status}, so none is evaluated (the caveat says why).")
    for folder in (training_dir, models_dir):
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / "not_trained.txt").write_text(f"Table II: {status}\n")
    write_ap_replicates([], replicates_path)
    return verdict
