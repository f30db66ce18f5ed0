"""mlgsl §IV-C: the models of every experiment, trained the same way.

:data:`RUNS` lists them (the paper's experiments, Table I, Figs. 4-6 and the in-text results):
four losses with 16 labels per image, MLGSL and ImgMSE with 2 and 4 labels, with the small ("1k")
dataset, SAM at three places, and MLGSL on the cluttered dataset. Each is trained with
``n_seeds`` seeds; every epoch the Top-1/Top-5 success is measured on held-out samples of
*training* objects (validation; model selection — "trained ... for 50 epochs to select the best
one") and on the test objects (the curves of Figs. 4 and 6). Adam, the same learning rate,
batch size and augmentation for all. Every (run, seed) is one shard of the shard runner
(:mod:`robopercept.world.shards`): an independent process with 1 torch thread, its checkpoint in
``<models_dir>/<run>_seed<k>/model.pt``, so a run's result does not depend on how many run in
parallel, and a killed sweep resumes from the runs that finished.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from concurrent.futures import Executor
from pathlib import Path

import numpy as np
import torch

from ..common import checkpoints
from ..common.live import publish, shard_live
from ..seed import derive_seed
from ..world.shards import Shard, plan_identity, run_plan
from .config import EvalConfig, TrainConfig
from .data import GraspDataset, collate, load_items
from .metrics import Selection, label_jaw_px, topk_success
from .loss import LOSS_FUNCTIONS
from .model import QUALITY_HEAD, GraspFCN


@dataclasses.dataclass(frozen=True)
class Run:
    name: str  # as the tables and figures show it
    loss: str
    labels: int | None = None  # labels per training image (None: all, up to 16)
    data: str = "full"  # "full" | "small" | "clutter"
    attention: str = "none"

    @property
    def slug(self) -> str:
        return (self.name.replace(" + ", "_").replace(" ", "_").replace("(", "").replace(")", "")
                .replace("+", "plus").replace(",", ""))


RUNS: tuple[Run, ...] = (
    Run("MLGSL", "MLGSL"),
    Run("ImgMSE", "ImgMSE"),
    Run("MLGSL+Log", "MLGSL+Log"),
    Run("PixMSE", "PixMSE"),
    Run("MLGSL (2 labels)", "MLGSL", labels=2),
    Run("ImgMSE (2 labels)", "ImgMSE", labels=2),
    Run("MLGSL (4 labels)", "MLGSL", labels=4),
    Run("ImgMSE (4 labels)", "ImgMSE", labels=4),
    Run("MLGSL (1k)", "MLGSL", data="small"),
    Run("ImgMSE (1k)", "ImgMSE", data="small"),
    Run("MLGSL (1k, 2 labels)", "MLGSL", labels=2, data="small"),
    Run("ImgMSE (1k, 2 labels)", "ImgMSE", labels=2, data="small"),
    Run("MLGSL + SAM (down)", "MLGSL", attention="down"),
    Run("MLGSL + SAM (up)", "MLGSL", attention="up"),
    Run("MLGSL + SAM (all)", "MLGSL", attention="all"),
    Run("MLGSL (clutter)", "MLGSL", data="clutter"),
)
RUN_BY_NAME = {r.name: r for r in RUNS}


STAGE = "mlgsl_train"
CODE_MODULES = ("robopercept.mlgsl.train",)


def shard_key(run: Run, seed_index: int) -> str:
    return f"{run.slug}_seed{seed_index}"


def checkpoint_path(models_dir: str | Path, run: Run, seed_index: int) -> Path:
    return Path(models_dir) / shard_key(run, seed_index) / "model.pt"


def _datasets(run: Run, cfg: TrainConfig, jacquard_root: Path, clutter_root: Path, seed: int):
    root = clutter_root if run.data == "clutter" else jacquard_root
    n_total = len(list((root / "train").rglob("*_grasps.txt")))
    if n_total <= cfg.n_val:
        raise ValueError(f"{root / 'train'}: {n_total} samples, need more than n_val={cfg.n_val}")
    n_train = n_total - cfg.n_val
    if run.data == "small":
        if cfg.n_small > n_train:
            raise ValueError(f"n_small={cfg.n_small} exceeds the {n_train} training samples")
        n_train = cfg.n_small
    everything = load_items(root, "train", cfg.image_size, depth=cfg.depth, labels_per_image=run.labels, seed=seed)
    train, val = everything[:n_train], everything[n_total - cfg.n_val:]
    test = load_items(jacquard_root, "test", cfg.image_size, depth=cfg.depth)
    return train, val, test


def train_run(run: Run, seed_index: int, cfg: TrainConfig, ecfg: EvalConfig, base_seed: int,
              jacquard_root: str | Path, clutter_root: str | Path, out_folder: str | Path,
              log: bool = False) -> dict:
    """Train one (run, seed); save the best-on-validation checkpoint as ``out_folder/model.pt``;
    return its summary (timings under ``_timing``, which the shard runner keeps out of files). With ``log`` the
    dvclive curves go to ``out_folder/live`` (:mod:`robopercept.common.live`: a resumed sweep publishes them all)."""
    seed = derive_seed(base_seed, "mlgsl", run.name, seed_index)
    torch.manual_seed(seed)
    train, val, test = _datasets(run, cfg, Path(jacquard_root), Path(clutter_root), seed)
    sel = Selection.of(cfg.image_size, ecfg)
    # channels-last: oneDNN's fast CPU kernels for these 16-32-channel convolutions (a step ~1.8x faster at 96x96,
    # one thread; python -m robopercept.mlgsl.benchmark_train). The same function; only the float rounding differs
    # from the default layout. The checkpoint stores contiguous (NCHW) tensors.
    model = GraspFCN(run.attention, quality=QUALITY_HEAD[run.loss]).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    loss_fn = LOSS_FUNCTIONS[run.loss]
    ds = GraspDataset(train, augment_zoom=cfg.augment_zoom, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    with_maps = run.loss == "ImgMSE"
    loader = torch.utils.data.DataLoader(ds, batch_size=cfg.batch_size, shuffle=True, generator=gen,
                                         collate_fn=lambda b: collate(b, with_maps))
    live = shard_live(out_folder) if log else None
    history, best, best_state = [], -1.0, None
    t0 = time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        ds.epoch = epoch
        model.train()
        losses = []
        for x, labels in loader:
            loss = loss_fn(model(x.contiguous(memory_format=torch.channels_last)), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        v = topk_success(model, val, sel)
        t = topk_success(model, test, sel)
        rec = {"epoch": epoch, "train_loss": float(np.mean(losses)), "val_top1": v["top1"], "val_top5": v["top5"],
               "test_top1": t["top1"], "test_top5": t["top5"], "seconds": round(time.perf_counter() - t0, 1)}
        history.append(rec)
        if live is not None:
            for k in ("train_loss", "val_top1", "test_top1"):
                live.log_metric(k, rec[k])
            live.next_step()
        if v["top1"] > best:
            best, best_state = v["top1"], {k: t.clone() for k, t in model.state_dict().items()}
            best_epoch = epoch
    if live is not None:
        live.end()
    model.load_state_dict(best_state)
    checkpoints.save({"model": {k: t.contiguous() for k, t in model.state_dict().items()}, "run": dataclasses.asdict(run), "seed_index": seed_index,
                      "seed": seed, "config": dataclasses.asdict(cfg), "history": history, "best_epoch": best_epoch,
                      "n_train": len(train), "label_jaw_px": label_jaw_px(test),
                      "quality_head": model.quality_head}, Path(out_folder) / "model.pt")
    return {"run": run.name, "seed_index": seed_index, "n_train": len(train), "best_epoch": best_epoch,
            "val_top1": best, "history": checkpoints.strip_volatile(history),
            "_timing": {"seconds": round(time.perf_counter() - t0, 1)}}


def load_model(path: str | Path) -> tuple[GraspFCN, dict]:
    ckpt = checkpoints.load(path, stage=STAGE, required=("model", "run", "history"), kind="mlgsl checkpoint")
    model = GraspFCN(ckpt["run"]["attention"], quality=ckpt.get("quality_head", QUALITY_HEAD[ckpt["run"]["loss"]]))
    model.load_state_dict(ckpt["model"])
    # channels-last weights, as in training: oneDNN's fast CPU kernels (~3x faster at 300x300)
    model = model.to(memory_format=torch.channels_last)
    model.eval()
    return model, ckpt


def _train_shard(shard: Shard, folder: Path, *, cfg: TrainConfig, ecfg: EvalConfig, base_seed: int,
                 jacquard_root: str, clutter_root: str, log: bool) -> dict:
    """The runner's task: one (run, seed) in this worker (1 torch thread, see world.shards)."""
    torch.set_num_threads(1)
    return train_run(RUN_BY_NAME[shard.get("run")], shard.get("seed_index"), cfg, ecfg, base_seed, jacquard_root,
                     clutter_root, folder, log)


def train_all(cfg: TrainConfig, ecfg: EvalConfig, base_seed: int, jacquard_root: str | Path,
              clutter_root: str | Path, models_dir: str | Path, live_dir: str | Path | None,
              runs: tuple[Run, ...] = RUNS, progress: bool = True, executor: Executor | None = None) -> list[dict]:
    """Every (run, seed), ``cfg.workers`` at a time on the shard runner; summaries in RUNS order
    (timings of the runs trained by this call under ``_timing``)."""
    shards = [Shard(shard_key(run, s), 1, derive_seed(base_seed, "mlgsl", run.name, s),
                    (("run", run.name), ("seed_index", s))) for run in runs for s in range(cfg.n_seeds)]
    ident = plan_identity(generator="mlgsl training sweep", config={"train": dataclasses.asdict(cfg),
                          "eval": dataclasses.asdict(ecfg), "runs": [dataclasses.asdict(r) for r in runs]},
                          seed=base_seed, code_modules=CODE_MODULES,
                          inputs={"jacquard": jacquard_root, "clutter": clutter_root})
    ident["config"]["train"].pop("workers", None)
    task = functools.partial(_train_shard, cfg=cfg, ecfg=ecfg, base_seed=base_seed, jacquard_root=str(jacquard_root),
                             clutter_root=str(clutter_root), log=live_dir is not None)
    res = run_plan(models_dir, ident, shards, task, workers=cfg.workers, executor=executor, progress=progress,
                   desc="mlgsl runs", unit="run")
    if live_dir is not None:  # every shard's log, resumed or trained now (common.live)
        publish(models_dir, [s.key for s in shards], live_dir)
    out = [{**res.stats[s.key], **({"_timing": res.timings[s.key]} if s.key in res.timings else {})} for s in shards]
    (Path(models_dir) / "summary.json").write_text(
        json.dumps([{k: v for k, v in r.items() if k != "_timing"} for r in out], indent=1, sort_keys=True) + "\n")
    return out


def best_seed_checkpoint(models_dir: str | Path, run: Run, n_seeds: int) -> Path:
    """The seed of ``run`` with the best validation Top-1 (what one would deploy)."""
    best, best_path = -1.0, None
    for s in range(n_seeds):
        path = checkpoint_path(models_dir, run, s)
        ckpt = checkpoints.load(path, stage=STAGE, required=("history", "best_epoch"), kind="mlgsl checkpoint")
        val = ckpt["history"][ckpt["best_epoch"] - 1]["val_top1"]
        if val > best:
            best, best_path = val, path
    if best_path is None:
        raise FileNotFoundError(f"no checkpoint of {run.name} in {models_dir}")
    return best_path
