"""§IV-A's data from the world: street frames written as a Cityscapes folder (``leftImg8bit/``, ``gtFine/``).

The paper trains on Cityscapes' 2975 finely annotated training images and validates on its 500 validation images,
using the eight classes with instances — "person", "rider", "car", "truck", "bus", "train", "motorcycle",
"bicycle" — and "the remaining pixels as background, both for the semantic as well as the instance task". Ours:
frames of :mod:`robopercept.world.street` (a forward camera on a street with those eight kinds of road users), in
Cityscapes' layout and label ids, so the official evaluator and the same reader run on them and on the real set.

Each shard is a fresh street per frame — frame ``i`` depends only on (seed, split, i) — and one "city" folder
(Cityscapes groups frames by city): ``shards/<split>_<k>/`` holds a Cityscapes tree of its frames, and the
dataset's own ``leftImg8bit/`` and ``gtFine/`` trees are hard links to the shards' files (a copy where the file
system refuses links), so the folder is both resumable shard by shard and a plain Cityscapes root.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil
from concurrent.futures import Executor
from pathlib import Path

import numpy as np

from ..formats import cityscapes as C
from ..seed import derive_seed
from ..world.shards import Shard, plan_identity, recorded_config, run_plan
from .config import FastsegDataConfig

CODE_MODULES = ("robopercept.fastseg.data", "robopercept.world.street", "robopercept.formats.cityscapes")
SPLITS = ("train", "val")


def city_name(split: str, k: int) -> str:
    """A city folder name (Cityscapes' names are lower-case letters): ``sim_<split>_<k in letters>``."""
    letters = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        letters = chr(ord("a") + r) + letters
    return f"sim_{split}_{letters}"


def plan_shards(cfg: FastsegDataConfig, seed: int) -> list[Shard]:
    sizes = {"train": cfg.n_train, "val": cfg.n_val}
    return [Shard(f"{split}_{k:04d}", min(cfg.shard_size, n - start), derive_seed(seed, "fastseg_data", split),
                  (("split", split), ("first", start), ("city", city_name(split, k))))
            for split, n in sizes.items() for k, start in enumerate(range(0, n, cfg.shard_size))]


def frame_shard(shard: Shard, folder: Path, *, cfg: FastsegDataConfig) -> dict:
    """The runner's task: ``shard.count`` frames, each in a fresh street seeded by (seed, split, frame index)."""
    from ..world.street import StreetCamera, StreetScene, StreetSettings, plan_street

    camera = StreetCamera(cfg.height, cfg.width)
    settings = StreetSettings(min_users=cfg.min_users, max_users=cfg.max_users, max_distance_m=cfg.max_distance_m,
                              train_probability=cfg.train_probability)
    split, city, first = shard.get("split"), shard.get("city"), shard.get("first")
    counts: dict[str, int] = {}
    for i in range(shard.count):
        rng = np.random.default_rng([shard.seed, first + i])
        with StreetScene(camera, rng) as scene:
            f = scene.render(plan_street(rng, settings), rng, shadows=cfg.shadows)
        C.write_frame(folder, split, C.stem(city, 0, first + i), f.rgb, f.labels, f.instances)
        for v in np.unique(f.instances):
            if v >= 1000:
                name = next(n for n, lid in C.instance_label_ids().items() if lid == v // 1000)
                counts[name] = counts.get(name, 0) + 1
    return {"frames": shard.count, "instances": dict(sorted(counts.items()))}


def _link_tree(src: Path, dst: Path) -> None:
    for f in sorted(src.rglob("*.png")):
        target = dst / f.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target.unlink()
        try:
            os.link(f, target)
        except OSError:
            shutil.copyfile(f, target)


def generate(cfg: FastsegDataConfig, seed: int, out_dir: str | Path, *, progress: bool = False,
             executor: Executor | None = None) -> Path:
    """Write the dataset under ``out_dir`` (a Cityscapes root; resumable; the same bytes for any worker count)."""
    from .. import paths

    out = paths.resolve(out_dir)
    shards = plan_shards(cfg, seed)
    ident = plan_identity(generator="fastseg street frames", config=dataclasses.asdict(cfg), seed=seed,
                          code_modules=CODE_MODULES)
    res = run_plan(out / "shards", ident, shards, functools.partial(frame_shard, cfg=cfg), workers=cfg.workers,
                   executor=executor, progress=progress, desc="street frames", unit="frame")
    for tree in ("leftImg8bit", "gtFine"):
        shutil.rmtree(out / tree, ignore_errors=True)
    for s in shards:
        for tree in ("leftImg8bit", "gtFine"):
            _link_tree(out / "shards" / s.key / tree, out / tree)
    stats = {s.key: res.stats[s.key] for s in shards}
    record = {"seed": seed, **recorded_config(dataclasses.asdict(cfg)), "shards": stats}  # no worker count (issue #10)
    (out / "dataset.json").write_text(json.dumps(record, sort_keys=True, indent=1) + "\n")
    return out
