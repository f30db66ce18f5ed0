"""§IV-B data collection in the world: tabletop scenes of 8 known objects (and unknown distractors) recorded by a wrist
camera moved along one fixed arc, written as DON scene logs (:mod:`robopercept.formats.don_logs`).

    "We selected a set of 8 objects for training, including objects with repeating patterns, similar visual features,
    and one deformable object. [...] For single-object training with vanilla and cross-object DON [1] we recorded
    multiple scenes for each object isolated in the workspace, for a total of 20 scenes. For multi-object data, we
    captured 15 scenes in total, each containing a subset of the known objects. For validation we recorded one
    multi-object and 5 single-object scenes, each with some unknow[n objects ...]" (§IV-B)

**The known objects** (:func:`known_objects`, from the catalog's *test* split, which the shared stand-in backbone
never saw): two with repeating textures (stripes, checker), a similar-looking pair (one object and a smaller copy
with the same print), two glossy (specular) objects, one deformable-looking pouch, and one plain box to fill eight.
Unknown distractors come from the rest of the test split. The rigid simulator has no deformable bodies: the pouch
only looks deformable (its mesh is a soft-edged sack), which the notebook states.

**A scene** is one shard of the shard runner (its key is the scene's log folder, ``logs/<scene>``): a fresh world,
the scene's objects dropped on the table, settled, then rendered from every kept pose of the fixed arc
(:func:`robopercept.world.wrist_camera.arc_trajectory`, subsampled by angle and translation). Single-object,
validation and test scenes carry masks of the known objects (``image_masks``: the union and per-object ids; the paper
"manually provided object-specific masks for each of the known objects, allowing us to sample query points
specifically for each objects for validation and testing"); multi-object training scenes carry none — the paper
skips mask generation for them.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from concurrent.futures import Executor
from pathlib import Path

import numpy as np

from ..formats import don_logs
from ..seed import derive_seed
from ..world.catalog import Catalog, CatalogObject, load_catalog
from ..world.shards import Shard, plan_identity, recorded_config, run_plan
from .config import DonDataConfig

CODE_MODULES = ("robopercept.don.scenes", "robopercept.formats.don_logs", "robopercept.world.wrist_camera",
                "robopercept.world.scene")
TWIN_ID_OFFSET = 500000


def known_objects(catalog: Catalog) -> list[CatalogObject]:
    """The 8 known objects (deterministic: the first test-split object matching each role, by catalog id)."""
    pool = sorted(catalog.objects("test"), key=lambda o: o.id)

    def first(pred, taken):
        for o in pool:
            if o.id not in taken and pred(o):
                return o
        raise ValueError("the catalog's test split lacks an object for a DON role; rebuild data/ (make data)")

    taken: set[int] = set()
    picks = []
    for pred in (lambda o: o.texture_kind == "stripes", lambda o: o.texture_kind == "checker",
                 lambda o: o.shape == "box" and o.texture_kind == "label", lambda o: o.glossy and o.shape == "cylinder",
                 lambda o: o.glossy and o.shape != "cylinder", lambda o: o.category == "pouch",
                 lambda o: o.shape == "box" and o.texture_kind == "solid"):
        o = first(pred, taken)
        taken.add(o.id)
        picks.append(o)
    base = picks[2]  # the similar-looking pair: the label box and a smaller copy with the same print
    twin = dataclasses.replace(base, id=base.id + TWIN_ID_OFFSET, name=base.name + "_twin",
                               extents=tuple(0.85 * e for e in base.extents), color=tuple(base.color))
    return picks[:3] + [twin] + picks[3:]


@dataclasses.dataclass(frozen=True)
class SceneSpec:
    name: str
    kind: str  # "single" or "multi"
    split: str  # "train", "val" or "test"
    known: tuple[int, ...]  # indices into known_objects()
    distractors: int


def plan_scenes(cfg: DonDataConfig, seed: int) -> list[SceneSpec]:
    rng = np.random.default_rng(derive_seed(seed, "don_scene_plan"))
    specs = []
    for k in range(cfg.single_train):  # every known object gets its share of single-object scenes
        specs.append(SceneSpec(f"single_train_{k:03d}", "single", "train", (k % 8,), 0))
    for k in range(cfg.single_val):
        specs.append(SceneSpec(f"single_val_{k:03d}", "single", "val", (int(rng.integers(8)),), 1))
    for split, n in (("train", cfg.multi_train), ("val", cfg.multi_val), ("test", cfg.multi_test)):
        for k in range(n):
            m = int(rng.integers(cfg.min_known_per_multi, cfg.max_known_per_multi + 1))
            known = tuple(sorted(int(i) for i in rng.choice(8, size=m, replace=False)))
            d = int(rng.integers(0, cfg.max_distractors + 1)) if split == "train" else max(1, cfg.max_distractors)
            specs.append(SceneSpec(f"multi_{split}_{k:03d}", "multi", split, known, d))
    return specs


def plan_shards(cfg: DonDataConfig, seed: int) -> list[Shard]:
    """One shard per scene of :func:`plan_scenes`, keyed by the scene's name (the generator's plan; the tests run
    its shards alone)."""
    return [Shard(s.name, 1, derive_seed(seed, "don_data", s.name), (("spec", tuple(dataclasses.asdict(s).items())),))
            for s in plan_scenes(cfg, seed)]


def scene_shard(shard: Shard, folder: Path, *, cfg: DonDataConfig, data_dir: str) -> dict:
    """Record one scene into ``folder`` (its ``processed/`` tree)."""
    from ..world.scene import BinScene
    from ..world.wrist_camera import PosedCamera, arc_trajectory, subsample

    spec = SceneSpec(**dict(shard.get("spec")))
    catalog = load_catalog(data_dir)
    known = known_objects(catalog)
    rng = np.random.default_rng(shard.seed)
    known_ids = {o.id for o in known}
    distract_pool = [o for o in catalog.objects("test") if o.id not in known_ids and o.id + TWIN_ID_OFFSET not in known_ids]
    objs = [known[i] for i in spec.known] + [distract_pool[int(i)] for i in
                                             rng.choice(len(distract_pool), size=spec.distractors, replace=False)]
    poses = arc_trajectory(cfg.trajectory_poses)
    kept = subsample(poses, cfg.min_angle_deg, cfg.min_translation_m)
    cams = [PosedCamera.at(poses[i], cfg.height, cfg.width) for i in kept]
    if any(o.id >= TWIN_ID_OFFSET for o in objs):
        catalog = Catalog(root=catalog.root, items=tuple(catalog.items) + tuple(o for o in known if o.id >= TWIN_ID_OFFSET))
    with BinScene(catalog, cams[0], tote=False) as scene:
        insts = scene.drop(objs, rng, cfg.settle_steps)
        known_of_inst = {inst: spec.known[j] + 1 for j, inst in enumerate(insts[:len(spec.known)])}
        writer = don_logs.SceneWriter(None, spec.name, cams[0].K, cfg.height, cfg.width,
                                      objects={k + 1: known[k].name for k in spec.known},
                                      processed_dir=folder / "processed")
        masks = spec.kind == "single" or spec.split in ("val", "test")  # known-object masks: validation, tests
        for idx, cam in zip(kept, cams):
            f = scene.render(camera=cam)
            rgb = np.clip(f.rgb + rng.normal(0, cfg.rgb_noise_std, f.rgb.shape), 0, 255).astype(np.uint8)
            inst = np.zeros(f.ids.shape, np.int64)
            for i, k in known_of_inst.items():
                inst[f.ids == i] = k
            writer.add(idx, rgb, f.depth, cam.pose, mask=(inst > 0) if masks else None,
                       instances=inst if masks else None)
    writer.close()
    return {"frames": len(kept), "objects": [o.name for o in objs], "kind": spec.kind, "split": spec.split}


def generate(cfg: DonDataConfig, seed: int, data_dir: str | Path, out_dir: str | Path, *, progress: bool = False,
             executor: Executor | None = None) -> Path:
    """Write every scene under ``out_dir/logs/`` and the dataset configs under ``out_dir/config/``."""
    from .. import paths

    data_dir, out = paths.resolve(data_dir), paths.resolve(out_dir)
    specs = plan_scenes(cfg, seed)
    shards = plan_shards(cfg, seed)
    ident = plan_identity(generator="don scene logs", config=dataclasses.asdict(cfg), seed=seed,
                          code_modules=CODE_MODULES, inputs={"data": data_dir})
    res = run_plan(out / "logs", ident, shards, functools.partial(scene_shard, cfg=cfg, data_dir=str(data_dir)),
                   workers=cfg.workers, executor=executor, progress=progress, desc="DON scenes", unit="scene")
    names = [o.name for o in known_objects(load_catalog(data_dir))]
    single = {n: {"train": [s.name for s in specs if s.kind == "single" and s.split == "train" and names[s.known[0]] == n],
                  "test": [s.name for s in specs if s.kind == "single" and s.split == "val" and names[s.known[0]] == n]}
              for n in names}
    multi = {"known_objects": {"object_id_list": names, "train": [s.name for s in specs if s.kind == "multi" and s.split == "train"],
                               "test": [s.name for s in specs if s.kind == "multi" and s.split == "val"]},
             "test_scenes": {"object_id_list": names, "train": [],
                             "test": [s.name for s in specs if s.split == "test"]}}
    don_logs.write_configs(out, "robopercept_don", single, multi)
    (out / "dataset.json").write_text(json.dumps({"seed": seed, **recorded_config(dataclasses.asdict(cfg)),
                                                  "scenes": {k: res.stats[k] for k in sorted(res.stats)}},
                                                 sort_keys=True, indent=1) + "\n")
    return out
