"""§VI, Table III: simulated picking with Table II's models, its table and its uncertainty.

Trials are split into shards of ``trials_per_shard`` (the shard runner: one process and torch thread each,
resumable); every shard runs *all* models and the oracle on the same bins (:func:`picking.run_trials`), so the
comparison is paired trial by trial. Trial ``t`` uses seed ``t mod n_seeds`` of every Table II row, so the
models' seed variance enters the error rates, and the bootstrap behind the claims' verdicts resamples the seeds and
then the trials within each (:func:`paired_replicates`); :func:`claims_by_seed` evaluates each claim on each seed's
trials alone.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from concurrent.futures import Executor
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..common.records import read_json
from ..seed import derive_seed
from ..world.shards import Shard, plan_identity, recorded_config, run_plan
from .config_instances import Table2Config, Table3Config
from .picking import FAILURES, DiagnosisSettings, PlannerSettings

CODE_MODULES = ("robopercept.graspseg.table3", "robopercept.graspseg.picking", "robopercept.graspseg.instance_model")
ORACLE = "Oracle (ground-truth masks)"


def load_segmenter(checkpoint: Path):
    """An ``rgb -> (masks, scores)`` function from a Table II checkpoint."""
    import torch

    from ..common import checkpoints
    from .instance_model import InstanceModelSettings, build, predict

    ckpt = checkpoints.load(checkpoint, stage="graspseg_table2", required=("model", "settings"),
                            kind="Table II checkpoint")
    model = build(InstanceModelSettings(**ckpt["settings"]))
    model.load_state_dict(ckpt["model"])
    model.eval()

    def segment(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float() / 255
        inst = predict(model, x)[0]
        return inst.masks, inst.scores

    return segment


def planner_settings(cfg: Table3Config) -> PlannerSettings:
    """The picking planner of ``graspseg_table3`` (the same for every model and the oracle)."""
    return PlannerSettings(cfg.min_score, cfg.max_masks, cfg.n_centres, cfg.n_angles)


def diagnosis_settings(cfg: Table3Config) -> DiagnosisSettings:
    """How ``graspseg_table3`` diagnoses a planned mask (:func:`picking.mask_diagnosis`)."""
    return DiagnosisSettings(cfg.group_share, cfg.split_coverage, cfg.min_object_px)


def _trial_shard(shard: Shard, folder: Path, *, rows: Sequence[str], n_seeds: int, table2_dir: str, data_cfg: dict,
                 planner: dict, diagnosis: dict, data_dir: str, seed: int) -> dict:
    import torch

    from ..world.catalog import load_catalog
    from .config import GraspDataConfig
    from .picking import run_trials
    from .table2_train import model_key

    torch.set_num_threads(1)
    trials = list(shard.get("trials"))
    cfg = GraspDataConfig(**data_cfg)
    catalog = load_catalog(data_dir)
    rows_out = []
    for k in range(n_seeds):
        mine = [t for t in trials if t % n_seeds == k]
        if not mine:
            continue
        segs = {r: load_segmenter(Path(table2_dir) / model_key(r, k) / "model.pt") for r in rows}
        segs[ORACLE] = None
        out, _ = run_trials(mine, segs, cfg, catalog, seed, PlannerSettings(**planner),
                            diagnosis=DiagnosisSettings(**diagnosis))
        rows_out += [{**r, "seed": k} for r in out]
    rows_out.sort(key=lambda r: (r["trial"], r["model"]))
    (folder / "trials.json").write_text(json.dumps(rows_out, indent=0, sort_keys=True) + "\n")
    return {"trials": len(trials)}


def run_table3(cfg: Table3Config, t2cfg: Table2Config, rows: Sequence[str], data_cfg, table2_dir: Path, out_dir: Path,
               data_dir: Path, seed: int, executor: Executor | None = None, progress: bool = True) -> pd.DataFrame:
    """All trials of all models; one row per (trial, model)."""
    missing = [r for r in rows if r not in t2cfg.rows]
    if missing:
        raise ValueError(f"Table III needs Table II rows {missing}, which graspseg_table2.rows does not train")
    untrained = [r for r in rows if not all((Path(table2_dir) / f"{r}_seed{k}" / "model.pt").exists()
                                            for k in range(t2cfg.n_seeds))]
    if untrained:
        raise FileNotFoundError(f"Table III: no trained model for {untrained} in {table2_dir} (stage graspseg_table2 "
                                "trains them; a row whose crop source is empty is not trained)")
    trial_seed = derive_seed(seed, "graspseg_table3")
    shards = []
    for i in range(0, cfg.n_trials, cfg.trials_per_shard):
        idx = tuple(range(i, min(i + cfg.trials_per_shard, cfg.n_trials)))
        shards.append(Shard(f"trials_{i:05d}", len(idx), trial_seed, (("trials", idx),)))
    planner, diagnosis = dataclasses.asdict(planner_settings(cfg)), dataclasses.asdict(diagnosis_settings(cfg))
    md5s = {f"{r}_seed{k}": hashlib.md5((Path(table2_dir) / f"{r}_seed{k}" / "model.pt").read_bytes()).hexdigest()
            for r in rows for k in range(t2cfg.n_seeds)}
    ident = plan_identity(generator="graspseg Table III trials",
                          config={"table3": recorded_config(dataclasses.asdict(cfg)), "rows": list(rows),
                                  "n_seeds": t2cfg.n_seeds, "data": recorded_config(dataclasses.asdict(data_cfg)),
                                  "models_md5": md5s},  # worker counts left out, nested ones too: they change no byte
                          seed=seed, code_modules=CODE_MODULES, inputs={"data": data_dir})
    task = functools.partial(_trial_shard, rows=list(rows), n_seeds=t2cfg.n_seeds, table2_dir=str(table2_dir),
                             data_cfg=dataclasses.asdict(data_cfg), planner=planner, diagnosis=diagnosis,
                             data_dir=str(data_dir),
                             seed=trial_seed)
    run_plan(out_dir, ident, shards, task, workers=cfg.workers, executor=executor, progress=progress,
             desc="picking trials", unit="shard")
    return read_trials(out_dir, [s.key for s in shards])


def read_trials(out_dir: Path, shard_keys: Sequence[str]) -> pd.DataFrame:
    """The trials the shards ``shard_keys`` of :func:`run_table3` wrote under ``out_dir``, in shard order; one row
    per (trial, model). A missing or cut-short ``trials.json`` is named, with the stage that rewrites it."""
    rows: list[dict] = []
    for key in shard_keys:
        rows += read_json(Path(out_dir) / key / "trials.json", stage="graspseg_table3", kind="Table III trials")
    return pd.DataFrame(rows)


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    from ..reporting.uncertainty import wilson_interval

    return wilson_interval(k, n, z)


# failure kinds whose rate per trial (``<kind>_pct``) the claims of §VI-C read
RATE_KINDS = ("non_object", "two_objects", "two_lifted")
SCENE_ERRORS = ("objects_split", "objects_missed", "masks_grouped", "masks_on_nothing")  # picking.scene_errors
# the segmentation errors on objects that §VI-C.2's "errors on other objects" counts (masks on nothing are §VI-C.1's)
OBJECT_ERRORS = ("objects_split", "objects_missed", "masks_grouped")


def _per_trial(trials: pd.DataFrame) -> pd.DataFrame:
    """Per (trial, model): failed, each rate kind, a grasp on two objects (cups sealed on both) from a planned mask
    that grouped them, a failure planned on a mask diagnosed as lying on no object (``non_object_mask``: §VI-B's
    cause, "predicting masks that don't belong to any object"), and the bin's segmentation errors on objects
    (:data:`OBJECT_ERRORS` summed)."""
    missing = {"failure", "success", "planned_mask", *SCENE_ERRORS} - set(trials.columns)
    if missing:
        raise ValueError(f"Table III trials lack columns {sorted(missing)}: records from before session 40's mask "
                         "diagnosis; rerun the graspseg_table3 stage")
    out = pd.DataFrame({"trial": trials.trial, "model": trials.model, "failed": ~trials.success.astype(bool),
                        **{k: trials.failure == k for k in RATE_KINDS},
                        "grouped_two": (trials.failure == "two_objects") & (trials.planned_mask == "grouped"),
                        "non_object_mask": ~trials.success.astype(bool) & (trials.planned_mask == "non_object"),
                        "attempt_failed": ~trials.success.astype(bool) & (trials.failure != "no_mask"),
                        "seg_errors": trials[list(OBJECT_ERRORS)].sum(axis=1)})
    return out


def table3(trials: pd.DataFrame, order: Sequence[str]) -> pd.DataFrame:
    """Error rate per model with a Wilson 95 % interval, the failures by kind (counts), the rate per trial of the
    kinds in :data:`RATE_KINDS`, of grasps on two objects from a planned mask that grouped them (``grouped_two_pct``:
    the paper's §VI-C.3 failure; a second object lifted with a sealed one, ``two_lifted``, is not a grasp on two), of
    failures planned on a mask on no object (``non_object_mask_pct``, and ``non_object_mask_share_pct`` of the
    failed grasp *attempts* — a ``no_mask`` trial attempts nothing, and the paper counts attempts: §VI-B's cause), and the bin's segmentation errors on objects per trial (``seg_errors_per_bin``: objects
    split, objects missed, masks grouping objects, over the candidate masks). A rate the claims test against 0
    carries the upper end of its Wilson interval (``<rate>_hi``): 0 of n trials is not a rate of 0."""
    per = _per_trial(trials)
    out = []
    for name in order:
        g, p = trials[trials.model == name], per[per.model == name]
        n, err = len(g), int((~g.success).sum())
        lo, hi = wilson(err, n)
        out.append({"method": name, "trials": n, "errors": err, "error_pct": 100 * err / n if n else np.nan,
                    "error_lo": 100 * lo, "error_hi": 100 * hi,
                    "non_object_share_pct": 100 * int((g.failure == "non_object").sum()) / max(err, 1),
                    **{f"fail_{k}": int((g.failure == k).sum()) for k in FAILURES},
                    **{f"{k}_pct": 100 * int(p[k].sum()) / n if n else np.nan for k in RATE_KINDS},
                    "grouped_two_pct": 100 * int(p.grouped_two.sum()) / n if n else np.nan,
                    "grouped_two_hi": 100 * wilson(int(p.grouped_two.sum()), n)[1],
                    "non_object_mask_pct": 100 * int(p.non_object_mask.sum()) / n if n else np.nan,
                    "non_object_mask_hi": 100 * wilson(int(p.non_object_mask.sum()), n)[1],
                    "non_object_mask_share_pct": 100 * int(p.non_object_mask.sum()) / max(int(p.attempt_failed.sum()), 1),
                    "seg_errors_per_bin": float(p.seg_errors.mean()) if n else np.nan})
    return pd.DataFrame(out)


def mask_table(trials: pd.DataFrame, order: Sequence[str]) -> pd.DataFrame:
    """What the planned masks were (:func:`picking.mask_diagnosis`, % of each model's picks with a plan) and what each
    diagnosis led to (failures on it), with the bin's segmentation errors per trial by kind: the evidence that a
    failure kind was, or was not, caused by the segmentation error the paper names for it."""
    from .picking import MASK_DIAGNOSES

    out = []
    for name in order:
        g = trials[(trials.model == name)]
        planned = g[g.planned_mask.notna()]
        row = {"method": name, "picks_with_a_plan": len(planned)}
        for dgn in MASK_DIAGNOSES:
            on = planned[planned.planned_mask == dgn]
            row[f"planned_{dgn}_pct"] = 100 * len(on) / len(planned) if len(planned) else np.nan
            row[f"planned_{dgn}_failed"] = int((~on.success.astype(bool)).sum())
        for k in SCENE_ERRORS:
            row[f"{k}_per_bin"] = float(g[k].mean()) if len(g) else np.nan
        out.append(row)
    return pd.DataFrame(out)


def evidence_columns() -> list[str]:
    """The columns :func:`claims_evidence` shows: the error rate and its interval, the failures by kind, the paper's
    grouping failure, the failures planned on a mask on no object, the bin's segmentation errors and what the planned
    masks were — every column a Table III claim reads but the Table II ones it borrows."""
    return ["error_pct", "error_lo", "error_hi", *[f"fail_{k}" for k in FAILURES], "grouped_two_pct",
            "non_object_mask_pct", "non_object_mask_share_pct", "seg_errors_per_bin", "planned_grouped_pct",
            "planned_split_pct", "planned_non_object_pct"]


def claims_evidence(verdict: pd.DataFrame, table: pd.DataFrame, masks: pd.DataFrame) -> pd.DataFrame:
    """For each claim whose verdict is not ``held``, one row per model its check names (the string arguments of its
    ``expr``, in the table's order), with :func:`evidence_columns` from :func:`table3` and :func:`mask_table`:
    what a reader needs to see why the claim missed or stayed inside the noise. Empty (with these columns) when every
    claim held or the claims not held name no model of the table."""
    import ast

    cols = ["claim", "method", *evidence_columns()]
    merged = table.merge(masks, on="method")
    missing = [c for c in evidence_columns() if c not in merged.columns]
    if missing:
        raise ValueError(f"Table III evidence: columns {missing} are in neither table3() nor mask_table()")
    parts = []
    for c in verdict[verdict.verdict != "held"].itertuples():
        named = {n.value for n in ast.walk(ast.parse(c.expr, mode="eval"))
                 if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        parts.append(merged[merged.method.isin(named)].assign(claim=c.id))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    return out.reindex(columns=cols).reset_index(drop=True)


def _require_seed(trials: pd.DataFrame) -> None:
    if "seed" not in trials.columns:
        raise ValueError("Table III trials lack the column 'seed' (which Table II seed planned each trial); rerun the "
                         "graspseg_table3 stage")


def paired_replicates(trials: pd.DataFrame, order: Sequence[str], n_boot: int, seed: int) -> list[pd.DataFrame]:
    """Bootstrap replicates of :func:`table3`'s error rates, non-object share, the per-trial rates of
    :data:`RATE_KINDS`, ``grouped_two_pct`` and the non-object-mask failures, and ``seg_errors_per_bin``. One
    resample for all models (paired), drawn in two stages: the seeds (trial ``t`` used seed ``t mod n_seeds`` of every
    Table II row, column ``seed``), with replacement, then the trials of each drawn seed, with replacement — so the
    spread between the trained models enters the verdicts, not only the trials' (a two-stage cluster bootstrap; with
    one seed it is the plain bootstrap over trials). Two properties to read the verdicts with, as for Tables I–II's
    seed resampling: with 3 seeds one replicate in 9 holds a single seed's trials (one in 27 a given seed's), so a
    claim that fails on any one seed's trials alone cannot be *held* (nor one that holds on any one *missed*); and
    resampling at both stages counts the trial-level variance about (2G − 1)/G times (5/3 at G = 3 seeds) while the
    seed-level part shrinks by (G − 1)/G — conservative on the whole, so an *inconclusive* here may be a held or
    missed claim that more seeds and trials would settle."""
    _require_seed(trials)
    per = _per_trial(trials)
    wide = {c: per.pivot(index="trial", columns="model", values=c).reindex(columns=list(order))
            for c in ("failed", *RATE_KINDS, "grouped_two", "non_object_mask", "attempt_failed", "seg_errors")}
    if wide["failed"].isna().any().any():
        missing = [c for c in wide["failed"].columns if wide["failed"][c].isna().any()]
        raise ValueError(f"Table III: models {missing} lack some trials; every model must pick from every bin")
    fail = wide["failed"].to_numpy(bool)
    kind = {k: wide[k].to_numpy(bool) for k in (*RATE_KINDS, "grouped_two", "non_object_mask", "attempt_failed")}
    seg = wide["seg_errors"].to_numpy(float)
    seed_of = trials.groupby("trial").seed.first().reindex(wide["failed"].index).to_numpy()
    groups = [np.flatnonzero(seed_of == k) for k in np.unique(seed_of)]
    rng = np.random.default_rng(seed)
    reps = []
    for _ in range(n_boot):
        drawn = rng.integers(0, len(groups), len(groups))
        pick = np.concatenate([groups[k][rng.integers(0, len(groups[k]), len(groups[k]))] for k in drawn])
        f = fail[pick]
        reps.append(pd.DataFrame({"method": list(order), "error_pct": 100 * f.mean(0),
                                  "non_object_share_pct": 100 * kind["non_object"][pick].sum(0) / np.maximum(f.sum(0), 1),
                                  **{f"{k}_pct": 100 * kind[k][pick].mean(0) for k in RATE_KINDS},
                                  "grouped_two_pct": 100 * kind["grouped_two"][pick].mean(0),
                                  "non_object_mask_pct": 100 * kind["non_object_mask"][pick].mean(0),
                                  "non_object_mask_share_pct":
                                      100 * kind["non_object_mask"][pick].sum(0)
                                      / np.maximum(kind["attempt_failed"][pick].sum(0), 1),
                                  "seg_errors_per_bin": seg[pick].mean(0)}))
    return reps


def claims_by_seed(claims_file: Path, trials: pd.DataFrame, order: Sequence[str],
                   columns: dict[str, dict[str, float]] | None = None) -> pd.DataFrame:
    """Each claim evaluated on each seed's own Table III (the trials that seed ``k`` of every model planned: trial
    ``t`` used seed ``t mod n_seeds``), as :func:`robopercept.graspseg.table1.seed_agreement` reports it: ``id``,
    ``seeds``, ``seeds_held``, ``held_by_seed``. ``columns``: per-row cells the claims read besides :func:`table3`'s
    (Table II's AP and labeled images: its means over seeds, the same in every seed's table)."""
    from ..reporting.claims import evaluate_claims
    from .table1 import seed_agreement

    _require_seed(trials)
    per_seed = []
    for k in sorted(trials.seed.unique()):
        t = table3(trials[trials.seed == k], order)
        for col, values in (columns or {}).items():
            t[col] = [values.get(m, np.nan) for m in t.method]
        per_seed.append(evaluate_claims(claims_file, t))
    return seed_agreement(per_seed)


def table2_ap(table2_csv: Path, column: str = "AP") -> dict[str, float]:
    """A column of our Table II per method (the previous stage's table): the mask AP, for the claim that the grasping
    evaluation is consistent with the instance segmentation one, or ``labeled_images``, for the caveat on
    "10x the amount of labeled data". Rows Table II did not train are NaN; a placeholder table (a profile that trains
    no Table II row, :mod:`robopercept.reporting.not_trained`) gives ``{}``."""
    from ..reporting.not_trained import is_placeholder

    path = Path(table2_csv)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: Table II's table is missing; run the graspseg_table2 stage first "
                                "(Table III's claims compare with it)")
    t2 = pd.read_csv(path)
    if is_placeholder(t2):
        return {}
    if not {"method", column} <= set(t2.columns):
        raise ValueError(f"{path}: expected columns 'method' and {column!r}, found {list(t2.columns)}")
    return {str(m): float(a) for m, a in zip(t2.method, t2[column])}
