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
        for name in ("n_train", "n_val", "n_catalog_train", "n_catalog_val", "families_per_split", "shard_size",
                     "workers", "settle_steps"):
            require(getattr(self, name) >= 1, name, "must be >= 1")
        require(1 <= self.min_items <= self.max_items, "min_items", "must be in 1..max_items")
        require(1 <= self.families_per_bin <= self.families_per_split, "families_per_bin",
                "must be in 1..families_per_split")
        require(1 <= self.min_catalog_objects <= self.max_catalog_objects, "min_catalog_objects",
                "must be in 1..max_catalog_objects")
        require(self.specular_strength >= 0, "specular_strength", "must be >= 0")
        require(self.rgb_noise_std >= 0, "rgb_noise_std", "must be >= 0")
        require(self.min_instance_px >= 1, "min_instance_px", "must be >= 1")


SECTIONS = {"latentmrcnn_data": LatentDataConfig}
