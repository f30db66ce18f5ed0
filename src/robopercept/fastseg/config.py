"""params.yaml sections of fastseg's stages, validated on construction (no torch import)."""

from __future__ import annotations

import dataclasses
import typing

from ..config import Validated, require


@dataclasses.dataclass(frozen=True)
class FastsegDataConfig(Validated):
    """``fastseg_data``: the Cityscapes-format street frames of §IV-A (the world's street scenes)."""

    _where: typing.ClassVar[str] = "fastseg_data"
    height: int = 512  # the paper: 1024 x 512
    width: int = 1024
    n_train: int = 2975  # Cityscapes fine: 2975 train / 500 val
    n_val: int = 500
    min_users: int = 8  # road users per frame
    max_users: int = 22
    max_distance_m: float = 70.0
    train_probability: float = 0.15  # share of frames with a tram crossing far ahead
    shadows: bool = True
    shard_size: int = 25  # frames per shard: one simulated "city" folder
    workers: int = 2

    def check(self) -> None:
        require(self.height >= 32 and self.height % 8 == 0, "height", "must be >= 32 and a multiple of 8")
        require(self.width >= 64 and self.width % 8 == 0, "width", "must be >= 64 and a multiple of 8")
        for name in ("n_train", "n_val", "shard_size", "workers", "min_users"):
            require(getattr(self, name) >= 1, name, "must be >= 1")
        require(self.min_users <= self.max_users, "min_users", "must be <= max_users")
        require(self.max_distance_m > 12, "max_distance_m", "must be > 12 m (buses stand at least 12 m ahead)")
        require(0 <= self.train_probability <= 1, "train_probability", "must be in [0, 1]")


@dataclasses.dataclass(frozen=True)
class FastsegSuperpixelConfig(Validated):
    """``fastseg_superpixels``: §III-C / §IV-A, the superpixel size chosen by under-segmentation error on training
    frames, grid SLIC against scikit-image's ``slic``."""

    _where: typing.ClassVar[str] = "fastseg_superpixels"
    sizes: list[int] = dataclasses.field(default_factory=lambda: [2, 4, 8, 16])
    compactness: float = 10.0  # SLIC's m (scikit-image's default); alpha = m / k
    max_undersegmentation_pct: float = 2.0  # the largest size whose error stays below this is chosen
    n_frames: int = 50  # training frames the error is measured on

    def check(self) -> None:
        require(len(self.sizes) >= 1 and all(s in (1, 2, 4, 8, 16) for s in self.sizes), "sizes",
                "must be values in {1, 2, 4, 8, 16} (the encoder's stride is 16)")
        require(self.compactness > 0, "compactness", "must be > 0")
        require(0 < self.max_undersegmentation_pct < 100, "max_undersegmentation_pct", "must be in (0, 100)")
        require(self.n_frames >= 1, "n_frames", "must be >= 1")


MODEL_ROWS = ("DN53 OS1", "DN53 OSk", "MNv2 OS1", "MNv2 OSk")  # OSk: decoder stride = the chosen superpixel size


@dataclasses.dataclass(frozen=True)
class FastsegTrainConfig(Validated):
    """``fastseg_train``: the networks of Table I (encoder x decoder output stride), several seeds."""

    _where: typing.ClassVar[str] = "fastseg_train"
    models: list[str] = dataclasses.field(default_factory=lambda: list(MODEL_ROWS))
    decoder_width: int = 128
    steps: int = 20000
    batch_size: int = 8
    lr: float = 0.001
    weight_decay: float = 0.0001
    seeds: int = 3
    workers: int = 2
    # the centre loss's positives: each instance's elements within this many input pixels of its centre element
    # (fastseg.targets). The paper does not say how it marks centres; 0 = one element per instance
    centre_radius_px: float = 0.0

    def check(self) -> None:
        require(len(self.models) >= 1 and set(self.models) <= set(MODEL_ROWS), "models",
                f"must be a subset of {list(MODEL_ROWS)}")
        require(self.centre_radius_px >= 0 and self.centre_radius_px < 1e4, "centre_radius_px",
                "must be >= 0 (input pixels; 0: one centre element per instance)")
        for name in ("decoder_width", "steps", "batch_size", "seeds", "workers"):
            require(getattr(self, name) >= 1, name, "must be >= 1")
        require(self.lr > 0, "lr", "must be > 0")
        require(self.weight_decay >= 0, "weight_decay", "must be >= 0")


@dataclasses.dataclass(frozen=True)
class FastsegEvalConfig(Validated):
    """``fastseg_eval``: Tables I-III on the validation frames (§IV-B)."""

    _where: typing.ClassVar[str] = "fastseg_eval"
    baseline_model: str = "DN53 OS1"  # the network whose outputs the all-to-all baseline clusters (the paper: DN53)
    centre_threshold: float = 0.7  # §III-B
    delta_a: float = 0.1  # duplicate centres and the assignment filter (§III-B)
    assign_distance: float = 0.1
    cluster_distance: float = 0.2  # the all-to-all baseline's threshold (2 delta_a)
    # the smallest instance kept, in pixels at the evaluated resolution, for ours and the baseline (the paper keeps
    # every instance); 0: the evaluator's own minimum region there (cityscapes_eval.scaled_min_region), below
    # which it ignores ground truth and predictions anyway
    min_pixels: int = 0
    n_val: int = 0  # validation frames evaluated (0: all)
    n_boot: int = 1000  # bootstrap replicates over frames (paired across rows)
    # a labelled departure: each of our rows again with the centre threshold of this grid that detects centres best on
    # training frames (fastseg.threshold); empty: the paper's threshold only
    tuned_thresholds: list[float] = dataclasses.field(default_factory=list)
    n_tune_frames: int = 30  # training frames the threshold is chosen on
    # a seed's instance heads count as not learned when it predicts no instance, or when its mAP@50 is below this
    # share of the paper's mAP@50 for the same row (claims comparing such a row are flagged: evidence neither way)
    learned_share_of_paper: float = 0.1

    def check(self) -> None:
        require(self.baseline_model in ("DN53 OS1", "MNv2 OS1"), "baseline_model",
                "must be 'DN53 OS1' or 'MNv2 OS1' (the baseline clusters at full resolution)")
        require(0 < self.centre_threshold < 1, "centre_threshold", "must be in (0, 1)")
        for name in ("delta_a", "assign_distance", "cluster_distance"):
            require(getattr(self, name) > 0, name, "must be > 0")
        require(self.min_pixels >= 0, "min_pixels", "must be >= 0 (0: the evaluator's minimum region)")
        require(self.n_val >= 0, "n_val", "must be >= 0 (0: every validation frame)")
        require(self.n_boot >= 10, "n_boot", "must be >= 10")
        require(all(0 < t < 1 for t in self.tuned_thresholds), "tuned_thresholds", "must be values in (0, 1)")
        require(len(set(self.tuned_thresholds)) == len(self.tuned_thresholds), "tuned_thresholds",
                "must not repeat a value")
        require(self.n_tune_frames >= 1, "n_tune_frames", "must be >= 1")
        require(0 <= self.learned_share_of_paper < 1, "learned_share_of_paper", "must be in [0, 1) (0: only seeds "
                "that predict no instance count as not learned)")


SECTIONS = {"fastseg_data": FastsegDataConfig, "fastseg_superpixels": FastsegSuperpixelConfig,
            "fastseg_train": FastsegTrainConfig, "fastseg_eval": FastsegEvalConfig}
