"""§IV-F.4, the temperature study: the default NT-Xent model trained at each temperature τ of eq. (1).

    "We found NT-Xent stable with values in the range 0.01 - 0.3 and optimal value around 0.1. The performance dropped
    for larger values around 0.7 - 1.0. This is in line with results reported for SimCLR [12]." (§IV-F.4)

The paper gives neither a table nor a figure for it; the grid (``don_temperature.temperatures``) is ours. Every run is
don_train's *NT-Xent + Multi-Object + Augmentations* model (Table I's last row, the same
:class:`~robopercept.don.experiments.Variant`) with only τ changed: the same training settings, the same seed ``k``
(initialisation, batches, augmentations) as don_train's seed ``k``, the same validation pairs, through don_train's shard
function (:func:`robopercept.don.sweep._train_shard`, wrapped to set τ). So the τ = 0.1 runs *are* don_train's default models, trained a
second time in another stage: :func:`same_weights` checks that they came out weight for weight alike, and the τ rows
are paired with each other by seed. The network each seed starts from is scored by :mod:`robopercept.don.control`,
the floor a row must clear to count as having learned.

A model's folder is ``<variant key>_t<τ>_seed<k>`` (:class:`TemperatureVariant`), next to nothing of don_train's.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

from ..formats.don_logs import DonLogs
from ..seed import derive_seed
from ..world.shards import Shard, plan_identity
from .config import DonTrainConfig
from .config_temperature import DonTemperatureConfig
from .experiments import Variant, experiments
from .sweep import CODE_MODULES as SWEEP_MODULES
from .sweep import COMPOSITE, _train_shard, check_training_scenes, model_key, run_models

EXPERIMENT = "temperature"
DEFAULT_ROW = "NT-Xent + Multi-Object + Augmentations"  # Table I's row whose τ is varied
CODE_MODULES = SWEEP_MODULES + ("robopercept.don.temperature", "robopercept.don.config_temperature")
# don_train fields that do not change this sweep's models (which rows don_train trains, its seed count, its τ): left
# out of the plan identity, so editing them does not retrain the sweep (editing the grid or the seeds here does)
_NOT_IN_IDENTITY = ("experiments", "seeds", "temperature", "fig5_scenes", "dims", "batch_sizes", "pixelwise_sweep",
                    "ntxent_sweep", "workers")


@dataclasses.dataclass(frozen=True)
class TemperatureVariant(Variant):
    """A :class:`Variant` trained at temperature ``temperature`` (its key says so)."""

    temperature: float = 0.1

    def base(self) -> Variant:
        """The same configuration as don_train knows it (no temperature)."""
        return Variant(**{f.name: getattr(self, f.name) for f in dataclasses.fields(Variant)})

    def key(self) -> str:
        return f"{self.base().key()}_t{self.temperature:g}"


def label(t: float) -> str:
    """A row's label (the claims file names rows ``"temperature: τ = <t>"``)."""
    return f"τ = {t:g}"


def default_variant(train_cfg: DonTrainConfig) -> Variant:
    """Table I's NT-Xent + Multi-Object + Augmentations variant, built by don_train's own experiment list."""
    return dict(experiments(dataclasses.replace(train_cfg, experiments=["table1"]), 1)["table1"])[DEFAULT_ROW]


def rows(train_cfg: DonTrainConfig, cfg: DonTemperatureConfig) -> dict[str, list[tuple[str, TemperatureVariant]]]:
    """The study as an experiment of :func:`robopercept.don.results.tables`: one row per τ, in the grid's order."""
    base = dataclasses.asdict(default_variant(train_cfg))
    return {EXPERIMENT: [(label(t), TemperatureVariant(**base, temperature=float(t))) for t in cfg.temperatures]}


def _temperature_shard(shard: Shard, folder: Path, *, cfg: DonTrainConfig, **kw) -> dict:
    t = float(shard.get("temperature"))
    stats = _train_shard(shard, folder, cfg=dataclasses.replace(cfg, temperature=t), **kw)
    return {**stats, "key": shard.key.rsplit("_seed", 1)[0], "temperature": t}


def train_temperatures(train_cfg: DonTrainConfig, cfg: DonTemperatureConfig, logs_root: Path, pretrained: Path | None,
                       models_dir: Path, seed: int, executor=None, progress: bool = True):
    """Train the default NT-Xent variant at every τ of ``cfg``, ``cfg.seeds`` times (seed ``k`` as don_train's seed
    ``k``); returns one summary row per model (no wall-clock), as :func:`robopercept.don.sweep.train_all` does."""
    check_training_scenes(DonLogs(logs_root, COMPOSITE))  # fail early: no scene lists, no training scenes, a bad file
    variants = [v for _, v in rows(train_cfg, cfg)[EXPERIMENT]]
    shards = [Shard(model_key(v, k), 1, derive_seed(seed, "don_train", k),
                    (("variant", tuple(dataclasses.asdict(v.base()).items())), ("seed_index", k),
                     ("temperature", v.temperature)))
              for v in variants for k in range(cfg.seeds)]
    config = {k: v for k, v in dataclasses.asdict(train_cfg).items() if k not in _NOT_IN_IDENTITY}
    ident = plan_identity(generator="don temperature sweep",
                          config={**config, "temperatures": [float(t) for t in cfg.temperatures], "seeds": cfg.seeds},
                          seed=seed, code_modules=CODE_MODULES, inputs={"logs": logs_root})
    task = functools.partial(_temperature_shard, cfg=train_cfg, logs_root=str(logs_root),
                             pretrained=str(pretrained) if pretrained else None,
                             val_seed=derive_seed(seed, "don_validation_pairs"))
    return run_models(models_dir, ident, shards, task, pretrained, cfg.workers, executor, progress,
                      "DON temperature models")


def seed_aucs(variants: list[Variant], ev, control: list[float], seeds: int):
    """Per τ and seed: the AUC on the test pairs (pairs weighted as the temperature table weights them, ``ev`` as
    :func:`robopercept.don.results.load` returns) beside the AUC of the untrained network that seed starts from
    (``control``, per seed: :mod:`robopercept.don.control`)."""
    import numpy as np
    import pandas as pd

    if len(control) < seeds:
        raise ValueError(f"seed_aucs: {len(control)} untrained AUCs for {seeds} seeds")
    return pd.DataFrame([{"tau": v.temperature, "seed": k, "AUC": float(np.average(ev.auc[v.key()][k], weights=ev.weight)),
                          "untrained_AUC": control[k]} for v in variants for k in range(seeds)])


def same_weights(a: str | Path, b: str | Path, stages: tuple[str, str] = ("don_train", "don_temperature")) -> bool:
    """Whether two DON checkpoints hold the same kept weights, tensor for tensor (exact equality); ``stages``: the
    stages that write ``a`` and ``b`` (named by the error when one is missing or unreadable)."""
    import torch

    from ..common import checkpoints

    sa, sb = (checkpoints.load(Path(p), stage=st, required=("model",), kind="DON checkpoint")["model"]
              for p, st in zip((a, b), stages))
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
