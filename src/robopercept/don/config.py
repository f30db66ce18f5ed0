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


SECTIONS = {"don_data": DonDataConfig}
