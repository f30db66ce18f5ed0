"""Configs of the simulated world: validated dataclasses, one per dataset the world writes.

Every size and rate a dataset depends on lives here, with its unit, so a reader sees the knobs
in one place and ``params.yaml`` can be checked before a long generation run starts.
"""

from __future__ import annotations

import dataclasses
import typing

from ..config import Validated, require


@dataclasses.dataclass(frozen=True)
class GraspDataConfig(Validated):
    """``graspseg_data``: graspseg §IV-A, the grasp-interaction dataset.

    Sizes follow the paper at the ``paper`` profile (640x960 images, 110k pairs, 1k labeled
    training and 6k labeled test images); ``cpu`` and ``smoke`` scale them down.
    """

    _where: typing.ClassVar[str] = "graspseg_data"

    # -- image and dataset sizes ------------------------------------------------------------
    height: int = 160  # image rows (paper: 640)
    width: int = 240  # image columns (paper: 960)
    n_unlabeled: int = 2000  # successful grasp pairs without labels, training objects
    n_labeled_train: int = 300  # labeled successful grasps, training objects (paper: 1000)
    n_labeled_test: int = 400  # labeled successful grasps, test objects (paper: 6000)
    n_train_objects: int = 160  # catalog training objects drawn from (<= catalog size)
    n_test_objects: int = 60  # catalog test objects drawn from
    # -- bins -------------------------------------------------------------------------------
    min_objects_per_bin: int = 6
    max_objects_per_bin: int = 14
    max_grasp_attempts_per_bin: int = 10  # the bin is refilled after this many attempts
    settle_steps: int = 240  # physics steps (240 Hz) to settle after a drop or a removal
    # -- suction gripper (5 cups in a plus pattern) -------------------------------------------
    cup_radius_m: float = 0.009
    cup_spacing_m: float = 0.022  # centre-to-centre distance of the outer cups from the middle cup
    min_sealed_cups: int = 2  # the suction gauge reports success with at least this many sealed
    seal_flatness_tol_m: float = 0.004  # max plane-fit residual under a cup for a seal
    seal_max_angle_deg: float = 35.0  # max angle between surface normal and approach axis
    cup_force_n: float = 4.0  # holding force of one sealed cup
    lift_height_m: float = 0.15
    # -- data-collection policy (imperfect on purpose, see world.policy) ----------------------
    policy_point_noise_m: float = 0.012  # std of the grasp-point error of the bootstrap model
    policy_angle_noise_deg: float = 25.0  # std of the cup-layout angle error
    policy_mask_error_rate: float = 0.25  # chance the bootstrap mask merges a neighbour
    # -- nuisances that defeat image subtraction (see world.nuisance) --------------------------
    neighbour_bump_rate: float = 0.35  # chance the gripper disturbs a neighbour on its way out
    neighbour_bump_speed: float = 0.25  # m/s of that disturbance
    light_change_rate: float = 0.35 # chance the lighting changes between consecutive images
    light_change_strength: float = 0.3  # relative change of intensity / direction
    specular_strength: float = 0.8  # peak of specular highlights on glossy surfaces (0..1)
    shadows: bool = True
    rgb_noise_std: float = 3.0  # sensor noise, grey levels (0..255)
    depth_noise_std_m: float = 0.0015
    # -- generation -------------------------------------------------------------------------
    shard_size: int = 50  # grasps per shard (the unit of resumption)
    workers: int = 2

    def check(self) -> None:
        require(self.height >= 48, "height", f"must be >= 48 pixels (got {self.height}); "
                "smaller images cannot resolve the 5-cup footprint")
        require(self.width >= 64, "width", f"must be >= 64 pixels (got {self.width})")
        for name in ("n_unlabeled", "n_labeled_train", "n_labeled_test"):
            require(getattr(self, name) >= 0, name, "must be >= 0")
        require(self.n_labeled_train + self.n_unlabeled > 0, "n_unlabeled",
                "no training grasps requested (n_unlabeled + n_labeled_train == 0)")
        require(self.n_train_objects >= 1, "n_train_objects", "must be >= 1")
        require(self.n_test_objects >= 1, "n_test_objects", "must be >= 1")
        require(self.min_objects_per_bin >= 1, "min_objects_per_bin", "must be >= 1")
        require(self.max_objects_per_bin >= self.min_objects_per_bin, "max_objects_per_bin",
                "must be >= min_objects_per_bin")
        require(self.max_grasp_attempts_per_bin >= 1, "max_grasp_attempts_per_bin", "must be >= 1")
        require(self.settle_steps >= 10, "settle_steps", "must be >= 10")
        require(0 < self.cup_radius_m < 0.05, "cup_radius_m", "must be in (0, 0.05) m")
        require(self.cup_spacing_m >= 2 * self.cup_radius_m, "cup_spacing_m",
                "must be >= 2 * cup_radius_m (cups would overlap)")
        require(1 <= self.min_sealed_cups <= 5, "min_sealed_cups", "must be in 1..5")
        require(self.seal_flatness_tol_m > 0, "seal_flatness_tol_m", "must be > 0")
        require(0 < self.seal_max_angle_deg <= 90, "seal_max_angle_deg", "must be in (0, 90]")
        require(self.cup_force_n > 0, "cup_force_n", "must be > 0")
        require(self.lift_height_m > 0, "lift_height_m", "must be > 0")
        for name in ("policy_point_noise_m", "policy_angle_noise_deg", "neighbour_bump_speed",
                     "light_change_strength", "rgb_noise_std", "depth_noise_std_m"):
            require(getattr(self, name) >= 0, name, "must be >= 0")
        for name in ("policy_mask_error_rate", "neighbour_bump_rate", "light_change_rate",
                     "specular_strength"):
            require(0 <= getattr(self, name) <= 1, name, "must be a rate in [0, 1]")
        require(self.shard_size >= 1, "shard_size", "must be >= 1")
        require(self.workers >= 1, "workers", "must be >= 1")

    @property
    def pixels_per_cup(self) -> float:
        """Approximate cup diameter in pixels at the bin floor (camera model of world.camera)."""
        from .camera import BinCamera

        return 2 * self.cup_radius_m * BinCamera.for_size(self.height, self.width).pixels_per_meter()


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
