"""params.yaml section of don's §IV-F.4 temperature study, validated on construction (no torch import).

Its own module so that adding it edits nothing the earlier don stages depend on (robopercept.config scans
``config_<topic>.py`` modules)."""

from __future__ import annotations

import dataclasses
import typing

from ..config import Validated, require


@dataclasses.dataclass(frozen=True)
class DonTemperatureConfig(Validated):
    """``don_temperature``: the default NT-Xent model (multi-object data, every augmentation) trained at each
    temperature τ, ``seeds`` times, with don_train's other settings, and scored on don_eval's test pairs.

    The paper: "We found NT-Xent stable with values in the range 0.01 - 0.3 and optimal value around 0.1. The
    performance dropped for larger values around 0.7 - 1.0" (§IV-F.4) — it gives no table, so the grid is ours: both
    ends of each range it names and the points between."""

    _where: typing.ClassVar[str] = "don_temperature"
    temperatures: list[float] = dataclasses.field(default_factory=lambda: [0.01, 0.03, 0.1, 0.3, 0.7, 1.0])
    seeds: int = 5  # as don_train's "We trained each model configuration 5 times" (§IV-C)
    n_boot: int = 1000
    workers: int = 2

    def check(self) -> None:
        t = [float(x) for x in self.temperatures]
        require(len(t) >= 1 and all(x > 0 for x in t), "temperatures", "must be a non-empty list of values > 0")
        labels = [f"{x:g}" for x in t]  # rows and model folders are named by f"{τ:g}"
        require(len(set(labels)) == len(labels), "temperatures", f"lists a value twice (as rows name them): {labels}")
        for name in ("seeds", "workers"):
            require(getattr(self, name) >= 1, name, "must be >= 1")
        require(self.n_boot >= 10, "n_boot", "must be >= 10")


SECTIONS = {"don_temperature": DonTemperatureConfig}
