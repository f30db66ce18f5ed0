"""§V-E, Table II as a simulated apparel-picking robot: a 9-cup suction gripper picks from Apparel-like bins with
Mask R-CNN or with Latent-MaskRCNN's 0.9-confidence masks; double-pick rate and average sealed cups.

    "We use an ABB1300 with a 9-cup suction gripper to pick apparel items in polybags between two totes [...]. The
    grasp points are optimized to land as many suction cups as possible on a single object detected by the
    segmentation model. For our evaluation, we only change which segmentation model is used while holding other
    parts of the system constant [...]. We run each model with several hundred grasps and record the number of
    double picks, grasps that unintentionally pick two objects. [...] We also measure the average number of sealed
    cups on a grasped item" (§V-E).

**A trial** is one pick from a fresh bin of the *validation* product families (families no model trained on, as
new products arrive in a warehouse): the items, poses, lighting and sensor noise of trial ``t`` come from a
generator seeded by (seed, t), the bin is settled once and its physics state saved, and every method picks from
that same state — the comparison is paired trial by trial. Trial ``t`` uses training seed ``t mod seeds`` of both
models, so the models' seed variance enters the rates.

**Methods** (the same planner and gripper, :mod:`robopercept.world.suction_grid`, for all):

* ``MaskRCNN`` — the baseline's detections (mask probability > 0.5); the planner targets those scoring at least
  the evaluation section's ``pick_score_thresh`` (Fig. 5's MaskRCNN point), the rest only if none does;
* ``Latent-MRCNN 0.9-Confidence mask`` — ``k`` prior samples, Algorithm 1 at ``p`` (the evaluation section's k, p
  and min_score: Table I's confidence masks); every confidence mask is a candidate — it already passed Algorithm 1's
  agreement test and score threshold;
* ``Oracle (ground-truth masks)`` — the planner on the true visible masks: what the planner and the physics do with
  perfect masks (a reference, not a floor). Its double picks are the gripper's and the physics' (an item dragged
  out from under another), not a segmentation's.

**Measured per pick** (:class:`~robopercept.world.suction_grid.GridPickOutcome`): the outcome (single, double,
dropped, no seal, no mask) and the cups sealed. Table II's two columns: the *double-pick rate* over all picks (the
paper does not give its denominator; beside it, the share of picks that lifted anything and the double picks among
those — a method that rarely picks cannot look safe), and the *average sealed cups* over the picks that sealed on an
item — single, double (cups on both items) or dropped: "sealed cups on a grasped item" — with the single picks'
average beside it. Cups sealed on two items count as a double pick without lifting both: the vacuum holds both. What is not simulated: the transport to the second tote, the bag film's give under a cup, and real cloth
(our items are thin rigid boxes).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import tempfile
from concurrent.futures import Executor
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ..common.records import read_json
from ..seed import derive_seed
from ..world.shards import Shard, plan_identity, run_plan
from ..world.suction_grid import OUTCOMES, GridGripper, PlannerSettings
from .config import LatentDataConfig, LatentEvalConfig, LatentRobotConfig

CODE_MODULES = ("robopercept.latentmrcnn.robot", "robopercept.latentmrcnn.scenes", "robopercept.latentmrcnn.model",
                "robopercept.latentmrcnn.confidence", "robopercept.world.suction_grid", "robopercept.world.suction")
MASKRCNN = "MaskRCNN"
CONFIDENCE = "Latent-MRCNN 0.9-Confidence mask"
ORACLE = "Oracle (ground-truth masks)"
METHODS = (MASKRCNN, CONFIDENCE, ORACLE)
Segmenter = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]]  # (rgb, trial) -> (masks, scores)


def gripper(cfg: LatentRobotConfig) -> GridGripper:
    return GridGripper(rows=cfg.cup_rows, cols=cfg.cup_cols, spacing_m=cfg.cup_spacing_m,
                       cup_radius_m=cfg.cup_radius_m, min_sealed=cfg.min_sealed_cups,
                       flatness_tol_m=cfg.seal_flatness_tol_m, max_angle_deg=cfg.seal_max_angle_deg,
                       cup_force_n=cfg.cup_force_n, lift_height_m=cfg.lift_height_m)


def planner(cfg: LatentRobotConfig, min_score: float) -> PlannerSettings:
    return PlannerSettings(min_score=min_score, max_masks=cfg.max_masks, n_centres=cfg.n_centres,
                           n_angles=cfg.n_angles, inside_fraction=cfg.inside_fraction)


def _tensor(rgb: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float() / 255.0


def maskrcnn_segmenter(model, mask_threshold: float = 0.5) -> Segmenter:
    import torch

    def segment(rgb: np.ndarray, trial: int) -> tuple[np.ndarray, np.ndarray]:
        with torch.no_grad():
            det = model([_tensor(rgb)])[0]
        masks = (det["masks"][:, 0] > mask_threshold).numpy() if len(det["masks"]) else np.zeros((0, *rgb.shape[:2]), bool)
        return masks, det["scores"].numpy().astype(float)

    return segment


def confidence_segmenter(model, ecfg: LatentEvalConfig, seed: int, mask_threshold: float = 0.5) -> Segmenter:
    """Algorithm 1 on ``ecfg.k`` prior samples (a generator seeded by (seed, trial): the same samples in every run)."""
    import torch

    from .confidence import confidence_masks

    def segment(rgb: np.ndarray, trial: int) -> tuple[np.ndarray, np.ndarray]:
        g = torch.Generator().manual_seed(int(np.random.SeedSequence([seed, trial]).generate_state(1)[0]))
        with torch.no_grad():
            dets = model.sample([_tensor(rgb)], ecfg.k, generator=g)[0]
        samples = [((d["masks"][:, 0] > mask_threshold).numpy() if len(d["masks"]) else
                    np.zeros((0, *rgb.shape[:2]), bool), d["scores"].numpy().astype(float)) for d in dets]
        return confidence_masks(samples, ecfg.p, ecfg.min_score)

    return segment


def oracle_masks(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    insts = [int(i) for i in np.unique(ids) if i > 0]
    masks = np.stack([ids == i for i in insts]) if insts else np.zeros((0, *ids.shape), bool)
    return masks, np.ones(len(insts))


def run_trials(trials: Sequence[int], segmenters: dict[str, Segmenter | None], min_scores: dict[str, float],
               cfg: LatentRobotConfig, data: LatentDataConfig, data_seed: int, trial_seed: int,
               keep_images: Sequence[int] = ()) -> tuple[list[dict], dict]:
    """Run ``trials`` for every segmenter (``None``: the oracle) on identical bins of validation families. Returns one
    row per (trial, method) and, for trials in ``keep_images``, the image, ids and each method's masks and plan."""
    from ..world.camera import BinCamera
    from ..world.scene import BinScene
    from ..world.suction_grid import execute_grid_pick, plan_grid_pick
    from .scenes import apparel_bin, apparel_catalog, render_view

    camera = BinCamera.for_size(data.height, data.width)
    grip = gripper(cfg)
    rows, images = [], {}
    with tempfile.TemporaryDirectory(prefix="robopercept-apparel-robot-") as tmp:
        catalog = apparel_catalog("val", data, data_seed, Path(tmp))
        pool = list(catalog.items)
        for t in trials:
            rng = np.random.default_rng([trial_seed, t])
            with BinScene(catalog, camera) as scene:  # a fresh world per trial: no state carries over between trials
                scene.drop(apparel_bin(pool, data, rng), rng, data.settle_steps)
                frame, rgb = render_view(scene, camera, rng, data)
                state = scene.p.saveState(physicsClientId=scene.cid)
                if t in keep_images:
                    images[t] = {"rgb": rgb, "ids": frame.ids, "methods": {}}
                for name, seg in segmenters.items():
                    scene.p.restoreState(state, physicsClientId=scene.cid)
                    masks, scores = oracle_masks(frame.ids) if seg is None else seg(rgb, t)
                    plan = plan_grid_pick(masks, scores, frame.depth, camera, grip, planner(cfg, min_scores[name]))
                    out = execute_grid_pick(scene, plan, frame, grip)
                    rows.append({"trial": int(t), "method": name, "items_in_bin": len(scene.placed),
                                 "masks": int(len(masks)), **dataclasses.asdict(out)})
                    if t in keep_images:
                        images[t]["methods"][name] = {"masks": masks, "scores": scores, "plan": plan, "outcome": out}
                scene.p.removeState(state, physicsClientId=scene.cid)
    return rows, images


def segmenters_for_seed(models_dir: Path, k: int, ecfg: LatentEvalConfig, sample_seed: int) -> dict[str, Segmenter | None]:
    from .sweep import load_model

    mrcnn, _ = load_model(models_dir, "apparel", "maskrcnn", k)
    latent, _ = load_model(models_dir, "apparel", "latent", k)
    return {MASKRCNN: maskrcnn_segmenter(mrcnn), CONFIDENCE: confidence_segmenter(latent, ecfg, sample_seed),
            ORACLE: None}


def min_scores(ecfg: LatentEvalConfig) -> dict[str, float]:
    """Per method, the score a mask needs to be a first-choice target: Mask R-CNN's pick threshold (Fig. 5's
    MaskRCNN point); every confidence mask and ground-truth mask."""
    return {MASKRCNN: ecfg.pick_score_thresh, CONFIDENCE: 0.0, ORACLE: 0.0}


def _trial_shard(shard: Shard, folder: Path, *, cfg: LatentRobotConfig, ecfg: LatentEvalConfig, data: LatentDataConfig,
                 seeds: int, models_dir: str, data_seed: int, sample_seed: int) -> dict:
    import torch

    torch.set_num_threads(1)
    trials = list(shard.get("trials"))
    rows = []
    for k in range(seeds):
        mine = [t for t in trials if t % seeds == k]
        if mine:
            segs = segmenters_for_seed(Path(models_dir), k, ecfg, sample_seed)
            out, _ = run_trials(mine, segs, min_scores(ecfg), cfg, data, data_seed, shard.seed)
            rows += [{**r, "seed": k} for r in out]
    rows.sort(key=lambda r: (r["trial"], METHODS.index(r["method"])))
    (folder / "trials.json").write_text(json.dumps(rows, indent=0, sort_keys=True) + "\n")
    return {"trials": len(trials)}


def run_robot(cfg: LatentRobotConfig, ecfg: LatentEvalConfig, data: LatentDataConfig, seeds: int, models_dir: Path,
              out_dir: Path, seed: int, executor: Executor | None = None, progress: bool = False) -> pd.DataFrame:
    """Every trial for every method; one row per (trial, method). Fails before any trial when a model is missing."""
    from .sweep import checkpoint_path

    missing = [str(checkpoint_path(models_dir, "apparel", m, k)) for k in range(seeds) for m in ("maskrcnn", "latent")
               if not checkpoint_path(models_dir, "apparel", m, k).exists()]
    if missing:
        raise FileNotFoundError(f"Table II robot: no trained Apparel model at {missing} (stage latentmrcnn_train trains "
                                "them; its `sets` must include apparel)")
    trial_seed = derive_seed(seed, "latentmrcnn_robot")
    shards = [Shard(f"trials_{i:05d}", len(idx), trial_seed, (("trials", idx),))
              for i in range(0, cfg.n_trials, cfg.trials_per_shard)
              for idx in [tuple(range(i, min(i + cfg.trials_per_shard, cfg.n_trials)))]]
    md5s = {f"{m}_seed{k}": hashlib.md5(checkpoint_path(models_dir, "apparel", m, k).read_bytes()).hexdigest()
            for k in range(seeds) for m in ("maskrcnn", "latent")}
    ident = plan_identity(generator="latentmrcnn Table II robot trials",
                          config={"robot": {k: v for k, v in dataclasses.asdict(cfg).items() if k != "workers"},
                                  "eval": {k: v for k, v in dataclasses.asdict(ecfg).items() if k != "workers"},
                                  "data": {k: v for k, v in dataclasses.asdict(data).items() if k != "workers"},
                                  "seeds": seeds, "models_md5": md5s},
                          seed=seed, code_modules=CODE_MODULES, inputs={})
    task = functools.partial(_trial_shard, cfg=cfg, ecfg=ecfg, data=data, seeds=seeds, models_dir=str(models_dir),
                             data_seed=seed, sample_seed=derive_seed(seed, "latentmrcnn_robot_sampling"))
    run_plan(out_dir, ident, shards, task, workers=cfg.workers, executor=executor, progress=progress,
             desc="picking trials", unit="shard")
    return read_trials(out_dir, [s.key for s in shards])


def read_trials(out_dir: Path, shard_keys: Sequence[str]) -> pd.DataFrame:
    """The trials the shards ``shard_keys`` of :func:`run_robot` wrote under ``out_dir``, in shard order; one row per
    (trial, method). A missing or cut-short ``trials.json`` is named, with the stage that rewrites it."""
    rows: list[dict] = []
    for key in shard_keys:
        rows += read_json(Path(out_dir) / key / "trials.json", stage="latentmrcnn_table2", kind="Table II robot trials")
    return pd.DataFrame(rows)


def _rates(outcome: np.ndarray, sealed: np.ndarray) -> dict[str, np.ndarray]:
    """Per method (columns): the double-pick rate over all picks (the paper's rate: grasps that picked two objects),
    the share of picks that lifted something (single or double) and the double picks among those, and the mean
    sealed cups over the picks that sealed on an item (single, double — cups on every item — or dropped) and over
    single picks alone."""
    double = (outcome == "double").mean(0) * 100
    lifted = np.isin(outcome, ("single", "double"))
    gripped = np.isin(outcome, ("single", "double", "dropped"))
    single = outcome == "single"

    def mean_over(mask):
        n = mask.sum(0)
        return np.where(n > 0, np.where(mask, sealed, 0).sum(0) / np.maximum(n, 1), np.nan)

    return {"double_pick_pct": double, "lifted_pct": lifted.mean(0) * 100,
            "double_of_lifted_pct": np.where(lifted.sum(0) > 0, 100 * (outcome == "double").sum(0)
                                             / np.maximum(lifted.sum(0), 1), np.nan),
            "avg_sealed_cups": mean_over(gripped), "avg_sealed_cups_single": mean_over(single)}


def _wide(trials: pd.DataFrame, order: Sequence[str], column: str) -> np.ndarray:
    wide = trials.pivot(index="trial", columns="method", values=column).reindex(columns=list(order))
    if wide.isna().any().any():
        missing = [c for c in wide.columns if wide[c].isna().any()]
        raise ValueError(f"Table II robot: methods {missing} lack some trials; every method must pick from every bin")
    return wide.to_numpy()


def table2(trials: pd.DataFrame, order: Sequence[str] = METHODS) -> pd.DataFrame:
    """Table II: double-pick rate (with a Wilson 95 % interval over picks), average sealed cups, the share of picks
    that lifted anything, the double picks by cause (cups sealed on two items: a merged mask; an item dragged along:
    it lay on the lifted one) and the outcomes by kind."""
    from ..reporting.uncertainty import wilson_interval

    outcome, sealed = _wide(trials, order, "outcome"), _wide(trials, order, "sealed_cups").astype(float)
    on_two = _wide(trials, order, "objects_sealed").astype(int) > 1
    rates = _rates(outcome, sealed)
    out = []
    for j, name in enumerate(order):
        n, d = len(outcome), int((outcome[:, j] == "double").sum())
        lo, hi = wilson_interval(d, n)
        two = int(((outcome[:, j] == "double") & on_two[:, j]).sum())
        out.append({"method": name, "picks": n, "double_picks": d, "double_pick_pct": rates["double_pick_pct"][j],
                    "double_pick_lo": 100 * lo, "double_pick_hi": 100 * hi,
                    "avg_sealed_cups": rates["avg_sealed_cups"][j],
                    "avg_sealed_cups_single": rates["avg_sealed_cups_single"][j],
                    "lifted_pct": rates["lifted_pct"][j], "double_of_lifted_pct": rates["double_of_lifted_pct"][j],
                    "double_sealed_on_two": two, "double_dragged_along": d - two,
                    **{f"n_{k}": int((outcome[:, j] == k).sum()) for k in OUTCOMES}})
    return pd.DataFrame(out)


def paired_replicates(trials: pd.DataFrame, order: Sequence[str], n_boot: int, seed: int) -> list[pd.DataFrame]:
    """Bootstrap replicates of Table II's rates: the models' training seeds are resampled, then the trials of each
    drawn seed (trial t used seed t mod seeds), one resample for every method — so the intervals carry the seed
    variance as well as the trials'."""
    outcome, sealed = _wide(trials, order, "outcome"), _wide(trials, order, "sealed_cups").astype(float)
    seeds = trials.drop_duplicates("trial").set_index("trial").sort_index()["seed"].to_numpy() \
        if "seed" in trials else np.zeros(len(outcome), int)
    groups = [np.flatnonzero(seeds == k) for k in np.unique(seeds)]
    rng = np.random.default_rng(seed)
    reps = []
    for _ in range(n_boot):
        pick = np.concatenate([g[rng.integers(0, len(g), len(g))]
                               for g in (groups[i] for i in rng.integers(0, len(groups), len(groups)))])
        rates = _rates(outcome[pick], sealed[pick])
        reps.append(pd.DataFrame({"method": list(order), **rates}))
    return reps


def add_intervals(table: pd.DataFrame, replicates: list[pd.DataFrame], column: str, level: float = 0.95) -> pd.DataFrame:
    """``column``'s percentile bootstrap interval as ``<column>_lo`` / ``_hi``."""
    vals = np.stack([r.set_index("method").loc[table.method, column].to_numpy(float) for r in replicates])
    a = (1 - level) / 2
    return table.assign(**{f"{column}_lo": np.nanquantile(vals, a, axis=0),
                           f"{column}_hi": np.nanquantile(vals, 1 - a, axis=0)})
