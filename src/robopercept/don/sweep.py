"""Training every DON variant of the configured experiments, each ``seeds`` times, on the shard runner.

One shard per (variant, seed): its own process and torch thread, a fresh network, its checkpoint (the state at the
best validation PCK@80, as the paper keeps) and learning curve in ``<models_dir>/<variant key>_seed<k>/model.pt``.
Seed ``k`` is the same for every variant (initialisation of the head, batch draws, augmentation draws): variants
differ by what they are, not by their luck, and comparisons are paired by seed.

**Steps.** The paper counts image pairs: "500 epochs, with each epoch consisting of 1000 image pairs", validation
"every 5 epochs". A run takes ``pairs // batch_size`` steps and validates every ``validate_every_pairs //
batch_size`` steps, so every batch size sees the same number of pairs (Table III compares them at equal data).

**Validation.** Pairs of the validation scenes (the single-object ones and the multi-object one, which carry
known-object masks) with query pixels on a known object, drawn once from the run seed (the same pairs for every
model); poses at least 10 cm and 7.5° apart (ours: half the test filter of §IV-E.1, the validation scenes being few).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from pathlib import Path

from ..formats.don_logs import DonLogError, DonLogs
from ..seed import derive_seed
from ..world.shards import Shard, plan_identity, run_plan
from .config import DonTrainConfig
from .experiments import Variant, scaled, unique_variants

COMPOSITE = "robopercept_don"
CODE_MODULES = ("robopercept.don.sweep", "robopercept.don.train", "robopercept.don.model", "robopercept.don.losses",
                "robopercept.don.pairs", "robopercept.don.augment", "robopercept.don.correspondence",
                "robopercept.don.metrics", "robopercept.don.experiments", "robopercept.formats.don_logs")
VAL_MIN_TRANSLATION_M = 0.1
VAL_MIN_ANGLE_DEG = 7.5


def splits(logs: DonLogs) -> dict[str, list[str]]:
    """The scene lists of §IV-B from the dataset configs: single-object train / validation, multi-object train /
    validation (config ``known_objects``), test (config ``test_scenes``)."""
    for name in ("known_objects", "test_scenes"):
        if name not in logs.multi:
            raise DonLogError(f"{logs.config_dir / 'multi_object'}: no {name}.yaml (the multi-object config "
                              "don_data writes)")
    out = {"single_train": sorted({s for c in logs.single.values() for s in c["train"]}),
           "single_val": sorted({s for c in logs.single.values() for s in c["test"]}),
           "multi_train": sorted(logs.multi["known_objects"]["train"]),
           "multi_val": sorted(logs.multi["known_objects"]["test"]),
           "test": sorted(logs.multi["test_scenes"]["test"])}
    for k in ("single_train", "multi_train", "test"):
        if not out[k]:
            raise DonLogError(f"{logs.root}: the dataset has no {k.replace('_', ' ')} scenes")
    return out


def check_training_scenes(logs: DonLogs) -> dict[str, list[str]]:
    """The scene lists (:func:`splits`), after reading every frame of the training and validation scenes once
    (:meth:`robopercept.formats.don_logs.Scene.check`): a missing, truncated or mis-sized file is named here, before
    any model trains, not inside a training worker."""
    sp = splits(logs)
    for name in sp["single_train"] + sp["multi_train"] + sp["single_val"] + sp["multi_val"]:
        logs.scene(name).check()
    return sp


def validation_pairs(logs: DonLogs, cfg: DonTrainConfig, seed: int) -> list[dict]:
    from .pairs import evaluation_pairs

    sp = splits(logs)
    scenes = sp["single_val"] + sp["multi_val"]
    if not scenes:
        return []
    n_objects = len({o for s in scenes for o in logs.scene(s).objects})
    per_object = max(1, -(-cfg.val_pairs // max(1, n_objects)))
    return evaluation_pairs(logs, scenes, pairs_per_object=per_object, queries=cfg.val_queries,
                            min_translation_m=VAL_MIN_TRANSLATION_M, min_angle_deg=VAL_MIN_ANGLE_DEG, seed=seed)


def training_scenes(sp: dict[str, list[str]], v: Variant) -> list[str]:
    if v.data == "single":
        return sp["single_train"]
    if v.n_scenes > len(sp["multi_train"]):
        raise ValueError(f"variant {v.key()}: {v.n_scenes} multi-object scenes asked for, the dataset has "
                         f"{len(sp['multi_train'])} (lower don_train.fig5_scenes or record more)")
    return sp["multi_train"][:v.n_scenes or None]


def steps_for(v: Variant, cfg: DonTrainConfig) -> int:
    """Optimiser updates of a run: ``pairs // batch_size`` (every batch size sees the same image pairs, so a batch of 4
    takes a quarter of the updates of a batch of 1 — as an epoch-based schedule does)."""
    return max(1, cfg.pairs // v.batch_size)


def settings(v: Variant, cfg: DonTrainConfig, height: int, width: int, seed: int):
    from .train import TrainSettings

    return TrainSettings(loss=v.loss, steps=steps_for(v, cfg), batch_size=v.batch_size,
                         correspondences=scaled(v.correspondences, height, width), non_matches=v.non_matches,
                         temperature=cfg.temperature, lr=cfg.lr, weight_decay=cfg.weight_decay,
                         augmentations=v.augmentations, masked_sampling=v.data == "single",
                         validate_every=max(1, cfg.validate_every_pairs // v.batch_size), seed=seed)


def model_key(v: Variant, k: int) -> str:
    return f"{v.key()}_seed{k}"


def _train_shard(shard: Shard, folder: Path, *, cfg: DonTrainConfig, logs_root: str, pretrained: str | None,
                 val_seed: int) -> dict:
    import numpy as np
    import torch

    from ..common import checkpoints
    from .model import DenseDescriptorNet, load_standin_backbone
    from .train import train

    torch.set_num_threads(1)
    info = dict(shard.get("variant"))
    v = Variant(**{**info, "augmentations": tuple(info["augmentations"])})
    logs = DonLogs(logs_root, COMPOSITE)
    sp = splits(logs)
    first = logs.scene(sp["test"][0])
    s = settings(v, cfg, first.height, first.width, shard.seed)
    torch.manual_seed(shard.seed)
    model = DenseDescriptorNet(v.descriptor_dim, cfg.backbone, normalize=not pretrained)  # the stand-in: [0, 1] in
    if pretrained:
        load_standin_backbone(model, pretrained)
    history, best = train(model, logs, training_scenes(sp, v), s, validation_pairs(logs, cfg, val_seed),
                          other_scenes=sp["single_train"] if v.loss == "pixelwise_cross_object" else None)
    checkpoints.save({"model": best, "variant": dataclasses.asdict(v), "settings": dataclasses.asdict(s),
                      "backbone": cfg.backbone, "normalize": not pretrained, "history": history}, folder / "model.pt")
    val = [h for h in history if "val_pck80" in h]
    top = max(val, key=lambda h: h["val_pck80"]) if val else {"step": s.steps, "val_pck80": float("nan")}
    return {"key": v.key(), "seed": shard.get("seed_index"), "loss": v.loss, "steps": s.steps,
            "correspondences": s.correspondences,
            "distinct_matches": float(np.mean([h["matches"] for h in history])),  # per pair, what the loss saw
            "skipped_steps": int(sum(not np.isfinite(h["loss"]) for h in history)),
            "best_step": top["step"], "val_pck80": top["val_pck80"],
            "final_loss": float(np.nanmean([h["loss"] for h in history[-max(1, s.validate_every):]]))}


def standin_backbone(cfg: DonTrainConfig, models_root: Path, option: str = "backbone_checkpoint") -> Path | None:
    """The shared stand-in backbone's checkpoint under ``models_root`` when ``cfg.backbone_checkpoint`` is
    ``stand-in`` (None: from scratch); refused, naming the stage that makes it, when it is missing."""
    if cfg.backbone_checkpoint != "stand-in":
        return None
    path = Path(models_root) / "pretrain" / "backbone.pt"
    if not path.exists():
        raise FileNotFoundError(f"{option}: stand-in, but {path} does not exist (stage pretrained_backbone makes it)")
    return path


def run_models(models_dir: Path, ident: dict, shards: list[Shard], task, pretrained: Path | None, workers: int,
               executor=None, progress: bool = True, desc: str = "DON models"):
    """Run the shards of a DON sweep (``task``: a shard function, ``functools.partial`` of its settings) on the shard
    runner, the stand-in backbone's md5 in the plan identity when there is one; one summary row per model, in shard
    order (no wall-clock)."""
    import pandas as pd

    if pretrained is not None:
        ident = {**ident, "pretrained_md5": hashlib.md5(Path(pretrained).read_bytes()).hexdigest()}
    res = run_plan(models_dir, ident, shards, task, workers=workers, executor=executor, progress=progress, desc=desc,
                   unit="model")
    return pd.DataFrame([res.stats[s.key] for s in shards])


def train_all(cfg: DonTrainConfig, logs_root: Path, pretrained: Path | None, models_dir: Path, seed: int,
              executor=None, progress: bool = True):
    """Train every (variant, seed); returns one summary row per model (no wall-clock)."""
    logs = DonLogs(logs_root, COMPOSITE)
    sp = check_training_scenes(logs)  # fail early: no scene lists, or a bad file (named) in a training scene
    variants = unique_variants(cfg, len(sp["multi_train"]))
    for v in variants:
        training_scenes(sp, v)  # fail early: a fig5 count above the scenes recorded
    shards = [Shard(model_key(v, k), 1, derive_seed(seed, "don_train", k),
                    (("variant", tuple(dataclasses.asdict(v).items())), ("seed_index", k)))
              for v in variants for k in range(cfg.seeds)]
    ident = plan_identity(generator="don training sweep", config=dataclasses.asdict(cfg), seed=seed,
                          code_modules=CODE_MODULES, inputs={"logs": logs_root},
                          ignore=("workers",))
    task = functools.partial(_train_shard, cfg=cfg, logs_root=str(logs_root),
                             pretrained=str(pretrained) if pretrained else None,
                             val_seed=derive_seed(seed, "don_validation_pairs"))
    return run_models(models_dir, ident, shards, task, pretrained, cfg.workers, executor, progress, "DON models")
