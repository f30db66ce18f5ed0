"""The grasp segmentation variants of Table I and how each is trained (§IV-C).

| variant | labeled grasps | augmentation | initialisation | loss (eq. 1) |
| --- | --- | --- | --- | --- |
| Grasp-100 | ``n_small`` | yes | pretrained backbone | balanced (per-weight mean) |
| Grasp-200 | ``n_large`` | yes | pretrained backbone | balanced |
| Grasp-100-NoAug | ``n_small`` | no | pretrained backbone | balanced |
| Grasp-100-Scratch (ours, ablation) | ``n_small`` | yes | random | balanced |
| Grasp-100-LiteralLoss (ours, ablation) | ``n_small`` | yes | pretrained backbone | literal ``1/n`` |

Names follow the paper's rows (at the cpu profile ``n_small = 100`` and ``n_large = 200`` as in the
paper). Training grasps are the first ``n_large`` labeled training grasps (Grasp-100 uses the first
``n_small`` of them); validation uses the next ``n_val`` — training objects, other grasps.

Each (variant, seed) is one shard of the shard runner (:mod:`robopercept.world.shards`): its own
process with one torch thread, its checkpoint in ``<models_dir>/<variant>_seed<k>/model.pt``, so a
model does not depend on how many train in parallel, and a killed sweep resumes from the finished
ones. The paper's variants get ``n_seeds`` seeds and ``max_steps`` (the claims compare them); our two
ablations get ``ablation_seeds`` and ``ablation_max_steps`` (compared with Grasp-100 at the same step).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from concurrent.futures import Executor
from pathlib import Path

import pandas as pd

from ..formats.grasp_pairs import iter_grasp_folders
from ..seed import derive_seed
from ..world.shards import Shard, plan_identity, run_plan
from .config import GraspModelConfig


@dataclasses.dataclass(frozen=True)
class Variant:
    size: str  # "small" | "large"
    augment: bool
    pretrained: bool
    normalization: str = "weights"  # eq. (1): "weights" (balanced reading) | "pixels" (literal)
    ablation: bool = False  # ours, not a row of the paper


VARIANTS = {
    "Grasp-100": Variant("small", True, True),
    "Grasp-200": Variant("large", True, True),
    "Grasp-100-NoAug": Variant("small", False, True),
    "Grasp-100-Scratch": Variant("small", True, False, ablation=True),
    "Grasp-100-LiteralLoss": Variant("small", True, True, normalization="pixels", ablation=True),
}
CODE_MODULES = ("robopercept.graspseg.variants", "robopercept.graspseg.train")


def split_labeled_train(dataset: Path, cfg: GraspModelConfig) -> tuple[list[Path], list[Path]]:
    folders = list(iter_grasp_folders(dataset, "labeled_train"))
    need = cfg.n_large + cfg.n_val
    if len(folders) < need:
        raise ValueError(f"graspseg_model needs n_large + n_val = {need} labeled training grasps, the dataset "
                         f"has {len(folders)} (raise graspseg_data.n_labeled_train or lower these)")
    return folders[: cfg.n_large], folders[cfg.n_large : need]


def seeds_of(name: str, cfg: GraspModelConfig) -> int:
    return cfg.ablation_seeds if VARIANTS[name].ablation else cfg.n_seeds


def model_key(name: str, seed_index: int) -> str:
    return f"{name}_seed{seed_index}"


def checkpoint_path(models_dir: str | Path, name: str, seed_index: int) -> Path:
    return Path(models_dir) / model_key(name, seed_index) / "model.pt"


def trained_models(cfg: GraspModelConfig, names=tuple(VARIANTS)) -> list[tuple[str, int]]:
    """Every (variant, seed index) the sweep trains, in table order."""
    return [(n, s) for n in names for s in range(seeds_of(n, cfg))]


def _train_shard(shard: Shard, folder: Path, *, cfg: GraspModelConfig, dataset: str, pretrained: str) -> dict:
    """The runner's task: one (variant, seed), one torch thread; its training log stays in the shard's folder
    (:mod:`robopercept.common.live`) until :func:`train_variants` publishes every model's."""
    import torch

    from ..common.live import shard_live
    from .data import GraspSegDataset
    from .train import TrainSettings, save_checkpoint, train_grasp_model

    torch.set_num_threads(1)
    name, k = shard.get("variant"), shard.get("seed_index")
    v = VARIANTS[name]
    train_folders, val_folders = split_labeled_train(Path(dataset), cfg)
    n = cfg.n_small if v.size == "small" else cfg.n_large
    train = GraspSegDataset(train_folders[:n], augment=v.augment)
    val = GraspSegDataset(val_folders)
    settings = TrainSettings(backbone=cfg.backbone, head_channels=cfg.head_channels, lr=cfg.lr,
                             batch_size=cfg.batch_size, max_steps=cfg.steps_of(v.ablation), eval_every=cfg.eval_every,
                             patience=cfg.patience, augment=v.augment, seed=shard.seed, normalization=v.normalization)
    init = Path(pretrained) if v.pretrained else None
    with shard_live(folder) as live:  # in the shard: a resumed run publishes every model's log
        model, history = train_grasp_model(settings, train, val, init, live=live)
    save_checkpoint(model, folder / "model.pt", settings=settings, variant=name, history=history,
                    init=init.name if init else None)
    best = max(history, key=lambda h: h["val_mIOU"])
    return {"variant": name, "seed": k, "labeled_grasps": n, "augmentation": v.augment,
            "init": "pretrained (stand-in)" if v.pretrained else "scratch", "loss_normalization": v.normalization,
            "max_steps": settings.max_steps, "steps": history[-1]["step"], "best_step": best["step"], "val_mIOU": 100 * best["val_mIOU"],
            "_timing": {"seconds": history[-1].get("seconds")}}


def train_variants(cfg: GraspModelConfig, dataset: Path, pretrained: Path, models_dir: Path, live_dir: Path,
                   seed: int, names=tuple(VARIANTS), executor: Executor | None = None,
                   progress: bool = True) -> pd.DataFrame:
    """Train every (variant, seed) on the shard runner (``cfg.workers`` at a time), save checkpoints
    and dvclive curves; return one summary row per model (wall-clock kept out: rerun = same bytes; the seconds of
    the models trained by this call are in the frame's ``attrs["timings"]``, for the stage's timing record)."""
    for n in names:
        if n not in VARIANTS:
            raise ValueError(f"unknown grasp segmentation variant {n!r}; choose from {list(VARIANTS)}")
    split_labeled_train(dataset, cfg)  # fail before any training if the dataset is too small
    models = trained_models(cfg, names)
    shards = [Shard(model_key(n, k), 1, derive_seed(seed, "graspseg_model", n, k), (("variant", n), ("seed_index", k)))
              for n, k in models]
    ident = plan_identity(generator="graspseg grasp segmentation sweep",
                          config={**dataclasses.asdict(cfg), "variants": {n: dataclasses.asdict(VARIANTS[n]) for n in names},
                                  "pretrained_md5": hashlib.md5(Path(pretrained).read_bytes()).hexdigest()},
                          seed=seed, code_modules=CODE_MODULES, inputs={"dataset": dataset})
    task = functools.partial(_train_shard, cfg=cfg, dataset=str(dataset), pretrained=str(pretrained))
    res = run_plan(models_dir, ident, shards, task, workers=cfg.workers, executor=executor, progress=progress,
                   desc="grasp models", unit="model")
    from ..common.live import publish

    publish(models_dir, [s.key for s in shards], live_dir)  # every model's log, resumed or not (session 24's defect)
    out = pd.DataFrame([res.stats[s.key] for s in shards])
    out.attrs["timings"] = {s.key: res.timings[s.key] for s in shards if s.key in res.timings}  # this call's runs only
    return out
