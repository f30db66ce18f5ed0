"""Pretraining a ResNet-FPN backbone on a simulated COCO-format set (the stand-in for COCO weights).

The papers start from ImageNet/COCO weights that cannot be downloaded here. Training a full Mask
R-CNN from scratch on 2 CPU cores costs ~6 s a step (measured), so the stand-in trains the *same*
torchvision ResNet-FPN backbone with a light dense head on the stride-4 FPN level, predicting for
each pixel its category (background + catalog categories) and whether it lies on an instance
boundary — the objectness and boundary features a detector's backbone learns. The checkpoint stores
the backbone under Mask R-CNN's key names (``backbone.body.*``, ``backbone.fpn.*``), so a consumer
loads this stand-in and torchvision's real ``maskrcnn_resnet50_fpn`` COCO file through one code path.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from torchvision.models.detection.backbone_utils import resnet_fpn_backbone

from .coco_data import CocoInstances


@dataclasses.dataclass(frozen=True)
class PretrainSettings:
    backbone: str = "resnet18"
    num_classes: int = 6  # background + 5 catalog categories
    lr: float = 1e-3
    batch_size: int = 8
    steps: int = 300
    seed: int = 0


class DenseDetectorPretext(nn.Module):
    def __init__(self, backbone: str, num_classes: int):
        super().__init__()
        self.backbone = resnet_fpn_backbone(backbone_name=backbone, weights=None, norm_layer=nn.BatchNorm2d,
                                            trainable_layers=5)
        c = self.backbone.out_channels
        self.head = nn.Sequential(nn.Conv2d(c, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
                                  nn.Conv2d(64, num_classes + 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self.backbone(x)["0"])
        return F.interpolate(out, size=x.shape[-2:], mode="bilinear", align_corners=False)


def dense_targets(masks: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pixel category (0 = background) and instance-boundary map from instance masks."""
    h, w = masks.shape[-2:]
    cat = torch.zeros((h, w), dtype=torch.int64)
    edge = np.zeros((h, w), np.uint8)
    kernel = np.ones((3, 3), np.uint8)
    for m, lab in zip(masks.numpy(), labels.tolist()):
        cat[torch.from_numpy(m.astype(bool))] = lab
        edge |= cv2.morphologyEx(m, cv2.MORPH_GRADIENT, kernel)
    return cat, torch.from_numpy(edge > 0).float()


def _collate(batch):
    imgs, cats, edges = [], [], []
    for img, masks, labels in batch:
        c, e = dense_targets(masks, labels)
        imgs.append(img)
        cats.append(c)
        edges.append(e)
    return torch.stack(imgs), torch.stack(cats), torch.stack(edges)


def pretrain_backbone(settings: PretrainSettings, ds: CocoInstances, live=None) -> tuple[DenseDetectorPretext, list[dict]]:
    torch.manual_seed(settings.seed)
    model = DenseDetectorPretext(settings.backbone, settings.num_classes)
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
    gen = torch.Generator().manual_seed(settings.seed)
    loader = DataLoader(ds, batch_size=settings.batch_size, shuffle=True, generator=gen, collate_fn=_collate,
                        drop_last=len(ds) > settings.batch_size)
    history, step, t0 = [], 0, time.perf_counter()
    model.train()
    while step < settings.steps:
        for img, cat, edge in loader:
            out = model(img)
            loss_cat = F.cross_entropy(out[:, :-1], cat)
            loss_edge = F.binary_cross_entropy_with_logits(out[:, -1], edge, pos_weight=torch.tensor(5.0))
            loss = loss_cat + loss_edge
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            with torch.no_grad():
                pred = out[:, :-1].argmax(1)
                fg = cat > 0
                acc = float((pred[fg] == cat[fg]).float().mean()) if fg.any() else float("nan")
            rec = {"step": step, "loss": float(loss.detach()), "category_loss": float(loss_cat.detach()),
                   "boundary_loss": float(loss_edge.detach()), "foreground_accuracy": acc,
                   "seconds": round(time.perf_counter() - t0, 1)}
            history.append(rec)
            if live is not None:
                log_history(live, [rec])
            if step >= settings.steps:
                break
    model.eval()
    return model, history


def log_history(live, history: list[dict]) -> None:
    """Training records into a dvclive ``Live``, one step each."""
    for rec in history:
        for k in ("loss", "category_loss", "boundary_loss", "foreground_accuracy"):
            live.log_metric(f"pretrain/{k}", rec[k])
        live.next_step()


def _pretrain_from_folder(settings: PretrainSettings, folder: str) -> tuple[DenseDetectorPretext, list[dict]]:
    from ..seed import seed_everything

    seed_everything(settings.seed)
    return pretrain_backbone(settings, CocoInstances(folder))


def pretrain_backbone_portable(settings: PretrainSettings, folder: str | Path,
                               live=None) -> tuple[DenseDetectorPretext, list[dict]]:
    """:func:`pretrain_backbone` on the COCO set in ``folder``, in portable mode: the same weights on every x86 CPU
    (:mod:`robopercept.common.portable`; ~3.5x slower a step). The curves reach ``live`` after training."""
    from .portable import run_portable

    model, history = run_portable(_pretrain_from_folder, settings, str(folder))
    if live is not None:
        log_history(live, history)
    return model, history


def save_backbone_checkpoint(model: DenseDetectorPretext, path: str | Path, settings: PretrainSettings,
                             history: list[dict], dataset: str) -> Path:
    """Backbone under Mask R-CNN key names (``backbone.*``) plus the pretext head and the settings."""
    from . import checkpoints

    state = {f"backbone.{k}": v for k, v in model.backbone.state_dict().items()}
    state.update({f"pretext_head.{k}": v for k, v in model.head.state_dict().items()})
    return checkpoints.save({"model": state, "settings": dataclasses.asdict(settings), "history": history,
                             "dataset": dataset, "kind": "dense pretext stand-in for COCO Mask R-CNN"}, path)
