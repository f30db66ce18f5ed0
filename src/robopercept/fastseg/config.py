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


SECTIONS = {"fastseg_data": FastsegDataConfig}
