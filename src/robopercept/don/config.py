"""params.yaml sections of don's stages, validated on construction (no torch import)."""

from __future__ import annotations

import dataclasses
import typing

from ..config import Validated, require


@dataclasses.dataclass(frozen=True)
class DonDataConfig(Validated):
    """``don_data``: the scene logs of §IV-B (single-object and multi-object tabletop scenes, a wrist camera's arc)."""

    _where: typing.ClassVar[str] = "don_data"
    height: int = 480  # the paper: 640 x 480 at 30 Hz
    width: int = 640
    trajectory_poses: int = 600  # the dense arc, before the 5 deg / 2 cm subsampling
    min_angle_deg: float = 5.0
    min_translation_m: float = 0.02
    single_train: int = 20  # single-object training scenes (the paper: 20)
    multi_train: int = 15  # multi-object training scenes (the paper: 15)
    single_val: int = 5  # validation: 5 single-object scenes and 1 multi-object scene, with unknown objects
    multi_val: int = 1
    multi_test: int = 8  # test scenes with per-object masks
    min_known_per_multi: int = 4
    max_known_per_multi: int = 8
    max_distractors: int = 3
    settle_steps: int = 240
    rgb_noise_std: float = 2.0
    workers: int = 2

    def check(self) -> None:
        require(self.height >= 48 and self.width >= 64, "height", "frames must be at least 64 x 48")
        for name in ("trajectory_poses", "single_train", "multi_train", "multi_test", "min_known_per_multi",
                     "workers", "settle_steps"):
            require(getattr(self, name) >= 1, name, "must be >= 1")
        for name in ("single_val", "multi_val", "max_distractors"):
            require(getattr(self, name) >= 0, name, "must be >= 0")
        require(self.min_known_per_multi <= self.max_known_per_multi <= 8, "max_known_per_multi",
                "must be in min_known_per_multi..8 (the known objects)")
        require(self.min_angle_deg >= 0 and self.min_translation_m >= 0, "min_angle_deg",
                "subsampling thresholds must be >= 0")
        require(self.rgb_noise_std >= 0, "rgb_noise_std", "must be >= 0")


EXPERIMENTS = ("table1", "fig5", "fig6", "table2", "table3", "table4")


@dataclasses.dataclass(frozen=True)
class DonTrainConfig(Validated):
    """``don_train``: every DON configuration of §IV-E/F (robopercept.don.experiments), each trained ``seeds`` times.

    Correspondence counts are the paper's, at 640 x 480; training scales them by the frames' pixel count
    (robopercept.don.experiments.scaled), so a smaller frame samples the same share of its pixels."""

    _where: typing.ClassVar[str] = "don_train"
    experiments: list[str] = dataclasses.field(default_factory=lambda: list(EXPERIMENTS))
    seeds: int = 5  # the paper: "We trained each model configuration 5 times"
    backbone: str = "resnet34"  # the paper: ImageNet-pretrained ResNet-34, output stride 8
    backbone_checkpoint: str = "none"  # "stand-in": the pretrained_backbone stage's ResNet body; "none": scratch
    pairs: int = 500000  # image pairs seen: "500 epochs, with each epoch consisting of 1000 image pairs"
    validate_every_pairs: int = 5000  # "We performed validation every 5 epochs"
    val_pairs: int = 100  # validation pairs (PCK@80 on the validation scenes' masked objects)
    val_queries: int = 100
    lr: float = 3e-5  # "a learning rate of 3e-5, momentum of 0.9, and weight decay of 1e-4"
    weight_decay: float = 1e-4
    descriptor_dim: int = 16  # "All models are trained by default with a descriptor dimension of D = 16"
    temperature: float = 0.1
    ntxent_batch_size: int = 2  # "NT-Xent loss was trained with a batch size of 2 [...] pixelwise [...] 1"
    pixelwise_batch_size: int = 1
    ntxent_correspondences: int = 2048  # "For NT-Xent we sampled 2048 correspondences per image"
    pixelwise_correspondences: int = 20000  # "20,000 correspondences for an image pair with each 150 non-
    non_matches: int = 150  # correspondences per match"
    fig5_scenes: list[int] = dataclasses.field(default_factory=lambda: [1, 3, 5, 10, 15])
    dims: list[int] = dataclasses.field(default_factory=lambda: [3, 8, 16, 32, 64])  # Table II
    batch_sizes: list[int] = dataclasses.field(default_factory=lambda: [1, 2, 4])  # Table III
    pixelwise_sweep: list[list[int]] = dataclasses.field(  # Table IV: (correspondences, non-matches each)
        default_factory=lambda: [[10000, 150], [20000, 150], [20000, 300], [20000, 1000], [30000, 150], [40000, 150]])
    ntxent_sweep: list[int] = dataclasses.field(default_factory=lambda: [512, 1024, 2048, 4096])
    workers: int = 2

    def check(self) -> None:
        unknown = [e for e in self.experiments if e not in EXPERIMENTS]
        require(not unknown and self.experiments, "experiments", f"unknown {unknown}; choose from {list(EXPERIMENTS)}")
        require(self.backbone in ("resnet18", "resnet34", "resnet50"), "backbone", "must be resnet18/34/50")
        require(self.backbone_checkpoint in ("none", "stand-in"), "backbone_checkpoint", "must be 'none' or 'stand-in'")
        for name in ("seeds", "pairs", "validate_every_pairs", "val_pairs", "val_queries", "descriptor_dim",
                     "ntxent_batch_size", "pixelwise_batch_size", "ntxent_correspondences",
                     "pixelwise_correspondences", "non_matches", "workers"):
            require(getattr(self, name) >= 1, name, "must be >= 1")
        require(self.validate_every_pairs <= self.pairs, "validate_every_pairs", "must be <= pairs")
        require(self.lr > 0 and self.weight_decay >= 0 and self.temperature > 0, "lr",
                "lr and temperature must be > 0, weight_decay >= 0")
        for name in ("fig5_scenes", "dims", "batch_sizes", "ntxent_sweep"):
            values = getattr(self, name)
            require(len(values) >= 1 and all(int(v) >= 1 for v in values), name, "must be a non-empty list of ints >= 1")
        require(all(len(p) == 2 and min(p) >= 1 for p in self.pixelwise_sweep), "pixelwise_sweep",
                "must list [correspondences, non_matches] pairs >= 1")


@dataclasses.dataclass(frozen=True)
class DonEvalConfig(Validated):
    """``don_eval``: §IV-E correspondence accuracy (PCK@k AUC) and keypoint tracking on the test scenes."""

    _where: typing.ClassVar[str] = "don_eval"
    pairs_per_object: int = 500  # "we selected 500 image pairs per object type across all scenes"
    queries: int = 100  # "Per image pair 100 query points are randomly selected on the object"
    min_translation_m: float = 0.2  # "a minimum translation of 20cm and minimum angle of pi/12 between poses"
    min_angle_deg: float = 15.0
    tracking_queries: int = 3  # "Selecting between 2-5 query points per object and sequence"
    n_boot: int = 1000
    workers: int = 2

    def check(self) -> None:
        for name in ("pairs_per_object", "queries", "tracking_queries", "workers"):
            require(getattr(self, name) >= 1, name, "must be >= 1")
        require(self.min_translation_m >= 0 and self.min_angle_deg >= 0, "min_translation_m", "must be >= 0")
        require(self.n_boot >= 10, "n_boot", "must be >= 10")


SECTIONS = {"don_data": DonDataConfig, "don_train": DonTrainConfig, "don_eval": DonEvalConfig}
