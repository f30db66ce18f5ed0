"""Training every network of Table I on the shard runner: one process and one torch thread per (model, seed).

A model row is "<encoder> OS1" (full-resolution decoders) or "<encoder> OSk" (decoders on the superpixel grid, k the size
the superpixel stage chose). Its checkpoint (weights, settings, class weights, per-step
history; no wall-clock) goes to ``<models_dir>/<row>_seed<j>/model.pt`` (spaces as underscores), so a model does not
depend on how many train in parallel and a killed sweep resumes from the finished ones.
"""

from __future__ import annotations

import dataclasses
import functools
from concurrent.futures import Executor
from pathlib import Path

import pandas as pd

from ..common.live import publish, shard_live
from ..seed import derive_seed
from ..world.shards import Shard, plan_identity, run_plan
from .config import FastsegDataConfig, FastsegTrainConfig

CODE_MODULES = ("robopercept.common.live", "robopercept.fastseg.sweep", "robopercept.fastseg.model",
                "robopercept.fastseg.train", "robopercept.fastseg.losses", "robopercept.fastseg.targets",
                "robopercept.fastseg.dataset", "robopercept.fastseg.superpixels")
ENCODER_OF = {"DN53": "darknet53", "MNv2": "mobilenetv2"}


def parse_row(row: str, k_spix: int) -> tuple[str, int]:
    """(encoder, decoder output stride) of a model row."""
    enc, os_ = row.split()
    return ENCODER_OF[enc], 1 if os_ == "OS1" else k_spix


def model_key(row: str, seed_index: int) -> str:
    return f"{row.replace(' ', '_')}_seed{seed_index}"


def checkpoint_path(models_dir: str | Path, row: str, seed_index: int) -> Path:
    return Path(models_dir) / model_key(row, seed_index) / "model.pt"


def _train_shard(shard: Shard, folder: Path, *, cfg: FastsegTrainConfig, k_spix: int, compactness: float,
                 dataset: str, size: tuple[int, int]) -> dict:
    import numpy as np
    import torch

    from ..common import checkpoints
    from .dataset import FrameSet
    from .model import FastSeg, ModelSettings
    from .targets import class_weights
    from .train import TrainSettings, train

    torch.set_num_threads(1)
    row, j = shard.get("row"), shard.get("seed_index")
    encoder, dec_os = parse_row(row, k_spix)
    ds = FrameSet(dataset, "train", size=size, compactness=compactness, centre_radius_px=cfg.centre_radius_px)
    counts = ds.class_counts(dec_os)
    weights = class_weights(counts)
    torch.manual_seed(shard.seed)
    settings = ModelSettings(encoder=encoder, dec_os=dec_os, decoder_width=cfg.decoder_width)
    model = FastSeg(settings)
    ts = TrainSettings(steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr, weight_decay=cfg.weight_decay,
                       seed=shard.seed)
    with shard_live(folder) as live:  # in the shard: a resumed run publishes every model's log (common.live)
        history = train(model, ds, ts, torch.tensor(weights, dtype=torch.float32), live=live)
    checkpoints.save({"model": model.state_dict(), "row": row, "settings": dataclasses.asdict(settings),
                      "train": dataclasses.asdict(ts), "class_weights": np.asarray(weights).tolist(),
                      "history": history}, folder / "model.pt")
    last = history[-max(1, len(history) // 10):]
    return {"model": row, "seed": j, "steps": len(history),
            **{f"final_{n}": sum(h[n] for h in last) / len(last) for n in ("total", "semantic", "centre", "embedding")}}


def train_all(cfg: FastsegTrainConfig, data: FastsegDataConfig, k_spix: int, compactness: float, dataset: Path,
              models_dir: Path, live_dir: Path, seed: int, executor: Executor | None = None,
              progress: bool = False) -> pd.DataFrame:
    """Train every (model row, seed); one summary row per model (no wall-clock)."""
    from ..formats.cityscapes import CityscapesSet

    CityscapesSet(dataset, "train", size=(data.height, data.width))  # refuse a malformed set before any training
    shards = [Shard(model_key(r, j), 1, derive_seed(seed, "fastseg_train", r, j), (("row", r), ("seed_index", j)))
              for r in cfg.models for j in range(cfg.seeds)]
    ident = plan_identity(generator="fastseg training sweep",
                          config={**dataclasses.asdict(cfg), "k_spix": k_spix, "compactness": compactness,
                                  "data": {k: v for k, v in dataclasses.asdict(data).items() if k != "workers"}},
                          seed=seed, code_modules=CODE_MODULES,
                          inputs={"images": Path(dataset) / "leftImg8bit", "labels": Path(dataset) / "gtFine"})
    task = functools.partial(_train_shard, cfg=cfg, k_spix=k_spix, compactness=compactness, dataset=str(dataset),
                             size=(data.height, data.width))
    res = run_plan(models_dir, ident, shards, task, workers=cfg.workers, executor=executor, progress=progress,
                   desc="fastseg models", unit="model")
    publish(models_dir, [s.key for s in shards], live_dir)
    return pd.DataFrame([res.stats[s.key] for s in shards])


def load_model(models_dir: Path, row: str, seed_index: int):
    from ..common import checkpoints
    from .model import FastSeg, ModelSettings

    ckpt = checkpoints.load(checkpoint_path(models_dir, row, seed_index), stage="fastseg_train",
                            required=("model", "settings", "row"), kind="fastseg checkpoint")
    m = FastSeg(ModelSettings(**ckpt["settings"]))
    m.load_state_dict(ckpt["model"])
    return m.eval(), ckpt
