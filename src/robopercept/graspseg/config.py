"""Configs of graspseg's stages (params.yaml sections), validated on construction."""

from __future__ import annotations

import dataclasses
import typing

from ..config import Validated, require
from .model import BACKBONES


@dataclasses.dataclass(frozen=True)
class PretrainConfig(Validated):
    """``graspseg_pretrain``: the stand-in for COCO pretraining (common.pretrain)."""

    _where: typing.ClassVar[str] = "graspseg_pretrain"
    n_images: int = 400  # simulated bins of training objects, COCO-annotated
    backbone: str = "resnet18"  # paper: resnet50
    steps: int = 250
    batch_size: int = 8
    lr: float = 0.001

    def check(self) -> None:
        require(self.n_images >= 1, "n_images", "must be >= 1")
        require(self.backbone in BACKBONES, "backbone", f"must be one of {BACKBONES}")
        require(self.steps >= 1, "steps", "must be >= 1")
        require(self.batch_size >= 1, "batch_size", "must be >= 1")
        require(self.lr > 0, "lr", "must be > 0")


@dataclasses.dataclass(frozen=True)
class GraspModelConfig(Validated):
    """``graspseg_model``: §III-A training of the grasp segmentation variants of Table I."""

    _where: typing.ClassVar[str] = "graspseg_model"
    backbone: str = "resnet18"  # paper: resnet50 (must match graspseg_pretrain.backbone to load it)
    head_width: int = 64  # gated-block widths (w, w/2, w/4); the paper's FPN width is 256
    n_small: int = 100  # labeled grasps of Grasp-100 and Grasp-100-NoAug
    n_large: int = 200  # labeled grasps of Grasp-200
    n_val: int = 100  # validation grasps (training objects, disjoint from the training grasps)
    lr: float = 0.0003  # paper: 5e-6
    batch_size: int = 8
    max_steps: int = 150
    eval_every: int = 25
    patience: int = 3
    # "stand-in": the graspseg_pretrain stage's checkpoint; else a path to a Mask R-CNN checkpoint
    # (e.g. torchvision's COCO maskrcnn_resnet50_fpn weights, with backbone: resnet50)
    pretrained_checkpoint: str = "stand-in"

    def check(self) -> None:
        require(self.backbone in BACKBONES, "backbone", f"must be one of {BACKBONES}")
        require(self.pretrained_checkpoint.strip() != "", "pretrained_checkpoint",
                "must be 'stand-in' or a path to a Mask R-CNN checkpoint")
        require(self.head_width >= 4, "head_width", "must be >= 4")
        require(1 <= self.n_small <= self.n_large, "n_small", "must be in 1..n_large")
        require(self.n_val >= 1, "n_val", "must be >= 1")
        require(self.lr > 0, "lr", "must be > 0")
        require(self.batch_size >= 1, "batch_size", "must be >= 1")
        require(self.max_steps >= 1, "max_steps", "must be >= 1")
        require(1 <= self.eval_every <= self.max_steps, "eval_every", "must be in 1..max_steps")
        require(self.patience >= 1, "patience", "must be >= 1")

    @property
    def head_channels(self) -> tuple[int, int, int]:
        return (self.head_width, self.head_width // 2, self.head_width // 4)


@dataclasses.dataclass(frozen=True)
class Table1Config(Validated):
    """``graspseg_table1``: §IV-B/C evaluation (baselines, filters, Table I)."""

    _where: typing.ClassVar[str] = "graspseg_table1"
    tune_max_pairs: int = 100  # training grasps used to tune each baseline's parameters
    t_occ: float = 0.95  # §III-B.1 occlusion threshold
    t_ent: float = 0.1  # §III-B.1 relative-entropy threshold
    min_contour_px_at_paper_res: int = 1000  # scaled by image area from 640x960
    n_examples: int = 4
    min_object_grasps: int = 3  # per-object breakdown: objects with at least this many test grasps
    calibrate_t_ent: bool = True  # choose one t_ent on validation grasps (filters.calibrate_entropy_threshold)
    good_iou: float = 0.75  # what counts as a good mask for that calibration

    def check(self) -> None:
        require(self.min_object_grasps >= 1, "min_object_grasps", "must be >= 1")
        require(self.tune_max_pairs >= 1, "tune_max_pairs", "must be >= 1")
        require(0 < self.t_occ <= 1, "t_occ", "must be in (0, 1]")
        require(self.t_ent > 0, "t_ent", "must be > 0")
        require(self.min_contour_px_at_paper_res >= 0, "min_contour_px_at_paper_res", "must be >= 0")
        require(self.n_examples >= 1, "n_examples", "must be >= 1")
        require(0 < self.good_iou <= 1, "good_iou", "must be in (0, 1]")
