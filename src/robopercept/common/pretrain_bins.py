"""A generic instance-segmentation set of simulated bins, in COCO format (the stand-in for COCO).

The papers initialise their backbones from ImageNet/COCO-pretrained detectors, which cannot be
fetched here. This set stands in for COCO: bins of *training* objects only (it shares no object
with any test split), under the same camera, lighting and sensor models as the papers' simulated
data, annotated with every visible instance. It runs on the shard runner
(:mod:`robopercept.world.shards`): a fresh bin per shard, so the bytes depend only on (this code,
data/, parameters, seed). Written through ``formats.coco``; the merged annotations live in
``annotations.coco.json`` with image paths relative to the dataset folder.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from concurrent.futures import Executor
from pathlib import Path

import numpy as np

from ..formats import coco
from ..formats.grasp_pairs import write_png
from ..seed import derive_seed
from ..world.camera import BinCamera
from ..world.catalog import CATEGORIES, load_catalog
from ..world.nuisance import gloss_map, initial_lighting, observe
from ..world.scene import BinScene
from ..world.shards import Shard, plan_identity, run_plan
from .config import PretrainConfig

MIN_INSTANCE_PX = 20
N_OBJECTS = 160  # training objects drawn from
OBJECTS_PER_BIN = (6, 14)
SETTLE_STEPS = 240
SPECULAR_STRENGTH = 0.8
RGB_NOISE_STD = 3.0
CODE_MODULES = ("robopercept.common.pretrain_bins",)


def plan_shards(cfg: PretrainConfig, seed: int) -> list[Shard]:
    return [Shard(f"shard_{k:05d}", min(cfg.shard_size, cfg.n_images - start), derive_seed(seed, "bin_images", k),
                  (("first", start),))
            for k, start in enumerate(range(0, cfg.n_images, cfg.shard_size))]


def bins_shard(shard: Shard, folder: Path, *, cfg: PretrainConfig, data_dir: str) -> dict:
    """The runner's task: ``shard.count`` bins in a fresh scene; returns the shard's COCO dict."""
    catalog = load_catalog(data_dir)
    pool = catalog.objects("train", limit=min(N_OBJECTS, len(catalog.objects("train"))))
    camera = BinCamera.for_size(cfg.height, cfg.width)
    writer = coco.CocoWriter(list(CATEGORIES))
    rng = np.random.default_rng(shard.seed)
    (folder / "images").mkdir()
    with BinScene(catalog, camera) as scene:
        for i in range(shard.count):
            scene.clear()
            n = int(rng.integers(OBJECTS_PER_BIN[0], OBJECTS_PER_BIN[1] + 1))
            scene.drop([pool[k] for k in rng.choice(len(pool), size=n)], rng, SETTLE_STEPS)
            frame = scene.render(initial_lighting(rng))
            gloss = gloss_map(frame.ids, {k: pl.obj.gloss for k, pl in scene.placed.items()})
            rgb, _ = observe(frame, camera, gloss, rng, specular_strength=SPECULAR_STRENGTH,
                             rgb_noise_std=RGB_NOISE_STD, depth_noise_std_m=0.0)
            name = f"{shard.get('first') + i:06d}.png"
            write_png(folder / "images" / name, rgb)
            image_id = writer.add_image(f"{shard.key}/images/{name}", cfg.height, cfg.width)
            for inst, pl in sorted(scene.placed.items()):
                mask = frame.ids == inst
                if mask.sum() >= MIN_INSTANCE_PX:
                    writer.add_instance(image_id, pl.obj.category_id, mask, object_id=pl.obj.id)
    return {"images": shard.count, "coco": writer.to_dict()}


def generate_bin_images(cfg: PretrainConfig, seed: int, data_dir: str | Path, out_dir: str | Path, *,
                        progress: bool = False, executor: Executor | None = None) -> Path:
    """Write ``cfg.n_images`` bins under ``out_dir`` and ``out_dir/annotations.coco.json`` (resumable)."""
    from .. import paths

    data_dir, out = paths.resolve(data_dir), paths.resolve(out_dir)
    shards = plan_shards(cfg, seed)
    config = {k: v for k, v in dataclasses.asdict(cfg).items() if k in ("height", "width", "n_images", "shard_size")}
    ident = plan_identity(generator="simulated bins (COCO stand-in)", config=config, seed=seed,
                          code_modules=CODE_MODULES, inputs={"data": data_dir})
    task = functools.partial(bins_shard, cfg=cfg, data_dir=str(data_dir))
    res = run_plan(out, ident, shards, task, workers=cfg.workers, executor=executor, progress=progress,
                   desc="bins", unit="image")
    writer = coco.CocoWriter(list(CATEGORIES), description="simulated bins of training objects (COCO stand-in)")
    for s in shards:
        writer.merge(res.stats[s.key]["coco"])
    writer.write(out / "annotations.coco.json")
    (out / "dataset.json").write_text(json.dumps({"seed": seed, **config}, sort_keys=True, indent=1) + "\n")
    return out
