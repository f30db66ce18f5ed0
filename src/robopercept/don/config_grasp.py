"""params.yaml section of don's §IV-G grasp experiment (Table V), validated on construction (no torch import).

Its own module so that adding it edits nothing the earlier don stages depend on (robopercept.config scans
``config_<topic>.py`` modules)."""

from __future__ import annotations

import dataclasses
import typing

from ..config import Validated, require

SETTINGS = ("Singulated", "Multi-Object, Isolated", "Multi-Object, Packed")


@dataclasses.dataclass(frozen=True)
class DonGraspConfig(Validated):
    """``don_grasp``: §IV-G 6-D grasp prediction from two keypoints, as simulated grasps at three difficulty levels."""

    _where: typing.ClassVar[str] = "don_grasp"
    settings: list[str] = dataclasses.field(default_factory=lambda: list(SETTINGS))
    attempts_per_object: int = 3  # "three grasp attempts for every object we used for training"
    rotation_deg: float = 45.0  # "rotating the scene by 45 degrees for each attempt"
    distractors: int = 2  # unknown objects in the multi-object settings ("plus additional unknown ones")
    isolated_gap_m: float = 0.06  # least gap between two objects' footprint circles in the isolated layout
    packed_gap_m: float = 0.005  # ... in the packed layout: neighbours almost touch
    camera_elevation_deg: float = 70.0  # the wrist camera's view of the workspace (a pose of the recording arc)
    reference_elevation_deg: float = 55.0  # the single reference image of each object
    camera_radius_m: float = 0.55
    keypoint_offset: float = 0.3  # keypoints at centroid +- this share of the object's half-length on its long axis
    max_opening_m: float = 0.12  # the jaw gripper's stroke (its default 0.09 cannot span the widest known box)
    settle_steps: int = 240
    n_boot: int = 1000
    workers: int = 2

    def check(self) -> None:
        unknown = [s for s in self.settings if s not in SETTINGS]
        require(self.settings and not unknown, "settings", f"unknown {unknown}; choose from {list(SETTINGS)}")
        for name in ("attempts_per_object", "settle_steps", "workers"):
            require(getattr(self, name) >= 1, name, "must be >= 1")
        require(self.distractors >= 0, "distractors", "must be >= 0")
        require(0 < self.packed_gap_m <= self.isolated_gap_m, "isolated_gap_m", "must be >= packed_gap_m > 0")
        require(0 < self.keypoint_offset < 1, "keypoint_offset", "must be in (0, 1)")
        require(20 <= self.camera_elevation_deg <= 90 and 20 <= self.reference_elevation_deg <= 90,
                "camera_elevation_deg", "elevations must be within [20, 90] degrees")
        require(self.max_opening_m > 0.02, "max_opening_m", "must be > 0.02 m")
        require(self.n_boot >= 10, "n_boot", "must be >= 10")


SECTIONS = {"don_grasp": DonGraspConfig}
