"""Configs of mlgsl's stages (params.yaml sections), validated on construction."""

from __future__ import annotations

import dataclasses
import typing

from ..config import Validated, require


@dataclasses.dataclass(frozen=True)
class JacquardDataConfig(Validated):
    """``mlgsl_data``: the Jacquard-like single-object dataset (mlgsl §III-D, Jacquard [22]).

    One catalog object dropped on a table, seen from above; grasp candidates are tried with the
    simulated parallel-jaw gripper (``world.jaw_gripper``) and the successful ones are the labels.
    """

    _where: typing.ClassVar[str] = "mlgsl_data"

    render_size: int = 128  # stored image side (Jacquard: 1024); the model resizes (paper: 300)
    view_m: float = 0.26  # metres of table spanned by the image side
    n_train: int = 1000  # training samples (training objects)
    n_test: int = 200  # test samples (test objects)
    n_train_objects: int = 160
    n_test_objects: int = 60
    labels_per_image: int = 16  # stop trying candidates once this many grasps succeeded
    min_labels: int = 4  # a pose with fewer successful grasps is dropped (sparse sets keep 4)
    max_trials: int = 120  # grasp candidates tried per pose
    max_poses_per_sample: int = 6  # re-drops before giving up on an object
    opening_margin_min_m: float = 0.004  # the opening tried = measured cross-section + U(min, max)
    opening_margin_max_m: float = 0.03
    max_opening_m: float = 0.10
    jaw_m: float = 0.02
    grasp_depth_m: float = 0.01  # the paper's epsilon (Fig. 2b)
    grip_force_n: float = 25.0
    settle_steps: int = 300
    stereo_noise_std_m: float = 0.002  # at 0.75 m; grows with depth squared
    stereo_edge_m: float = 0.01  # depth jumps larger than this within 3x3 pixels become holes
    stereo_holes: int = 3  # random dropout blobs per image
    shard_size: int = 50
    workers: int = 2

    def check(self) -> None:
        require(self.render_size >= 32, "render_size", "must be >= 32 pixels")
        require(0.05 <= self.view_m <= 1.0, "view_m", "must be in [0.05, 1] m")
        require(self.n_train >= 1, "n_train", "must be >= 1")
        require(self.n_test >= 1, "n_test", "must be >= 1")
        require(self.n_train_objects >= 1, "n_train_objects", "must be >= 1")
        require(self.n_test_objects >= 1, "n_test_objects", "must be >= 1")
        require(self.labels_per_image >= 2, "labels_per_image", "must be >= 2")
        require(1 <= self.min_labels <= self.labels_per_image, "min_labels", "must be in 1..labels_per_image")
        require(self.max_trials >= self.labels_per_image, "max_trials", "must be >= labels_per_image")
        require(self.max_poses_per_sample >= 1, "max_poses_per_sample", "must be >= 1")
        require(0 <= self.opening_margin_min_m <= self.opening_margin_max_m, "opening_margin_max_m",
                "must be >= opening_margin_min_m >= 0")
        require(0.02 <= self.max_opening_m <= 0.3, "max_opening_m", "must be in [0.02, 0.3] m")
        require(0.005 <= self.jaw_m <= 0.1, "jaw_m", "must be in [0.005, 0.1] m")
        require(self.grasp_depth_m >= 0, "grasp_depth_m", "must be >= 0")
        require(self.grip_force_n > 0, "grip_force_n", "must be > 0")
        require(self.settle_steps >= 10, "settle_steps", "must be >= 10")
        for name in ("stereo_noise_std_m", "stereo_edge_m"):
            require(getattr(self, name) >= 0, name, "must be >= 0")
        require(self.stereo_holes >= 0, "stereo_holes", "must be >= 0")
        require(self.shard_size >= 1, "shard_size", "must be >= 1")
        require(self.workers >= 1, "workers", "must be >= 1")


@dataclasses.dataclass(frozen=True)
class ClutterConfig(Validated):
    """``mlgsl_clutter``: §III-D, cluttered samples composed from single-object ones."""

    _where: typing.ClassVar[str] = "mlgsl_clutter"
    n_train: int = 600  # composed from training samples
    n_test: int = 100  # composed from test samples
    min_objects: int = 2
    max_objects: int = 4
    zoom: float = 0.15

    def check(self) -> None:
        require(self.n_train >= 1, "n_train", "must be >= 1")
        require(self.n_test >= 1, "n_test", "must be >= 1")
        require(self.min_objects >= 2, "min_objects", "must be >= 2 (one object is not clutter)")
        require(self.max_objects >= self.min_objects, "max_objects", "must be >= min_objects")
        require(0 <= self.zoom < 0.9, "zoom", "must be in [0, 0.9)")


@dataclasses.dataclass(frozen=True)
class TrainConfig(Validated):
    """``mlgsl_train``: §IV-C training of every model of the paper's experiments."""

    _where: typing.ClassVar[str] = "mlgsl_train"
    image_size: int = 96  # paper: 300
    depth: str = "stereo"  # which Jacquard depth the models read ("stereo" or "perfect")
    n_val: int = 100  # training-object samples held out of training for model selection
    n_small: int = 100  # the "1k" dataset (paper: 1k vs 10k images)
    epochs: int = 6  # paper: 50
    batch_size: int = 16
    lr: float = 0.001
    augment_zoom: float = 0.1  # zoom range of the augmentation, 1 +- this
    n_seeds: int = 3  # every model is trained with this many seeds (paper: "different seeds")
    workers: int = 2  # runs trained in parallel processes (1 torch thread each)

    def check(self) -> None:
        require(self.image_size >= 32, "image_size", "must be >= 32")
        require(self.depth in ("stereo", "perfect"), "depth", "must be 'stereo' or 'perfect'")
        require(self.n_val >= 1, "n_val", "must be >= 1")
        require(self.n_small >= 1, "n_small", "must be >= 1")
        require(self.epochs >= 1, "epochs", "must be >= 1")
        require(self.batch_size >= 1, "batch_size", "must be >= 1")
        require(self.lr > 0, "lr", "must be > 0")
        require(0 <= self.augment_zoom < 0.5, "augment_zoom", "must be in [0, 0.5)")
        require(self.n_seeds >= 1, "n_seeds", "must be >= 1")
        require(self.workers >= 1, "workers", "must be >= 1")


@dataclasses.dataclass(frozen=True)
class EvalConfig(Validated):
    """``mlgsl_eval``: §IV-A metrics."""

    _where: typing.ClassVar[str] = "mlgsl_eval"
    peak_distance_at_300: int = 20  # GG-CNN's minimum distance between detected peaks, scaled
    smooth_sigma_at_300: float = 2.0  # GG-CNN's Gaussian smoothing of Q̂ and angle (width: half), scaled
    peak_threshold_rel: float = 0.2  # grasps at peaks above this share of max Q̂ (GG-CNN: 0.2 absolute)
    n_accuracy_images: int = 60  # test images whose sampled grasps are tried in the simulator
    n_accuracy_grasps: int = 100  # grasps sampled uniformly per image (paper: 100)
    quality_threshold: float = 0.5  # q̂ > this predicts success
    n_examples: int = 4
    n_boot: int = 1000  # bootstrap replicates (seeds x test images) behind every interval and verdict

    def check(self) -> None:
        require(self.peak_distance_at_300 >= 1, "peak_distance_at_300", "must be >= 1")
        require(0 <= self.peak_threshold_rel < 1, "peak_threshold_rel", "must be in [0, 1)")
        require(self.n_boot >= 10, "n_boot", "must be >= 10")
        require(self.smooth_sigma_at_300 >= 0, "smooth_sigma_at_300", "must be >= 0")
        require(self.n_accuracy_images >= 1, "n_accuracy_images", "must be >= 1")
        require(self.n_accuracy_grasps >= 1, "n_accuracy_grasps", "must be >= 1")
        require(0 < self.quality_threshold < 1, "quality_threshold", "must be in (0, 1)")
        require(self.n_examples >= 1, "n_examples", "must be >= 1")


@dataclasses.dataclass(frozen=True)
class RobotConfig(Validated):
    """``mlgsl_robot``: §V as simulated robot trials."""

    _where: typing.ClassVar[str] = "mlgsl_robot"
    n_objects: int = 60  # test objects grasped one at a time (paper: 18 objects)
    drops_per_object: int = 5  # each object is grasped this many times, from new drops
    clutter_runs: int = 10  # paper: 10
    clutter_objects: int = 6
    max_consecutive_failures: int = 5  # paper: 5
    ctpg_repeats: int = 50

    def check(self) -> None:
        require(self.n_objects >= 1, "n_objects", "must be >= 1")
        require(self.drops_per_object >= 1, "drops_per_object", "must be >= 1")
        require(self.clutter_runs >= 1, "clutter_runs", "must be >= 1")
        require(self.clutter_objects >= 2, "clutter_objects", "must be >= 2")
        require(self.max_consecutive_failures >= 1, "max_consecutive_failures", "must be >= 1")
        require(self.ctpg_repeats >= 1, "ctpg_repeats", "must be >= 1")


SECTIONS = {
    "mlgsl_data": JacquardDataConfig,
    "mlgsl_clutter": ClutterConfig,
    "mlgsl_train": TrainConfig,
    "mlgsl_eval": EvalConfig,
    "mlgsl_robot": RobotConfig,
}
