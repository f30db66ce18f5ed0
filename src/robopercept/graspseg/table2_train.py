"""§V, Table II: the paper's ten instance segmentation models (and one reference row of ours) and how each is trained.

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
test predictions (a COCO results JSON) in ``<models_dir>/<row>_seed<k>/``. The table, its bootstrap and its
claims are :mod:`robopercept.graspseg.table2`, computed from those results files.

The models' plan identity (:func:`sweep_identity`) hashes this module's import closure and the
configuration fields that change what a model learns (:func:`training_fields`): editing the table, its
claims or the bootstrap — or asking for fewer rows, more bootstrap replicates or another worker count —
never retrains a model. A row or seed left out of the plan has its folder removed (the models' folder holds the
planned models only, as a fresh run would).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from concurrent.futures import Executor
from pathlib import Path

import pandas as pd

from ..common.records import read_json
from ..seed import derive_seed
from ..world.shards import Shard, dataset_md5, plan_identity, run_plan
from .config_instances import TABLE2_ROWS, Table2Config
from .labeled import labeled_images

CODE_MODULES = ("robopercept.graspseg.table2_train",)

# Table2Config fields that choose which models are planned or how the table is computed, not what a model learns
PLAN_ONLY_FIELDS = frozenset({"rows", "n_seeds", "n_boot", "workers"})


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


def crops_stage(source: str) -> str:
    """The stage that writes a crop source's folder: graspseg_crops, or this stage for the Train Objects crops."""
    return "graspseg_table2" if source == TRAIN_OBJECTS else "graspseg_crops"


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
    files = [im["file_name"] for im in read_json(fn, stage="graspseg_grasp_data", kind="COCO annotations",
                                                 required=("images",))["images"]]
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
    sampler = PasteSampler(train, load_crops(folder, filtered=r.filtered, stage=crops_stage(r.crops)), pcfg, seed=seed)
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
    # the test annotations are read before training, so that a missing or corrupt file stops the shard in seconds
    ann = read_json(ds / "labeled_test" / "annotations.coco.json", stage="graspseg_grasp_data",
                    kind="COCO annotations", required=("images",))
    ids = {im["file_name"]: im["id"] for im in ann["images"]}
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
                                              robust_iou=cfg.robust_iou if ROWS[row].robust else None,
                                              robust_targets=cfg.robust_targets, live=live)
    checkpoints.save({"model": model.state_dict(), "row": row, "settings": dataclasses.asdict(model_settings(cfg)),
                      "train": dataclasses.asdict(ts), "history": history}, folder / "model.pt")
    test = labeled_images(ds, "labeled_test")
    preds = predict_images(model, [img for _, img, _ in test])
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
    recs = read_index(folder, crops_stage(r.crops))["records"]
    usable = sum(1 for x in recs if x["file"] is not None and (x["kept"] or not r.filtered))
    if usable == 0:
        what = "kept by the filters" if r.filtered else "non-empty"
        return f"no crop of {folder.name} is {what} ({len(recs)} considered)"
    return None


def training_fields(cfg: Table2Config) -> dict:
    """The configuration that decides what a model learns: every field but :data:`PLAN_ONLY_FIELDS` (which rows and
    seeds are planned, the table's bootstrap, the worker count)."""
    return {k: v for k, v in sorted(dataclasses.asdict(cfg).items()) if k not in PLAN_ONLY_FIELDS}


def sweep_identity(cfg: Table2Config, dataset: Path, crops_dir: Path, train_crops_dir: Path, inpainter_dir: Path | None,
                   pretrained: Path, seed: int, grasp_seeds: int) -> dict:
    """The models' plan identity: this module's code closure (the training, not the table), the training fields,
    the pretrained backbone's md5, the base seed and the md5 of every input folder. The inpainter (and a local
    Stable Diffusion folder) enter whenever given, whatever rows are planned — so the identity does not depend on the
    planned rows, and planning fewer rows or seeds keeps the models still planned."""
    # the grasp dataset by its files, not its plan.json (which holds the generator's code md5): a regeneration that
    # writes the same bytes keeps the models
    inputs = {"crops": crops_dir, "train_crops": train_crops_dir}
    if inpainter_dir is not None:
        inputs["inpainter"] = inpainter_dir
    if cfg.sd_pipeline:
        from .. import paths

        inputs["sd_pipeline"] = paths.resolve(cfg.sd_pipeline)  # its weights' hash in the plan: another folder retrains
    return plan_identity(generator="graspseg Table II sweep",
                         config={**training_fields(cfg), "grasp_seeds": grasp_seeds,
                                 "pretrained_md5": hashlib.md5(Path(pretrained).read_bytes()).hexdigest(),
                                 "dataset_md5": dataset_md5(dataset)},
                         seed=seed, code_modules=CODE_MODULES, inputs=inputs)


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
    ident = sweep_identity(cfg, dataset, crops_dir, train_crops_dir, inpainter_dir, pretrained, seed, grasp_seeds)
    task = functools.partial(_train_shard, cfg=cfg, dataset=str(dataset), crops_dir=str(crops_dir),
                             train_crops_dir=str(train_crops_dir),
                             inpainter_dir=str(inpainter_dir) if inpainter_dir else None, pretrained=str(pretrained),
                             grasp_seeds=grasp_seeds)
    # the identity leaves out which rows and seeds are planned, so a model no longer planned is removed: the folder
    # holds what a fresh run with this plan would hold
    res = run_plan(models_dir, ident, shards, task, workers=cfg.workers, executor=executor, progress=progress,
                   desc="Table II models", unit="model", prune_unplanned=True)
    from ..common.live import publish

    publish(models_dir, [s.key for s in shards], live_dir)  # every model's log, resumed or not
    summary = pd.DataFrame([res.stats[s.key] for s in shards])
    not_trained = pd.DataFrame([{"row": r, "seed": k, "reason": why} for (r, k), why in skipped.items()],
                               columns=["row", "seed", "reason"])
    return summary, not_trained
