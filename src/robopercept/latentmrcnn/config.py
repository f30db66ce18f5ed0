"""params.yaml sections of latentmrcnn's stages, validated on construction (no torch import)."""

from __future__ import annotations

import dataclasses
import typing

from ..config import Validated, require


@dataclasses.dataclass(frozen=True)
class LatentDataConfig(Validated):
    """``latentmrcnn_data``: the Apparel-5k-like bins (and the multi-category stand-in for COCO) of §V."""

    _where: typing.ClassVar[str] = "latentmrcnn_data"
    height: int = 128  # the paper trains at 640-800 px (short side)
    width: int = 192
    n_train: int = 300  # Apparel-5k: 4198 train / 463 val
    n_val: int = 60
    n_catalog_train: int = 200  # multi-category bins of catalog objects (the COCO stand-in of Table I)
    n_catalog_val: int = 60
    n_street_train: int = 200  # street frames of the eight Cityscapes classes (the Cityscapes stand-in of Table I)
    n_street_val: int = 60
    families_per_split: int = 10  # product families (a print shared by near-identical items); train/val disjoint
    min_items: int = 8  # apparel items per bin
    max_items: int = 16
    families_per_bin: int = 3  # a bin draws its items from this many families: many near-identical neighbours
    min_catalog_objects: int = 6
    max_catalog_objects: int = 14
    settle_steps: int = 240
    specular_strength: float = 1.2  # polybags: strong, moving highlights
    rgb_noise_std: float = 3.0
    min_instance_px: int = 20  # smaller visible parts are not annotated (as COCO drops tiny fragments)
    shard_size: int = 25
    workers: int = 2

    def check(self) -> None:
        require(self.height >= 48, "height", "must be >= 48 pixels")
        require(self.width >= 64, "width", "must be >= 64 pixels")
        for name in ("n_train", "n_val", "n_catalog_train", "n_catalog_val", "n_street_train", "n_street_val",
                     "families_per_split", "shard_size", "workers", "settle_steps"):
            require(getattr(self, name) >= 1, name, "must be >= 1")
        require(1 <= self.min_items <= self.max_items, "min_items", "must be in 1..max_items")
        require(1 <= self.families_per_bin <= self.families_per_split, "families_per_bin",
                "must be in 1..families_per_split")
        require(1 <= self.min_catalog_objects <= self.max_catalog_objects, "min_catalog_objects",
                "must be in 1..max_catalog_objects")
        require(self.specular_strength >= 0, "specular_strength", "must be >= 0")
        require(self.rgb_noise_std >= 0, "rgb_noise_std", "must be >= 0")
        require(self.min_instance_px >= 1, "min_instance_px", "must be >= 1")


BACKBONES = ("resnet18", "resnet34", "resnet50")
SET_NAMES = ("apparel", "catalog", "street")


@dataclasses.dataclass(frozen=True)
class LatentTrainConfig(Validated):
    """``latentmrcnn_train``: Mask R-CNN and Latent-MaskRCNN on each set, several seeds (§III, §V)."""

    _where: typing.ClassVar[str] = "latentmrcnn_train"
    backbone: str = "resnet18"  # paper: ResNet-50-FPN (must match pretrain.backbone to load the stand-in)
    pretrained_checkpoint: str = "stand-in"  # or a path to a Mask R-CNN checkpoint (torchvision COCO weights)
    z_dim: int = 64  # §III: z in R^64
    encoder_roi: int = 16
    encoder_width: int = 32
    encoder_hidden: int = 128
    encoder_layers: int = 2
    prior_width: int = 32
    posterior_rate: float = 0.5
    trainable_layers: int = 3  # detectron2 FREEZE_AT = 2: stem and res2 frozen
    roi_batch_per_image: int = 512  # detectron2 ROI_HEADS.BATCH_SIZE_PER_IMAGE
    mask_head_width: int = 256  # channels of the mask head's convs (torchvision and detectron2: 256)
    rpn_test_proposals: int = 1000  # RPN proposals after NMS at test time (torchvision and detectron2: 1000)
    steps: int = 300
    batch_size: int = 2
    lr: float = 0.01
    warmup: int = 50
    beta: float = 1e-5  # authors: 1e-5 (Apparel, Cityscapes), 1e-4 (COCO)
    kl_start: float = 0.5  # fraction of the steps trained with beta = 0 (the KL warm-up)
    prior_beta: float = 1e-5  # weight of the KL's prior side (the paper's loss (3): equal to beta; train.py)
    sets: list[str] = dataclasses.field(default_factory=lambda: list(SET_NAMES))
    seeds: int = 2  # per (set, model); the claims compare models across seeds
    workers: int = 2

    def check(self) -> None:
        require(self.backbone in BACKBONES, "backbone", f"must be one of {BACKBONES}")
        require(self.pretrained_checkpoint.strip() != "", "pretrained_checkpoint", "must be 'stand-in' or a path")
        for name in ("z_dim", "encoder_roi", "encoder_width", "encoder_hidden", "encoder_layers", "prior_width",
                     "steps", "batch_size", "seeds", "workers", "roi_batch_per_image",
                     "mask_head_width", "rpn_test_proposals"):
            require(getattr(self, name) >= 1, name, "must be >= 1")
        require(0 <= self.posterior_rate <= 1, "posterior_rate", "must be in [0, 1]")
        require(0 <= self.trainable_layers <= 5, "trainable_layers", "must be in [0, 5] (resnet stages left trainable)")
        require(self.lr > 0, "lr", "must be > 0")
        require(self.warmup >= 0, "warmup", "must be >= 0")
        require(self.beta >= 0, "beta", "must be >= 0")
        require(self.prior_beta >= 0, "prior_beta", "must be >= 0")
        require(0 <= self.kl_start <= 1, "kl_start", "must be in [0, 1]")
        require(len(self.sets) >= 1 and set(self.sets) <= set(SET_NAMES), "sets", f"must be a subset of {SET_NAMES}")


@dataclasses.dataclass(frozen=True)
class LatentEvalConfig(Validated):
    """``latentmrcnn_eval``: Table I, Fig. 4/5/7/8 and Table III on the validation images (§V, appendix)."""

    _where: typing.ClassVar[str] = "latentmrcnn_eval"
    k: int = 10  # prior samples per image (authors' benchmarks: Apparel 16, COCO 10, Cityscapes 8)
    p: float = 0.9  # Table I's confidence level (§V-B)
    p_sweep: list[float] = dataclasses.field(default_factory=lambda: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    nms_iou: float = 0.3  # Union-NMS threshold: the authors' benchmark script behind Table I (their default: 0.5)
    min_score: float = 0.1  # confidence-mask greedy stop (authors' code)
    gripper_radius_px: int = 4  # §V-D's gripper circle, in pixels at our resolution (the paper does not give its own)
    pick_score_thresh: float = 0.5  # Mask R-CNN detections a robot picks from (Fig. 5's MaskRCNN point)
    n_val: int = 0  # validation images evaluated per set (0: all)
    n_boot: int = 200  # paired bootstrap replicates (images x seeds)
    n_examples: int = 2
    workers: int = 2  # processes predicting (set, seed) pairs, one torch thread each (never changes a byte)

    def check(self) -> None:
        require(self.k >= 1, "k", "must be >= 1")
        require(self.workers >= 1, "workers", "must be >= 1")
        require(0 < self.p <= 1, "p", "must be in (0, 1]")
        require(len(self.p_sweep) >= 1 and all(0 < v <= 1 for v in self.p_sweep), "p_sweep",
                "must be values in (0, 1]")
        require(0 <= self.nms_iou <= 1, "nms_iou", "must be in [0, 1]")
        require(self.min_score >= 0, "min_score", "must be >= 0")
        require(self.gripper_radius_px >= 0, "gripper_radius_px", "must be >= 0")
        require(0 <= self.pick_score_thresh < 1, "pick_score_thresh", "must be in [0, 1)")
        require(self.n_val >= 0, "n_val", "must be >= 0 (0: every validation image)")
        require(self.n_boot >= 10, "n_boot", "must be >= 10")
        require(self.n_examples >= 1, "n_examples", "must be >= 1")


@dataclasses.dataclass(frozen=True)
class LatentRobotConfig(Validated):
    """``latentmrcnn_robot``: §V-E Table II as a simulated apparel-picking robot with a 9-cup suction gripper."""

    _where: typing.ClassVar[str] = "latentmrcnn_robot"
    n_trials: int = 500  # paper: "several hundred grasps" per model
    trials_per_shard: int = 25
    cup_rows: int = 3  # the paper's 9-cup gripper; its layout is not given: a 3 x 3 grid
    cup_cols: int = 3
    cup_spacing_m: float = 0.025
    cup_radius_m: float = 0.009
    min_sealed_cups: int = 1
    seal_flatness_tol_m: float = 0.004
    seal_max_angle_deg: float = 35.0
    cup_force_n: float = 2.0
    lift_height_m: float = 0.15
    max_masks: int = 10
    n_centres: int = 5
    n_angles: int = 6
    inside_fraction: float = 0.9
    n_boot: int = 1000
    n_examples: int = 3
    workers: int = 2

    def check(self) -> None:
        for name in ("n_trials", "trials_per_shard", "cup_rows", "cup_cols", "min_sealed_cups", "max_masks",
                     "n_centres", "n_angles", "n_examples", "workers"):
            require(getattr(self, name) >= 1, name, "must be >= 1")
        require(self.min_sealed_cups <= self.cup_rows * self.cup_cols, "min_sealed_cups",
                "must be <= cup_rows * cup_cols")
        require(0 < self.cup_radius_m <= self.cup_spacing_m / 2, "cup_radius_m",
                "must be in (0, cup_spacing_m / 2] (cups would overlap)")
        require(self.seal_flatness_tol_m > 0, "seal_flatness_tol_m", "must be > 0")
        require(0 < self.seal_max_angle_deg <= 90, "seal_max_angle_deg", "must be in (0, 90]")
        require(self.cup_force_n > 0, "cup_force_n", "must be > 0")
        require(self.lift_height_m > 0, "lift_height_m", "must be > 0")
        require(0 < self.inside_fraction <= 1, "inside_fraction", "must be in (0, 1]")
        require(self.n_boot >= 10, "n_boot", "must be >= 10")


SECTIONS = {"latentmrcnn_data": LatentDataConfig, "latentmrcnn_train": LatentTrainConfig,
            "latentmrcnn_eval": LatentEvalConfig, "latentmrcnn_robot": LatentRobotConfig}
