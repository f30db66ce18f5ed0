"""Training every (set, model, seed) of §V on the shard runner: one process and one torch thread per model.

A shard is one model: Mask R-CNN or Latent-MaskRCNN, on one set (``apparel``, ``catalog``), with one seed. Its
checkpoint (weights, settings, per-step history; no wall-clock) goes to ``<models_dir>/<set>_<model>_seed<k>/``, so
a model does not depend on how many train in parallel and a killed sweep resumes from the finished ones. Both models
of one (set, seed) start from the same initial weights of their shared parts and see the same batches: the
comparison is paired.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from concurrent.futures import Executor
from pathlib import Path

import pandas as pd

from ..common.live import publish, shard_live
from ..seed import derive_seed
from ..world.shards import Shard, dataset_md5, plan_identity, recorded_config, run_plan
from .config import LatentDataConfig, LatentTrainConfig

MODELS = ("maskrcnn", "latent")
MODEL_LABELS = {"maskrcnn": "MaskRCNN", "latent": "Latent-MaskRCNN"}
CODE_MODULES = ("robopercept.common.live", "robopercept.latentmrcnn.sweep", "robopercept.latentmrcnn.model",
                "robopercept.latentmrcnn.train", "robopercept.latentmrcnn.data")


def model_key(set_name: str, model: str, seed_index: int) -> str:
    return f"{set_name}_{model}_seed{seed_index}"


def checkpoint_path(models_dir: str | Path, set_name: str, model: str, seed_index: int) -> Path:
    return Path(models_dir) / model_key(set_name, model, seed_index) / "model.pt"


def model_settings(cfg: LatentTrainConfig, data: LatentDataConfig, num_classes: int):
    """The model's settings; its input normalisation follows the backbone's checkpoint (none for the stand-in)."""
    from .model import IMAGENET_MEAN, IMAGENET_STD, UNNORMALISED, ModelSettings

    mean, std = UNNORMALISED if cfg.pretrained_checkpoint == "stand-in" else (IMAGENET_MEAN, IMAGENET_STD)
    return ModelSettings(backbone=cfg.backbone, num_classes=num_classes, image_mean=mean, image_std=std,
                         min_size=min(data.height, data.width),
                         max_size=max(data.height, data.width), z_dim=cfg.z_dim, encoder_roi=cfg.encoder_roi,
                         encoder_width=cfg.encoder_width, encoder_hidden=cfg.encoder_hidden,
                         encoder_layers=cfg.encoder_layers, prior_width=cfg.prior_width,
                         posterior_rate=cfg.posterior_rate, trainable_layers=cfg.trainable_layers,
                         roi_batch_per_image=cfg.roi_batch_per_image, mask_head_width=cfg.mask_head_width,
                         rpn_test_proposals=cfg.rpn_test_proposals)


def train_settings(cfg: LatentTrainConfig, seed: int):
    from .train import TrainSettings

    return TrainSettings(steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr, warmup=cfg.warmup, beta=cfg.beta,
                         kl_start=cfg.kl_start, prior_beta=cfg.prior_beta, seed=seed)


def training_set(datasets_dir: Path, set_name: str, split: str = "train"):
    """A set's split, class-agnostic: every model here predicts masks of "an object". Apparel-5k has one category
    anyway; on the catalog stand-in for COCO, category labels would only add cross-class duplicates (torchvision's
    per-class NMS) to a class-agnostic evaluation, and the paper's confidence masks and Union-NMS produce masks, not
    labels. Category confusion (Fig. 7, row 2) is therefore not tested here."""
    from .data import InstanceSet

    root = Path(datasets_dir) / f"latentmrcnn_{set_name}"
    return InstanceSet(root / "annotations" / f"instances_{split}.json", root, class_agnostic=True,
                       stage="latentmrcnn_data")


def build(model: str, settings):
    from .model import LatentMaskRCNN, build_maskrcnn

    return LatentMaskRCNN(settings) if model == "latent" else build_maskrcnn(settings)


def _train_shard(shard: Shard, folder: Path, *, cfg: LatentTrainConfig, data: LatentDataConfig, datasets_dir: str,
                 pretrained: str | None) -> dict:
    import torch

    from ..common import checkpoints
    from .model import load_backbone
    from .train import train

    torch.set_num_threads(1)
    set_name, model_name, k = shard.get("set"), shard.get("model"), shard.get("seed_index")
    ds = training_set(Path(datasets_dir), set_name)
    settings = model_settings(cfg, data, ds.num_classes)
    torch.manual_seed(shard.seed)  # the same initial weights for the parts both models share
    model = build(model_name, settings)
    if pretrained:
        load_backbone(model, pretrained)
    ts = train_settings(cfg, shard.seed)
    with shard_live(folder) as live:  # in the shard: a resumed run publishes every model's log (common.live)
        history = train(model, ds, ts, live=live)
    checkpoints.save({"model": model.state_dict(), "kind": model_name, "set": set_name,
                      "settings": dataclasses.asdict(settings), "train": dataclasses.asdict(ts),
                      "history": history}, folder / "model.pt")
    last = history[-max(1, len(history) // 10):]  # the last tenth of training
    return {"set": set_name, "model": model_name, "seed": k, "steps": len(history),
            "final_loss": sum(h["loss"] for h in last) / len(last),
            "final_kl": _mean_of(last, "kl"),
            # mean log σ² of the prior and of the posterior at the end: the prior's spread is what test-time samples use
            "final_prior_logvar": _mean_of(last, "logvar_p"), "final_posterior_logvar": _mean_of(last, "logvar_q")}


def _mean_of(records: list[dict], key: str) -> float:
    """Mean of ``key`` over the records that have it (NaN when none: Mask R-CNN has no latent)."""
    vals = [r[key] for r in records if key in r]
    return sum(vals) / len(vals) if vals else float("nan")


def sweep_identity(cfg: LatentTrainConfig, data: LatentDataConfig, datasets_dir: Path, pretrained: Path | None,
                   seed: int) -> dict:
    """The training sweep's plan identity: its parameters (the data's without the worker count), the stand-in
    backbone's md5, and the md5 of every file of each training set (:func:`robopercept.world.shards.dataset_md5`).

    Every file, images too: hashing a set's annotations only (as before session 41) let images generated again under
    the same annotations resume models trained on the old ones. Without the shard runner's own records: those hold
    the generator's code md5, so a generator edit that changes no byte of the set keeps the models."""
    ident = plan_identity(generator="latentmrcnn training sweep",
                          config={**dataclasses.asdict(cfg), "data": recorded_config(dataclasses.asdict(data)),
                                  "pretrained_md5": hashlib.md5(Path(pretrained).read_bytes()).hexdigest()
                                  if pretrained else None},
                          seed=seed, code_modules=CODE_MODULES)
    ident["inputs_md5"] = {f"dataset_{s}": dataset_md5(Path(datasets_dir) / f"latentmrcnn_{s}")
                           for s in sorted(cfg.sets)}
    return ident


def train_all(cfg: LatentTrainConfig, data: LatentDataConfig, datasets_dir: Path, pretrained: Path | None,
              models_dir: Path, live_dir: Path, seed: int, executor: Executor | None = None,
              progress: bool = False) -> pd.DataFrame:
    """Train every (set, model, seed); return one summary row per model (no wall-clock: reruns give the same bytes)."""
    for s in cfg.sets:  # every training set is readable before any training starts
        training_set(datasets_dir, s)
    shards = [Shard(model_key(s, m, k), 1, derive_seed(seed, "latentmrcnn_train", s, k),
                    (("set", s), ("model", m), ("seed_index", k)))
              for s in cfg.sets for k in range(cfg.seeds) for m in MODELS]
    ident = sweep_identity(cfg, data, datasets_dir, pretrained, seed)
    task = functools.partial(_train_shard, cfg=cfg, data=data, datasets_dir=str(datasets_dir),
                             pretrained=str(pretrained) if pretrained else None)
    res = run_plan(models_dir, ident, shards, task, workers=cfg.workers, executor=executor, progress=progress,
                   desc="latentmrcnn models", unit="model")
    publish(models_dir, [s.key for s in shards], live_dir)
    return pd.DataFrame([res.stats[s.key] for s in shards])


def load_model(models_dir: Path, set_name: str, model: str, seed_index: int):
    """A trained model (eval mode) and its checkpoint dict."""
    from ..common import checkpoints
    from .model import ModelSettings

    path = checkpoint_path(models_dir, set_name, model, seed_index)
    ckpt = checkpoints.load(path, stage="latentmrcnn_train", required=("model", "settings", "kind"),
                            kind="latentmrcnn checkpoint")
    m = build(ckpt["kind"], ModelSettings(**ckpt["settings"]))
    m.load_state_dict(ckpt["model"])
    return m.eval(), ckpt
