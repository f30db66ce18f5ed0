"""§III-A training: Adam, batch 8, "until convergence" — early stopping on a validation split of
grasps on *training* objects (the test objects are never seen). Curves go to dvclive.

The paper's learning rate is 5e-6 for a COCO-pretrained ResNet-50 trained on a GPU for as long as it
takes; the ``cpu`` profile trains a smaller backbone for at most ``max_steps`` steps (early stopping
on the validation curve usually ends it sooner) and needs a larger rate (``lr`` is a parameter; the
``paper`` profile uses 5e-6).
"""

from __future__ import annotations

import copy
import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from ..common import checkpoints
from ..common.threads import one_torch_thread
from .data import GraspSegDataset, collate
from .loss import grasp_segmentation_loss, scaled_kernels
from .metrics import iou
from .model import GraspSegmentationModel, load_detection_backbone


@dataclasses.dataclass(frozen=True)
class TrainSettings:
    backbone: str = "resnet18"
    head_channels: tuple[int, int, int] = (64, 32, 16)
    lr: float = 3e-4
    batch_size: int = 8
    max_steps: int = 300
    eval_every: int = 25
    patience: int = 4  # evaluations without improvement before stopping
    augment: bool = True
    seed: int = 0
    normalization: str = "weights"  # eq. (1)'s normaliser: "weights" (balanced) or "pixels" (literal)


@torch.no_grad()
def predict(model: GraspSegmentationModel, ds: GraspSegDataset, batch_size: int = 16) -> np.ndarray:
    """Sigmoid probabilities (N, 2, H, W) as float32, without augmentation.

    On one torch thread and channels-last (as in training), whatever the caller's settings: the bytes of a
    prediction then do not depend on the machine's core count (``common.threads``). ``model`` is left in eval mode
    and channels-last."""
    model.eval()
    model.to(memory_format=torch.channels_last)
    augment, ds.augment = ds.augment, False
    out = []
    try:
        with one_torch_thread():
            for batch in DataLoader(ds, batch_size=batch_size, collate_fn=collate):
                x = model.inputs(batch["before"], batch["after"], batch["grasp_mask"]).contiguous(
                    memory_format=torch.channels_last)
                out.append(torch.sigmoid(model(x)).numpy())
    finally:
        ds.augment = augment
    return np.concatenate(out)


def mean_iou(probs: np.ndarray, ds: GraspSegDataset) -> float:
    return float(np.mean([iou(p[0] > 0.5, item[3]) for p, item in zip(probs, ds.items)]))


def train_grasp_model(settings: TrainSettings, train: GraspSegDataset, val: GraspSegDataset,
                      init_checkpoint: str | Path | None = None, live=None) -> tuple[GraspSegmentationModel, list[dict]]:
    """Train; return the model at its best validation mIOU and the evaluation history."""
    torch.manual_seed(settings.seed)
    model = GraspSegmentationModel(settings.backbone, settings.head_channels)
    if init_checkpoint:
        load_detection_backbone(model, init_checkpoint)
    # channels-last activations let oneDNN pick its faster CPU convolutions (a training step at the cpu
    # profile: 2.7 s -> 2.3 s on one thread); the arithmetic is the same up to float rounding
    model = model.to(memory_format=torch.channels_last)
    kernels = scaled_kernels(train.size[0])
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
    gen = torch.Generator().manual_seed(settings.seed)
    loader = DataLoader(train, batch_size=settings.batch_size, shuffle=True, drop_last=len(train) > settings.batch_size,
                        collate_fn=collate, generator=gen)
    history: list[dict[str, Any]] = []
    best, best_state, bad = -1.0, None, 0
    step, t0, running = 0, time.perf_counter(), []
    while step < settings.max_steps:
        for batch in loader:
            model.train()
            x = model.inputs(batch["before"], batch["after"], batch["grasp_mask"]).contiguous(
                memory_format=torch.channels_last)
            loss = grasp_segmentation_loss(model(x), batch["visible"], batch["amodal"], kernels, settings.normalization)
            opt.zero_grad()
            loss.backward()
            opt.step()
            running.append(float(loss.detach()))
            step += 1
            if step % settings.eval_every == 0 or step == settings.max_steps:
                val_miou = mean_iou(predict(model, val), val)
                rec = {"step": step, "train_loss": float(np.mean(running)), "val_mIOU": val_miou,
                       "seconds": round(time.perf_counter() - t0, 1)}  # dropped from checkpoints (checkpoints.save)
                running = []
                history.append(rec)
                if live is not None:
                    live.log_metric("train/loss", rec["train_loss"])
                    live.log_metric("val/mIOU", val_miou)
                    live.next_step()
                if val_miou > best:
                    best, best_state, bad = val_miou, copy.deepcopy(model.state_dict()), 0
                else:
                    bad += 1
                if bad >= settings.patience:
                    step = settings.max_steps  # converged: stop
            if step >= settings.max_steps:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return model, history


def save_checkpoint(model: GraspSegmentationModel, path: str | Path, *, settings: TrainSettings, variant: str,
                    history: list[dict], init: str | None) -> Path:
    """Weights plus the config that made them (loadable with ``weights_only=True``; no wall-clock)."""
    return checkpoints.save({"model": model.state_dict(), "variant": variant, "init": init or "scratch",
                             "settings": dataclasses.asdict(settings), "history": history}, path)


def read_checkpoint(path: str | Path) -> dict:
    """The checkpoint's contents (weights, settings, variant, history); a missing, truncated or foreign file raises
    :class:`~robopercept.common.checkpoints.CheckpointError` naming it and the ``graspseg_train`` stage."""
    return checkpoints.load(path, stage="graspseg_train", required=("model", "settings", "variant"),
                            kind="grasp segmentation checkpoint")


def model_from_checkpoint(ckpt: dict) -> GraspSegmentationModel:
    """The model :func:`read_checkpoint` read, in eval mode."""
    model = GraspSegmentationModel(ckpt["settings"]["backbone"], tuple(ckpt["settings"]["head_channels"]))
    model.load_state_dict(ckpt["model"])
    model.eval()
    return model


def load_checkpoint(path: str | Path) -> tuple[GraspSegmentationModel, dict]:
    ckpt = read_checkpoint(path)
    return model_from_checkpoint(ckpt), ckpt
