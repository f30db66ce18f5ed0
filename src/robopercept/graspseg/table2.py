"""§V, Table II: the paper's ten instance segmentation models (and one reference row of ours), how each is trained, and the table with its uncertainty.

=====================  ================================  =====================================================
row                    "Paste From" (paper)              what one training batch holds
=====================  ================================  =====================================================
Mask2Former-100        None                              ``n_small`` labeled images, all their instances
Single-Object-100      None                              50:50 — labeled batches as above, and batches of
                                                         unlabeled grasps with only Grasp-100's mask of the
                                                         grasped object (no "no object" term; §V-A.1)
Paste-Subtract         Subtract-Filter                   a labeled image + 0–25 pasted crops (§III-B.2)
Paste-Subtract-Robust  Subtract-Filter                   the same, robust set loss as mask loss (§V-A.2)
Paste-Train            Train Objects                     crops of the ``n_small`` labeled images' own objects
Paste-Grasp            Grasp-100                         crops of Grasp-100's unfiltered predictions
Paste-Grasp-Filter     Grasp-100-Filter                  crops kept by the §III-B.1 filters
Paste-Grasp-Robust     Grasp-100-Filter                  the same, robust set loss
Paste-Grasp-Inpaint    Grasp-100 + Inpaint               Paste-Grasp, pasted boundaries inpainted (§III-B.3)
Paste-Grasp-           Grasp-100 + cv2.inpaint (ours)    the same with OpenCV's Telea inpainting instead of the
  OpenCVInpaint                                          diffusion model: a reference row the paper does not
                                                         have — is diffusion worth it for training?
Mask2Former-1000       None                              ``n_large`` labeled images (capped by the dataset:
                                                         at the cpu profile, every labeled training image
                                                         not used for validation — 240, not 1000)
=====================  ================================  =====================================================

Pasting always uses the ``n_small`` labeled images as base images. Single-Object-100 trains for twice
``max_steps`` so that its labeled half sees as many batches as Mask2Former-100, with ``min_steps`` and
``eval_every`` doubled too (early stopping then waits as many labeled batches as for every other row).

Deviations from the paper's text, stated: §V-A says Paste rows use "the filtered object crops", while Table
II's "Paste From" column names unfiltered Grasp-100 for Paste-Grasp and Paste-Grasp-Inpaint — we follow the
table. Paste-Train keeps only labeled instances with visible/amodal > ``t_occ_train_objects`` (unoccluded
objects, like the model filter; the paper does not say how it cut training objects). Grasp-100-Filter uses
each Grasp-100 seed's recall-matched entropy threshold (stage graspseg_crops: the filter keeps the paper's 29.4 % of
that seed's validation predictions; ``graspseg_crops.filter_calibration``). Seed ``k`` of a row uses the crops of
Grasp-100 seed ``k mod grasp_seeds`` (the grasp model's variance propagates into Table II).

Each (row, seed) is one shard of the shard runner: its own process and torch thread, its checkpoint and its
test predictions (a COCO results JSON) in ``<models_dir>/<row>_seed<k>/``. The table is computed from the
results files: per image matches once (:mod:`robopercept.graspseg.instance_eval`), then a bootstrap that
resamples test images (the same resample for every row: comparisons are paired) and each row's seeds.
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

from ..seed import derive_seed
from ..world.shards import Shard, plan_identity, run_plan
from .config_instances import TABLE2_ROWS, Table2Config
from .instance_eval import METRICS, ImageMatches, area_ranges, match_images, table2_metrics
from .labeled import labeled_images

CODE_MODULES = ("robopercept.graspseg.table2", "robopercept.graspseg.instance_train",
                "robopercept.graspseg.instance_model", "robopercept.graspseg.instance_losses",
                "robopercept.graspseg.paste", "robopercept.graspseg.inpaint")


@dataclasses.dataclass(frozen=True)
class Row:
    paste_from: str  # the paper's column
    labeled: str  # "small" | "large"
    crops: str | None = None  # crop source folder stem: "Subtract", "Train Objects", "Grasp-100"
    filtered: bool = False
    robust: bool = False
    inpaint: bool = False
    inpainter: str = "diffusion"  # "diffusion": the graspseg_crops stage's model; "opencv": cv2.inpaint (Telea)
    single_object: bool = False


ROWS = {
    "Mask2Former-100": Row("None", "small"),
    "Single-Object-100": Row("None", "small", crops="Grasp-100", single_object=True),
    "Paste-Subtract": Row("Subtract-Filter", "small", crops="Subtract", filtered=True),
    "Paste-Subtract-Robust": Row("Subtract-Filter", "small", crops="Subtract", filtered=True, robust=True),
    "Paste-Train": Row("Train Objects", "small", crops="Train Objects", filtered=True),
    "Paste-Grasp": Row("Grasp-100", "small", crops="Grasp-100"),
    "Paste-Grasp-Filter": Row("Grasp-100-Filter", "small", crops="Grasp-100", filtered=True),
    "Paste-Grasp-Robust": Row("Grasp-100-Filter", "small", crops="Grasp-100", filtered=True, robust=True),
    "Paste-Grasp-Inpaint": Row("Grasp-100 + Inpaint", "small", crops="Grasp-100", inpaint=True),
    "Paste-Grasp-OpenCVInpaint": Row("Grasp-100 + cv2.inpaint (ours)", "small", crops="Grasp-100", inpaint=True,
                                     inpainter="opencv"),
    "Mask2Former-1000": Row("None", "large"),
}
assert tuple(ROWS) == TABLE2_ROWS


TRAIN_OBJECTS = "Train Objects"


def _read_json(path: Path, made_by: str):
    """A JSON file this stage reads, or an error naming the file and the stage that makes it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; the {made_by} stage makes it")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not valid JSON ({e}); rerun the {made_by} stage to make it again") from None


def crop_folder(crops_dir: Path, source: str, seed_index: int, grasp_seeds: int) -> Path:
    """The crop folder a row's seed pastes from (Grasp-100 crops are per grasp-model seed). Grasp and
    subtraction crops come from stage graspseg_crops; Train Objects crops are cut by this stage from its own
    ``n_small`` labeled images (:func:`train_object_crops`)."""
    if source == "Grasp-100":
        return Path(crops_dir) / f"Grasp-100_seed{seed_index % grasp_seeds}"
    return Path(crops_dir) / source


def train_object_crops(dataset: Path, cfg: Table2Config, out: Path, t_occ: float) -> dict:
    """Paste-Train's crops: the unoccluded instances of the ``n_small`` labeled training images."""
    from .crops import collect_train_object_crops

    return collect_train_object_crops(dataset, split_files(dataset, cfg)["small"], Path(out) / TRAIN_OBJECTS, t_occ)


def model_key(row: str, seed_index: int) -> str:
    return f"{row}_seed{seed_index}"


# ---------------------------------------------------------------------------------------------------
# Labeled images
# ---------------------------------------------------------------------------------------------------

def split_files(dataset: Path, cfg: Table2Config) -> dict[str, list[str]]:
    """Training images (the first ``n_small`` / up to ``n_large``) and validation images (the last
    ``n_val`` of the labeled training split) — graspseg Table I's split: the first grasps train, the
    following ones validate."""
    fn = Path(dataset) / "labeled_train" / "annotations.coco.json"
    if not fn.exists():
        raise FileNotFoundError(f"{fn} is missing (stage graspseg_grasp_data writes it)")
    files = [im["file_name"] for im in _read_json(fn, "graspseg_grasp_data")["images"]]
    if len(files) < cfg.n_small + cfg.n_val:
        raise ValueError(f"{fn} holds {len(files)} labeled training images; Table II needs n_small + n_val = "
                         f"{cfg.n_small + cfg.n_val}")
    n_large = min(cfg.n_large, len(files) - cfg.n_val)
    return {"small": files[:cfg.n_small], "large": files[:n_large], "val": files[n_large:n_large + cfg.n_val]}


# ---------------------------------------------------------------------------------------------------
# One (row, seed)
# ---------------------------------------------------------------------------------------------------

def model_settings(cfg: Table2Config):
    from .instance_model import InstanceModelSettings

    return InstanceModelSettings(backbone=cfg.backbone, num_queries=cfg.num_queries, hidden_dim=cfg.hidden_dim,
                                 encoder_layers=cfg.encoder_layers, decoder_layers=cfg.decoder_layers,
                                 dim_feedforward=cfg.dim_feedforward, encoder_feedforward_dim=cfg.encoder_feedforward_dim,
                                 num_heads=cfg.num_heads, train_num_points=cfg.train_num_points)


class LazyImages:
    """(image, masks) pairs whose images are read when a batch needs them (the unlabeled grasps of
    Single-Object-100 are too many to hold at the paper's scale)."""

    def __init__(self, items):
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        from ..formats.grasp_pairs import read_png

        path, masks = self.items[i]
        return read_png(path, rgb=True), masks


def row_inpainter(row: str, cfg: Table2Config, inpainter_dir: Path | None):
    """The inpainter a row pastes with: None (no inpainting), OpenCV's Telea (our reference row), the local Stable
    Diffusion folder ``cfg.sd_pipeline`` when one is given (the paper's), else the small diffusion model of stage
    graspseg_crops (``inpainter_dir``)."""
    from .. import paths
    from .inpaint import BoundaryInpainter, OpenCVInpainter, StableDiffusionInpainter

    r = ROWS[row]
    if not r.inpaint:
        return None
    if r.inpainter == "opencv":
        return OpenCVInpainter()
    if cfg.sd_pipeline:
        return StableDiffusionInpainter.from_local(paths.resolve(cfg.sd_pipeline))
    if inpainter_dir is None:
        raise ValueError(f"row {row} needs the inpainter (stage graspseg_crops trains it)")
    return BoundaryInpainter.load(inpainter_dir)


def batch_source(row: str, seed_index: int, seed: int, cfg: Table2Config, dataset: Path, crops_dir: Path,
                 train_crops_dir: Path, inpainter_dir: Path | None, grasp_seeds: int):
    """The training batches of one (row, seed)."""
    from .crops import load_crops, load_grasp_masks
    from .inpaint import inpaint_radius
    from .instance_train import AlternatingBatches, LabeledBatches, PasteBatches
    from .paste import PasteConfig, PasteSampler

    r = ROWS[row]
    files = split_files(dataset, cfg)
    train = [(img, m) for _, img, m in labeled_images(dataset, "labeled_train", files[r.labeled])]
    if r.crops is None:
        return LabeledBatches(train, seed)
    folder = crop_folder(train_crops_dir if r.crops == TRAIN_OBJECTS else crops_dir, r.crops, seed_index, grasp_seeds)
    if r.single_object:
        single = LazyImages([(p, m[None]) for p, m in load_grasp_masks(folder, dataset, filtered=False)])
        return AlternatingBatches(LabeledBatches(train, seed), LabeledBatches(single, seed + 1, single_object=True))
    pcfg = PasteConfig(min_objects=cfg.min_pasted, max_objects=cfg.max_pasted, min_scale=cfg.min_scale,
                       max_scale=cfg.max_scale)
    sampler = PasteSampler(train, load_crops(folder, filtered=r.filtered), pcfg, seed=seed)
    return PasteBatches(sampler, row_inpainter(row, cfg, inpainter_dir), radius=inpaint_radius(train[0][0].shape[1]))


def _train_shard(shard: Shard, folder: Path, *, cfg: Table2Config, dataset: str, crops_dir: str, train_crops_dir: str,
                 inpainter_dir: str | None, pretrained: str, grasp_seeds: int) -> dict:
    import torch

    from ..common import checkpoints
    from ..common.live import shard_live
    from .instance_eval import write_results
    from .instance_train import InstanceTrainSettings, predict_images, train_instance_model

    torch.set_num_threads(1)
    row, k = shard.get("row"), shard.get("seed_index")
    ds = Path(dataset)
    src = batch_source(row, k, shard.seed, cfg, ds, Path(crops_dir), Path(train_crops_dir),
                       Path(inpainter_dir) if inpainter_dir else None, grasp_seeds)
    files = split_files(ds, cfg)
    val = [(img, m) for _, img, m in labeled_images(ds, "labeled_train", files["val"])]
    # Single-Object-100 alternates labeled and single-object batches: twice the steps, so that it sees as
    # many labeled batches as Mask2Former-100 (else a step cap alone could make it worse) — and its warm-up and
    # evaluation interval scaled alike, so that early stopping waits as many labeled batches as for the other rows
    factor = 2 if ROWS[row].single_object else 1
    steps = cfg.max_steps * factor
    ts = InstanceTrainSettings(lr=cfg.lr, batch_size=cfg.batch_size, max_steps=steps,
                               eval_every=cfg.eval_every * factor, patience=cfg.patience,
                               min_steps=cfg.min_steps * factor, seed=shard.seed)
    with shard_live(folder) as live:  # in the shard: a resumed run publishes every model's log (common.live)
        model, history = train_instance_model(model_settings(cfg), ts, src, val, pretrained,
                                              robust_iou=cfg.robust_iou if ROWS[row].robust else None, live=live)
    checkpoints.save({"model": model.state_dict(), "row": row, "settings": dataclasses.asdict(model_settings(cfg)),
                      "train": dataclasses.asdict(ts), "history": history}, folder / "model.pt")
    test = labeled_images(ds, "labeled_test")
    preds = predict_images(model, [img for _, img, _ in test])
    ann = _read_json(ds / "labeled_test" / "annotations.coco.json", "graspseg_grasp_data")
    ids = {im["file_name"]: im["id"] for im in ann["images"]}
    write_results(folder / "results.coco.json", [ids[f] for f, _, _ in test], preds)
    best = max(history, key=lambda h: h["val_AP"])
    return {"row": row, "seed": k, "labeled_images": len(files[ROWS[row].labeled]), "steps": history[-1]["step"],
            "best_step": best["step"], "val_AP": best["val_AP"], "max_steps": steps,
            "stopped": "early" if history[-1]["step"] < steps else "at max_steps"}


def crop_pool_problem(row: str, seed_index: int, crops_dir: Path, train_crops_dir: Path, grasp_seeds: int) -> str | None:
    """Why a (row, seed) cannot be trained — its crop source kept no crop (e.g. every prediction failed the
    filters) — or None. Such a row is reported as not trained, never silently trained on something else."""
    from .crops import read_index

    r = ROWS[row]
    if r.crops is None:
        return None
    folder = crop_folder(train_crops_dir if r.crops == TRAIN_OBJECTS else crops_dir, r.crops, seed_index, grasp_seeds)
    recs = read_index(folder)["records"]
    usable = sum(1 for x in recs if x["file"] is not None and (x["kept"] or not r.filtered))
    if usable == 0:
        what = "kept by the filters" if r.filtered else "non-empty"
        return f"no crop of {folder.name} is {what} ({len(recs)} considered)"
    return None


def train_rows(cfg: Table2Config, dataset: Path, crops_dir: Path, train_crops_dir: Path, inpainter_dir: Path | None,
               pretrained: Path, models_dir: Path, live_dir: Path, seed: int, grasp_seeds: int,
               executor: Executor | None = None, progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train every (row, seed) whose crop source is usable on the shard runner. Returns one summary row per
    trained model (no wall-clock) and the (row, seed)s not trained, with the reason."""
    split_files(dataset, cfg)  # fail early on a too-small dataset
    skipped = {}
    for r in cfg.rows:
        for k in range(cfg.n_seeds):
            why = crop_pool_problem(r, k, crops_dir, train_crops_dir, grasp_seeds)
            if why:
                skipped[(r, k)] = why
    # common random numbers: seed k is the same for every row (initialisation, batch draws), so rows differ by
    # what they are, not by their luck; the bootstrap resamples k jointly for all rows
    shards = [Shard(model_key(r, k), 1, derive_seed(seed, "graspseg_table2", k), (("row", r), ("seed_index", k)))
              for r in cfg.rows for k in range(cfg.n_seeds) if (r, k) not in skipped]
    inputs = {"dataset": dataset, "crops": crops_dir, "train_crops": train_crops_dir}
    if inpainter_dir is not None and any(ROWS[r].inpaint for r in cfg.rows):
        inputs["inpainter"] = inpainter_dir
    if cfg.sd_pipeline and any(ROWS[r].inpaint for r in cfg.rows):
        from .. import paths

        inputs["sd_pipeline"] = paths.resolve(cfg.sd_pipeline)  # its weights' hash in the plan: another folder retrains
    ident = plan_identity(generator="graspseg Table II sweep", config={**dataclasses.asdict(cfg), "grasp_seeds": grasp_seeds,
                          "pretrained_md5": hashlib.md5(Path(pretrained).read_bytes()).hexdigest()},
                          seed=seed, code_modules=CODE_MODULES, inputs=inputs)
    task = functools.partial(_train_shard, cfg=cfg, dataset=str(dataset), crops_dir=str(crops_dir),
                             train_crops_dir=str(train_crops_dir),
                             inpainter_dir=str(inpainter_dir) if inpainter_dir else None, pretrained=str(pretrained),
                             grasp_seeds=grasp_seeds)
    res = run_plan(models_dir, ident, shards, task, workers=cfg.workers, executor=executor, progress=progress,
                   desc="Table II models", unit="model")
    from ..common.live import publish

    publish(models_dir, [s.key for s in shards], live_dir)  # every model's log, resumed or not
    summary = pd.DataFrame([res.stats[s.key] for s in shards])
    not_trained = pd.DataFrame([{"row": r, "seed": k, "reason": why} for (r, k), why in skipped.items()],
                               columns=["row", "seed", "reason"])
    return summary, not_trained


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
    rows = _read_json(results_json, "graspseg_table2")
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

    ann = _read_json(Path(dataset) / "labeled_test" / "annotations.coco.json", "graspseg_grasp_data")
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
    long = pd.concat([r[["method", metric]].assign(replicate=i) for i, r in enumerate(replicates)], ignore_index=True)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    long[["replicate", "method", metric]].to_csv(path, index=False, float_format="%.6f")
    return path


def read_ap_replicates(path: Path, metric: str = "AP") -> list[dict[str, float]]:
    """:func:`write_ap_replicates`' file back: one ``{method: value}`` per replicate, in replicate order."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: Table II's bootstrap replicates are missing; run the graspseg_table2 stage "
                                "first (Table III's claims compare with them)")
    long = pd.read_csv(path)
    if not {"replicate", "method", metric} <= set(long.columns) or long.empty:
        raise ValueError(f"{path}: expected rows with columns 'replicate', 'method' and {metric!r}, found "
                         f"{list(long.columns)} ({len(long)} rows)")
    return [{str(m): float(v) for m, v in zip(g.method, g[metric])} for _, g in long.groupby("replicate", sort=True)]
