"""Configs of the shared stages (params.yaml sections), validated on construction (no torch import)."""

from __future__ import annotations

import dataclasses
import typing

from ..config import Validated, require

BACKBONES = ("resnet18", "resnet34", "resnet50")  # torchvision ResNets with an FPN


@dataclasses.dataclass(frozen=True)
class PretrainConfig(Validated):
    """``pretrain``: the stand-in for ImageNet/COCO detection weights (:mod:`robopercept.common.pretrain`),
    a ResNet-FPN trained on simulated bins of training objects; any paper's backbone loads it."""

    _where: typing.ClassVar[str] = "pretrain"
    height: int = 160  # image rows of the simulated bins
    width: int = 240
    n_images: int = 400  # simulated bins of training objects, COCO-annotated
    backbone: str = "resnet18"  # papers: resnet50
    steps: int = 250
    batch_size: int = 8
    lr: float = 0.001
    shard_size: int = 50  # bins per shard of the generator
    workers: int = 2

    def check(self) -> None:
        require(self.height >= 48, "height", "must be >= 48 pixels")
        require(self.width >= 64, "width", "must be >= 64 pixels")
        require(self.n_images >= 1, "n_images", "must be >= 1")
        require(self.backbone in BACKBONES, "backbone", f"must be one of {BACKBONES}")
        require(self.steps >= 1, "steps", "must be >= 1")
        require(self.batch_size >= 1, "batch_size", "must be >= 1")
        require(self.lr > 0, "lr", "must be > 0")
        require(self.shard_size >= 1, "shard_size", "must be >= 1")
        require(self.workers >= 1, "workers", "must be >= 1")


SECTIONS = {"pretrain": PretrainConfig}
