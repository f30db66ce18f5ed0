"""§V-A datasets from the simulated world, in COCO format: Apparel-5k-like bins and a multi-category stand-in for COCO.

**Apparel-5k** (the paper, §V-A: "We collected this dataset of roughly 5000 images from a robot picking application.
[...] There is only one object category, but the images exhibit a lot of inherent ambiguity due to complex occlusions,
lighting, transparency, etc."; 4198 train / 463 val images; Fig. 1 shows polybagged apparel in totes). Ours: bins of flat,
thin items (0.8–1.5 cm thick, 10–20 cm wide) in glossy polybags, dropped into the world's tote so that they lie
overlapping and touching. What makes the paper's set ambiguous is built in on purpose:

* *product families*: a family is one print (a cloth weave with wrinkle shading, a base colour, a printed band or
  logo) shared by near-identical items (sizes vary by a few millimetres); a bin draws its items from only
  ``families_per_bin`` families, so neighbours often look alike and their boundary is the hard part;
* *polybag gloss*: every item is glossy (gloss 0.9) and rendered with strong specular highlights that straddle
  item boundaries;
* *wrinkles*: each family's texture carries low-frequency shading bands that look like folds, inside items, where
  a model can mistake them for edges.

Train and validation families are disjoint (a family's print depends on (split, family)), as new products arrive
in a warehouse. What the simulation does not reproduce: real cloth deformation (our items are rigid thin boxes),
transparent bag film over the print, and folded or crumpled items.

**COCO stand-in** (Table I's COCO column): bins of the catalog's *test* objects (5 categories: box, cylinder,
pouch, irregular, ball), annotated per category. It tests multi-category detection with overlap, not COCO's
scale range or its 80 categories; the notebook says so.

**Cityscapes stand-in** (Table I's Cityscapes column): street frames of :mod:`robopercept.world.street` — a forward
camera over a road with Cityscapes' eight road-user classes (cars, trucks, buses, a rare tram, people, riders on
bicycles and motorcycles), annotated per class as COCO instances. It tests many instances per image over a wide
range of scales (perspective) with occlusion, and the rider-on-vehicle overlap; not real textures or clutter.

Each set runs on the shard runner: a fresh bin per shard, so bytes depend only on (this code, data/, parameters,
seed). Layout of each set's folder: ``annotations/instances_<split>.json`` (COCO, RLE masks; the file names the
released Apparel-5k annotations use) with image paths relative to the set's folder (``shards/<key>/images/<n>.png``).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import tempfile
from concurrent.futures import Executor
from pathlib import Path

import cv2
import numpy as np

from ..formats import coco
from ..formats.grasp_pairs import write_png
from ..seed import derive_seed
from ..world.camera import BinCamera
from ..world.catalog import CATEGORIES, Catalog, CatalogObject, load_catalog
from ..world.nuisance import gloss_map, initial_lighting, observe
from ..world.scene import BinScene
from ..world.shards import Shard, plan_identity, recorded_config, run_plan
from .config import LatentDataConfig

APPAREL = "apparel"
CATALOG = "catalog"
STREET = "street"
SETS = (APPAREL, CATALOG, STREET)
APPAREL_CATEGORIES = ("object",)  # Apparel-5k's one category
TEXTURE_PX = 128
CODE_MODULES = ("robopercept.latentmrcnn.scenes", "robopercept.latentmrcnn.config", "robopercept.world.street")
SPLITS = ("train", "val")


def family_texture(split: str, family: int, seed: int) -> np.ndarray:
    """The print of one product family (uint8 RGB, TEXTURE_PX²): woven cloth, fold shading, a printed band or logo."""
    rng = np.random.default_rng([seed, SPLITS.index(split), family])
    n = TEXTURE_PX
    yy, xx = np.mgrid[0:n, 0:n] / n
    base = rng.uniform(0.15, 0.85, 3)
    weave = 0.06 * (np.sin(2 * math.pi * xx * rng.integers(24, 40)) * np.sin(2 * math.pi * yy * rng.integers(24, 40)))
    img = base[None, None] * (1 + weave[..., None])
    # folds: a few smooth, oriented bands of darker and lighter shading (wrinkles of the garment under the film)
    for _ in range(int(rng.integers(2, 5))):
        a = rng.uniform(0, math.pi)
        d = (xx - 0.5) * math.cos(a) + (yy - 0.5) * math.sin(a) - rng.uniform(-0.4, 0.4)
        img *= (1 - 0.25 * np.exp(-(d / rng.uniform(0.02, 0.06)) ** 2) * rng.choice([-0.6, 1.0]))[..., None]
    accent = 1 - base if rng.random() < 0.5 else rng.uniform(0, 1, 3)
    if rng.random() < 0.5:  # a printed band across the item
        y0 = rng.uniform(0.2, 0.6)
        band = (yy > y0) & (yy < y0 + rng.uniform(0.1, 0.25))
        img[band] = accent
    else:  # a logo: a disc or a square near the centre
        cy, cx, r = rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65), rng.uniform(0.08, 0.18)
        logo = ((yy - cy) ** 2 + (xx - cx) ** 2 < r ** 2) if rng.random() < 0.5 else \
            (np.abs(yy - cy) < r) & (np.abs(xx - cx) < r)
        img[logo] = accent
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8)


def apparel_catalog(split: str, cfg: LatentDataConfig, seed: int, folder: Path) -> Catalog:
    """The families of one split as catalog objects (textures written to ``folder``): each family has a few
    near-identical sizes (ids are unique across splits)."""
    items = []
    (folder / "textures").mkdir(parents=True, exist_ok=True)
    for f in range(cfg.families_per_split):
        rng = np.random.default_rng([seed, SPLITS.index(split), f, 1])
        rel = f"textures/{split}_{f:03d}.png"
        write_png(folder / rel, family_texture(split, f, seed))
        w, d, t = rng.uniform(0.10, 0.20), rng.uniform(0.07, 0.14), rng.uniform(0.008, 0.015)
        color = tuple(float(c) for c in rng.uniform(0, 1, 3))
        for v in range(3):  # the same product in three sizes a few millimetres apart
            s = 1 + 0.03 * (v - 1)
            oid = 100000 + 10000 * SPLITS.index(split) + 10 * f + v
            items.append(CatalogObject(id=oid, name=f"apparel_{split}_{f:03d}_{v}", category="pouch", split=split,
                                       shape="box", extents=(w * s, d * s, t), mesh=None, mesh_scale=1.0,
                                       texture=rel, texture_kind="apparel", color=color, mass=0.15, friction=0.5,
                                       glossy=True, gloss=0.9))
    return Catalog(root=folder, items=tuple(items))


def plan_shards(name: str, split: str, n: int, cfg: LatentDataConfig, seed: int) -> list[Shard]:
    return [Shard(f"{split}_{k:05d}", min(cfg.shard_size, n - start), derive_seed(seed, "latentmrcnn", name, split, k),
                  (("first", start), ("split", split)))
            for k, start in enumerate(range(0, n, cfg.shard_size))]


def plan_set(name: str, cfg: LatentDataConfig, seed: int) -> list[Shard]:
    """The shards of set ``name`` (train then val), as :func:`generate_set` runs them (the tests run them alone)."""
    if name not in SETS:
        raise ValueError(f"unknown latentmrcnn set {name!r}; choose from {SETS}")
    sizes = {APPAREL: {"train": cfg.n_train, "val": cfg.n_val},
             CATALOG: {"train": cfg.n_catalog_train, "val": cfg.n_catalog_val},
             STREET: {"train": cfg.n_street_train, "val": cfg.n_street_val}}[name]
    return [s for split in SPLITS for s in plan_shards(name, split, sizes[split], cfg, seed)]


def apparel_bin(pool: list[CatalogObject], cfg: LatentDataConfig, rng: np.random.Generator) -> list[CatalogObject]:
    """The items of one Apparel-like bin: ``min_items..max_items`` items of ``families_per_bin`` families of ``pool``
    (:func:`apparel_catalog`'s items, three sizes per family)."""
    fams = rng.choice(cfg.families_per_split, size=cfg.families_per_bin, replace=False)
    n = int(rng.integers(cfg.min_items, cfg.max_items + 1))
    return [pool[3 * int(rng.choice(fams)) + int(rng.integers(3))] for _ in range(n)]


def render_view(scene: BinScene, camera: BinCamera, rng: np.random.Generator, cfg: LatentDataConfig):
    """The camera's view of the settled bin: the clean frame (depth, instance ids) and the observed RGB (glossy
    highlights, sensor noise)."""
    frame = scene.render(initial_lighting(rng))
    gloss = gloss_map(frame.ids, {k: pl.obj.gloss for k, pl in scene.placed.items()})
    rgb, _ = observe(frame, camera, gloss, rng, specular_strength=cfg.specular_strength,
                     rgb_noise_std=cfg.rgb_noise_std, depth_noise_std_m=0.0)
    return frame, rgb


def street_shard(shard: Shard, folder: Path, cfg: LatentDataConfig) -> dict:
    """``shard.count`` street frames (a fresh street each), COCO instances of the eight Cityscapes classes."""
    from ..world.street import CLASS_IDS, StreetCamera, StreetScene, plan_street

    camera = StreetCamera(cfg.height, cfg.width)
    names = list(CLASS_IDS)
    writer = coco.CocoWriter(names)
    for i in range(shard.count):
        rng = np.random.default_rng([shard.seed, i])
        with StreetScene(camera, rng) as scene:
            f = scene.render(plan_street(rng), rng)
        rgb = np.clip(f.rgb.astype(np.float64) + rng.normal(0, cfg.rgb_noise_std, f.rgb.shape), 0, 255).astype(np.uint8)
        fn = f"{shard.get('first') + i:06d}.png"
        write_png(folder / "images" / fn, rgb)
        image_id = writer.add_image(fn, cfg.height, cfg.width)
        for v in np.unique(f.instances):
            if v >= 1000:
                mask = f.instances == v
                if mask.sum() >= cfg.min_instance_px:
                    cid = names.index(next(n for n, lid in CLASS_IDS.items() if lid == v // 1000)) + 1
                    writer.add_instance(image_id, cid, mask)
    return {"images": shard.count, "coco": writer.to_dict()}


def set_shard(shard: Shard, folder: Path, *, name: str, cfg: LatentDataConfig, data_dir: str, seed: int) -> dict:
    """The runner's task: ``shard.count`` bins of set ``name`` in a fresh scene; returns the shard's COCO dict."""
    if name == STREET:
        (folder / "images").mkdir()
        return street_shard(shard, folder, cfg)
    split = shard.get("split")
    camera = BinCamera.for_size(cfg.height, cfg.width)
    rng = np.random.default_rng(shard.seed)
    (folder / "images").mkdir()
    with tempfile.TemporaryDirectory(prefix="robopercept-apparel-") as tmp:
        if name == APPAREL:
            catalog = apparel_catalog(split, cfg, seed, Path(tmp))
            pool, categories = list(catalog.items), APPAREL_CATEGORIES
        else:
            catalog = load_catalog(data_dir)  # test objects: no object the stand-in backbone was pretrained on
            pool, categories = catalog.objects("test"), CATEGORIES
        writer = coco.CocoWriter(list(categories))
        with BinScene(catalog, camera) as scene:
            for i in range(shard.count):
                scene.clear()
                if name == APPAREL:
                    objs = apparel_bin(pool, cfg, rng)
                else:
                    n = int(rng.integers(cfg.min_catalog_objects, cfg.max_catalog_objects + 1))
                    objs = [pool[k] for k in rng.choice(len(pool), size=n)]
                scene.drop(objs, rng, cfg.settle_steps)
                frame, rgb = render_view(scene, camera, rng, cfg)
                fn = f"{shard.get('first') + i:06d}.png"
                write_png(folder / "images" / fn, rgb)
                image_id = writer.add_image(fn, cfg.height, cfg.width)
                for inst, pl in sorted(scene.placed.items()):
                    mask = frame.ids == inst
                    if mask.sum() >= cfg.min_instance_px:
                        cat = 1 if name == APPAREL else pl.obj.category_id
                        writer.add_instance(image_id, cat, mask, object_id=pl.obj.id)
    return {"images": shard.count, "coco": writer.to_dict()}


def generate_set(name: str, cfg: LatentDataConfig, seed: int, data_dir: str | Path, out_dir: str | Path, *,
                 progress: bool = False, executor: Executor | None = None) -> Path:
    """Write set ``name`` (``apparel`` or ``catalog``) under ``out_dir``: ``shards/`` (images) and
    ``annotations/instances_<split>.json`` (resumable; the same bytes for any worker count)."""
    from .. import paths

    shards = plan_set(name, cfg, seed)
    data_dir, out = paths.resolve(data_dir), paths.resolve(out_dir)
    ident = plan_identity(generator=f"latentmrcnn {name} bins", config=dataclasses.asdict(cfg), seed=seed,
                          code_modules=CODE_MODULES, inputs={"data": data_dir})
    task = functools.partial(set_shard, name=name, cfg=cfg, data_dir=str(data_dir), seed=seed)
    shard_dir = out / "shards"
    res = run_plan(shard_dir, ident, shards, task, workers=cfg.workers, executor=executor, progress=progress,
                   desc=f"{name} bins", unit="image")
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    from ..world.street import CLASS_IDS

    cats = list({APPAREL: APPAREL_CATEGORIES, CATALOG: CATEGORIES, STREET: tuple(CLASS_IDS)}[name])
    for split in SPLITS:
        writer = coco.CocoWriter(cats, description=f"simulated {name} bins ({split}), robopercept latentmrcnn")
        for s in shards:
            if s.get("split") == split:
                writer.merge(res.stats[s.key]["coco"], file_prefix=f"shards/{s.key}/images/")
        writer.write(out / "annotations" / f"instances_{split}.json")
    (out / "dataset.json").write_text(json.dumps({"set": name, "seed": seed, **recorded_config(dataclasses.asdict(cfg))},
                                                 sort_keys=True, indent=1) + "\n")
    return out


def ambiguity_example(cfg: LatentDataConfig, seed: int) -> np.ndarray:
    """Family prints of one split side by side (for the notebook's figure)."""
    tiles = [cv2.resize(family_texture("train", f, seed), (48, 48), interpolation=cv2.INTER_AREA)
             for f in range(min(cfg.families_per_split, 8))]
    return np.concatenate(tiles, axis=1)
