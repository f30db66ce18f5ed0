"""graspseg §IV-A: collect grasp interactions in the simulated bin.

The paper's robot cycles objects between two bins with a 5-cup suction gripper, recording the
before image ``i_b``, the after image ``i_a`` and the grasp mask ``g`` of the active cups; the suction
gauges keep only successful grasps (110k pairs; 1k labeled training and 6k labeled test images, on
disjoint objects). Here one *shard* is a run of the simulated robot on a sequence of bins:

1. fill the tote with ``min..max_objects_per_bin`` random objects of the split and let them settle;
2. repeat until the bin is empty or ``max_grasp_attempts_per_bin`` attempts were made:
   the policy (``graspseg.collection_policy``) picks a grasp on the before image; the cups seal or not
   (``world.suction``); a sealed object is lifted against gravity and its neighbours, and leaves
   the bin (it goes to the other bin); the gripper may brush a neighbour; everything settles;
   the after image is rendered under the (possibly changed) light (``world.nuisance``);
3. the after image of one attempt is the before image of the next, exactly.

Successful grasps are written (``formats.grasp_pairs``); failures only count in the shard's stats. The paper collects
its unlabeled grasps "across a variety of training and test objects" (§IV-A): a share ``unlabeled_test_share`` of the
unlabeled shards (:func:`unlabeled_objects`) fills its bins with test objects — the labeled splits keep training and
test objects apart — and each shard's ``shard.json`` names the catalog split it drew from (``objects``).
Shards run on the one shard runner (:mod:`robopercept.world.shards`): each builds a fresh simulated
bin, so its bytes depend only on (this code, data/, parameters, seed, split, shard index) — never
on the worker count, on which shards ran before it, or on an interrupted earlier run.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import time
from concurrent.futures import Executor
from pathlib import Path

import numpy as np

from ..formats import coco
from ..formats.grasp_pairs import LABELED, SPLITS, depth_to_png, write_png
from ..seed import derive_seed
from ..world.camera import BinCamera
from ..world.catalog import CATEGORIES, Catalog, load_catalog
from ..world.nuisance import gloss_map, initial_lighting, next_lighting, observe
from ..world.scene import BinScene, Frame
from ..world.shards import Shard, plan_identity, run_plan
from ..world.suction import bump_neighbour, cup_pixels, grasp_mask, lift, seal_cups
from .collection_policy import choose_grasp
from .config import GraspDataConfig

# The plan identity hashes this module and everything it imports (robopercept.codedeps.closure).
CODE_MODULES = ("robopercept.graspseg.grasp_collection",)
MOVED_MM = 5.0  # a neighbour "moved" if its centre moved more than this ...
MOVED_DEG = 10.0  # ... or it turned by more than this


@dataclasses.dataclass(frozen=True)
class ShardSpec:
    """What :func:`_collect` needs to know about its shard."""

    split: str
    index: int
    count: int  # successful grasps to collect
    seed: int
    objects: str = ""  # the catalog split its bins are filled from ("" : the split's own, see object_split)

    @property
    def name(self) -> str:
        return f"shard_{self.index:05d}"

    @property
    def labeled(self) -> bool:
        return self.split in LABELED

    @property
    def object_split(self) -> str:
        if self.objects:
            return self.objects
        return "test" if self.split == "labeled_test" else "train"

    @classmethod
    def of(cls, shard: Shard) -> "ShardSpec":
        return cls(shard.get("split"), shard.get("index"), shard.count, shard.seed, shard.get("objects", ""))


def split_sizes(cfg: GraspDataConfig) -> dict[str, int]:
    return {"unlabeled": cfg.n_unlabeled, "labeled_train": cfg.n_labeled_train, "labeled_test": cfg.n_labeled_test}


def unlabeled_objects(k: int, share: float) -> str:
    """The catalog split unlabeled shard ``k``'s bins are filled from: ``test`` for a ``share`` of the shards,
    spread evenly through the split (shard k is a test-object shard when ⌊(k+1)·share⌋ > ⌊k·share⌋), so any
    prefix of the split — the crops stage reads the first ``max_pairs`` — holds about that share."""
    return "test" if math.floor((k + 1) * share + 1e-9) > math.floor(k * share + 1e-9) else "train"


def plan_shards(cfg: GraspDataConfig, seed: int) -> list[Shard]:
    shards = []
    for split, total in split_sizes(cfg).items():
        for k in range(math.ceil(total / cfg.shard_size)):
            count = min(cfg.shard_size, total - k * cfg.shard_size)
            objects = (unlabeled_objects(k, cfg.unlabeled_test_share) if split == "unlabeled"
                       else "test" if split == "labeled_test" else "train")
            shards.append(Shard(f"{split}/shard_{k:05d}", count, derive_seed(seed, "graspseg_data", split, k),
                                (("split", split), ("index", k), ("objects", objects))))
    return shards


# ---------------------------------------------------------------------------------------------
# One shard
# ---------------------------------------------------------------------------------------------


class _Timer:
    def __init__(self):
        self.t = {"physics": 0.0, "render": 0.0, "sensor": 0.0, "policy": 0.0, "labels": 0.0, "io": 0.0}

    def add(self, key: str, since: float) -> float:
        now = time.perf_counter()
        self.t[key] += now - since
        return now


def _observe(scene: BinScene, cfg: GraspDataConfig, lighting, rng, timer: "_Timer") -> tuple[Frame, np.ndarray, np.ndarray]:
    t = time.perf_counter()
    frame = scene.render(lighting, shadows=cfg.shadows)
    t = timer.add("render", t)
    gloss = gloss_map(frame.ids, {i: pl.obj.gloss for i, pl in scene.placed.items()})
    rgb, depth = observe(frame, scene.camera, gloss, rng, specular_strength=cfg.specular_strength,
                         rgb_noise_std=cfg.rgb_noise_std, depth_noise_std_m=cfg.depth_noise_std_m)
    timer.add("sensor", t)
    return frame, rgb, depth


def _quat_angle_deg(q1, q2) -> float:
    d = abs(float(np.dot(q1, q2)))
    return math.degrees(2 * math.acos(min(1.0, d)))


def collect_shard(shard: Shard, folder: Path, *, cfg: GraspDataConfig, data_dir: str) -> dict:
    """The runner's task: collect ``shard.count`` successful grasps into ``folder`` in a fresh bin."""
    catalog = load_catalog(data_dir)
    with BinScene(catalog, BinCamera.for_size(cfg.height, cfg.width)) as scene:
        return _collect(ShardSpec.of(shard), cfg, catalog, scene, folder)


def _collect(spec: ShardSpec, cfg: GraspDataConfig, catalog: Catalog, scene: BinScene, folder: Path) -> dict:
    rng = np.random.default_rng(spec.seed)
    limit = cfg.n_test_objects if spec.object_split == "test" else cfg.n_train_objects
    pool = catalog.objects(spec.object_split, limit=limit)
    timer = _Timer()
    camera = scene.camera
    max_attempts = 50 * spec.count + 50
    attempts, successes, bins = 0, 0, 0
    failures = {"nothing_visible": 0, "no_seal": 0, "double_pick": 0, "dropped": 0}
    objects_per_bin: list[int] = []
    coco_shard = coco.CocoWriter(list(CATEGORIES))
    attempts_in_bin = cfg.max_grasp_attempts_per_bin
    frame = rgb_b = depth_b = lighting = None
    while successes < spec.count:
        if attempts >= max_attempts:
            raise RuntimeError(f"{spec.split}/{spec.name}: only {successes} successful grasps in {attempts} "
                               "attempts; the suction or policy parameters make grasping (nearly) impossible")
        t = time.perf_counter()
        if attempts_in_bin >= cfg.max_grasp_attempts_per_bin or not scene.placed:
            scene.clear()
            n = int(rng.integers(cfg.min_objects_per_bin, cfg.max_objects_per_bin + 1))
            chosen = [pool[i] for i in rng.choice(len(pool), size=n, replace=len(pool) < n)]
            scene.drop(chosen, rng, cfg.settle_steps)
            t = timer.add("physics", t)
            bins += 1
            objects_per_bin.append(len(scene.placed))
            attempts_in_bin = 0
            lighting = initial_lighting(rng)
            frame, rgb_b, depth_b = _observe(scene, cfg, lighting, rng, timer)
            t = time.perf_counter()
        attempts += 1
        attempts_in_bin += 1
        choice = choose_grasp(frame.ids, frame.depth, camera, rng, spacing=cfg.cup_spacing_m,
                              point_noise_m=cfg.policy_point_noise_m, angle_noise_deg=cfg.policy_angle_noise_deg,
                              mask_error_rate=cfg.policy_mask_error_rate)
        if choice is None:
            failures["nothing_visible"] += 1
            attempts_in_bin = cfg.max_grasp_attempts_per_bin  # refill
            continue
        grasp, believed = choice
        discs = cup_pixels(camera, frame.depth, grasp.cup_xy(cfg.cup_spacing_m), cfg.cup_radius_m)
        g = grasp_mask(discs, grasp.active)
        seals = seal_cups([d for d, a in zip(discs, grasp.active) if a], frame.depth, frame.ids, camera,
                          flatness_tol=cfg.seal_flatness_tol_m, max_angle_deg=cfg.seal_max_angle_deg)
        t = timer.add("policy", t)
        sealed = [s for s in seals if s.sealed]
        on = sorted({s.instance for s in sealed})
        labels = None
        if spec.labeled and len(sealed) >= cfg.min_sealed_cups and len(on) == 1:
            labels = scene.amodal_masks(list(scene.placed))  # amodal masks of the *before* state
            t = timer.add("labels", t)
        poses_before = {i: scene.pose(i) for i in scene.placed}
        objects_before = {i: pl.obj for i, pl in scene.placed.items()}
        success, reason, grasped = False, "", 0
        if len(sealed) < cfg.min_sealed_cups:
            reason = "no_seal"
        elif len(on) > 1:
            reason = "double_pick"
        else:
            grasped = on[0]
            if lift(scene, grasped, len(sealed) * cfg.cup_force_n, cfg.lift_height_m):
                success = True
            else:
                reason = "dropped"
        bumped = None
        if rng.random() < cfg.neighbour_bump_rate:
            bumped = bump_neighbour(scene, grasp, grasped, cfg.neighbour_bump_speed, rng)
        grasped_obj = objects_before[grasped] if success else None
        if success:
            scene.remove(grasped)  # it is now in the other bin
        scene.settle(cfg.settle_steps)
        scene.discard_outside()
        t = timer.add("physics", t)
        lighting = next_lighting(lighting, cfg.light_change_rate, cfg.light_change_strength, rng)
        frame_a, rgb_a, depth_a = _observe(scene, cfg, lighting, rng, timer)
        t = time.perf_counter()
        if not success:
            failures[reason] += 1
        else:
            moved = {}
            for inst, (pos0, orn0) in poses_before.items():
                if inst == grasped:
                    continue
                if inst not in scene.placed:
                    moved[str(inst)] = {"mm": None, "deg": None, "left_bin": True}
                    continue
                pos1, orn1 = scene.pose(inst)
                mm = float(np.linalg.norm(pos1 - pos0) * 1000)
                deg = _quat_angle_deg(orn0, orn1)
                if mm > MOVED_MM or deg > MOVED_DEG:
                    moved[str(inst)] = {"mm": round(mm, 2), "deg": round(deg, 2), "left_bin": False}
            gdir = folder / f"{successes:06d}"
            gdir.mkdir()
            write_png(gdir / "before.png", rgb_b)
            write_png(gdir / "after.png", rgb_a)
            write_png(gdir / "grasp_mask.png", g)
            write_png(gdir / "depth_before.png", depth_to_png(depth_b))
            write_png(gdir / "depth_after.png", depth_to_png(depth_a))
            visible = frame.ids == grasped
            record = {
                "success": True,
                "split": spec.split, "shard": spec.index, "index": successes, "attempt": attempts,
                "shard_seed": spec.seed,
                "grasp": {"x_m": round(grasp.x, 5), "y_m": round(grasp.y, 5),
                          "angle_rad": round(grasp.angle, 5), "active_cups": list(grasp.active),
                          "sealed_cups": len(sealed), "policy_target_instance": int(believed)},
                "grasped": {"instance": int(grasped), "object_id": grasped_obj.id, "object": grasped_obj.name,
                            "category": grasped_obj.category, "glossy": grasped_obj.glossy,
                            "visible_px": int(visible.sum())},
                "objects_in_bin": len(poses_before),
                "neighbours_moved": moved,
                "bumped_instance": None if bumped is None else int(bumped),
                "lighting_changed": frame_a.lighting != frame.lighting,
            }
            if labels is not None:
                amodal = labels[grasped]
                write_png(gdir / "visible.png", visible)
                write_png(gdir / "amodal.png", amodal)
                write_png(gdir / "instances.png", frame.ids.astype(np.uint16))
                image_id = coco_shard.add_image(f"{spec.name}/{gdir.name}/before.png", cfg.height, cfg.width,
                                                grasped_instance=int(grasped))
                for inst in sorted(labels):
                    obj = objects_before[inst]
                    coco_shard.add_instance(image_id, obj.category_id, frame.ids == inst, amodal=labels[inst],
                                            instance=int(inst), object_id=obj.id)
            (gdir / "record.json").write_text(json.dumps(record, sort_keys=True, indent=1) + "\n")
            successes += 1
            t = timer.add("io", t)
        frame, rgb_b, depth_b = frame_a, rgb_a, depth_a
    return {
        "split": spec.split, "shard": spec.index, "seed": spec.seed, "objects": spec.object_split,
        "successes": successes, "attempts": attempts, "bins": bins, "failures": failures, "objects_per_bin": objects_per_bin,
        "coco": coco_shard.to_dict() if spec.labeled else None,
        "_timing": {k: round(v, 4) for k, v in timer.t.items()},  # kept out of shard.json by the runner
    }


# ---------------------------------------------------------------------------------------------
# The whole dataset
# ---------------------------------------------------------------------------------------------

def identity(cfg: GraspDataConfig, seed: int, data_dir: str | Path) -> dict:
    """What the dataset's bytes depend on (stored in plan.json; any change starts over)."""
    return plan_identity(generator="graspseg grasp collection", config=dataclasses.asdict(cfg), seed=seed,
                         code_modules=CODE_MODULES, inputs={"data": data_dir})


def _check_inputs(cfg: GraspDataConfig, catalog: Catalog) -> None:
    """Fail before any simulation if the catalog cannot serve the config."""
    from ..config import ConfigError

    for split, n, key in (("train", cfg.n_train_objects, "n_train_objects"),
                          ("test", cfg.n_test_objects, "n_test_objects")):
        try:
            catalog.objects(split, limit=n)
        except ValueError as e:
            raise ConfigError(f"graspseg_data.{key}: {e}") from None


def generate(cfg: GraspDataConfig, seed: int, data_dir: str | Path, out_dir: str | Path, *,
             progress: bool = True, executor: Executor | None = None) -> dict:
    """Generate (or resume) the dataset in ``out_dir``; return the summary written to dataset.json
    plus this call's log (``generated_now``, ``wall_s_now``, ``timing_s`` — not written anywhere)."""
    from .. import paths

    data_dir, out_dir = paths.resolve(data_dir), paths.resolve(out_dir)
    _check_inputs(cfg, load_catalog(data_dir))
    shards = plan_shards(cfg, seed)
    task = functools.partial(collect_shard, cfg=cfg, data_dir=str(data_dir))
    res = run_plan(out_dir, identity(cfg, seed, data_dir), shards, task, workers=cfg.workers, executor=executor,
                   progress=progress, desc="grasp pairs", unit="pair")
    summary = _finalize(cfg, seed, out_dir, shards, res.stats, BinCamera.for_size(cfg.height, cfg.width))
    log = {"generated_now": sum(s.count for s in shards if s.key in res.generated), "wall_s_now": round(res.wall_s, 2),
           "workers": cfg.workers, "repaired_shards": res.repaired, "timing_s": res.timing_total()}
    return {**summary, **log}


def _finalize(cfg, seed, out_dir: Path, shards: list[Shard], stats: dict[str, dict], camera: BinCamera) -> dict:
    (out_dir / "camera.json").write_text(json.dumps(camera.as_dict(), indent=1) + "\n")
    summary = {"seed": seed, "height": cfg.height, "width": cfg.width, "splits": {}}
    for split in SPLITS:
        split_shards = [s for s in shards if s.get("split") == split]
        shard_stats = [stats[s.key] for s in split_shards]
        if split in LABELED and shard_stats:
            writer = coco.CocoWriter(list(CATEGORIES), description=f"graspseg simulated grasps, {split} before images")
            for sh in shard_stats:
                writer.merge(sh["coco"])
            writer.write(out_dir / split / "annotations.coco.json")
        summary["splits"][split] = {
            "pairs": sum(sh["successes"] for sh in shard_stats),
            "attempts": sum(sh["attempts"] for sh in shard_stats),
            "bins": sum(sh["bins"] for sh in shard_stats),
            "failures": {k: sum(sh["failures"][k] for sh in shard_stats)
                         for k in (shard_stats[0]["failures"] if shard_stats else {})},
            "shards": len(shard_stats),
            "pairs_by_objects": {objects: sum(stats[s.key]["successes"] for s in split_shards
                                              if s.get("objects") == objects)
                                 for objects in sorted({s.get("objects") for s in split_shards})},
        }
    (out_dir / "dataset.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    (out_dir / "DATACARD.md").write_text(datacard(cfg, summary))
    return summary


def objects_cell(split: dict) -> str:
    """The datacard's "objects" cell of one split: the catalog split(s) its bins were filled from, with the pairs
    on each when there are two (the unlabeled split, ``unlabeled_test_share``)."""
    by = split["pairs_by_objects"]
    if len(by) == 1:
        return next(iter(by))
    return " + ".join(f"{objects} ({n} pairs)" for objects, n in sorted(by.items(), key=lambda kv: kv[0] != "train"))


def datacard(cfg: GraspDataConfig, summary: dict) -> str:
    rows = "\n".join(f"| {k} | {v['pairs']} | {v['attempts']} | "
                     f"{(v['pairs'] / v['attempts'] if v['attempts'] else float('nan')):.2f} | "
                     f"{objects_cell(v)} | {'yes' if k in LABELED else 'no'} |"
                     for k, v in summary["splits"].items())
    return f"""# Data card: simulated grasp interactions (graspseg §IV-A)

Generated by `robopercept.graspseg.grasp_collection` (pybullet, TinyRenderer on the CPU) at
{cfg.height}x{cfg.width} pixels, seed {summary['seed']}. Layout and file formats:
`robopercept.formats.grasp_pairs`; every parameter: `robopercept.graspseg.config.GraspDataConfig`.

| split | pairs | attempts | success rate | objects | labels |
| --- | --- | --- | --- | --- | --- |
{rows}

**What a sample is.** A suction grasp attempt on a bin of {cfg.min_objects_per_bin}-{cfg.max_objects_per_bin}
objects; only attempts the suction gauge reports as successful are stored: `before.png`, `after.png`
(the after image of one grasp is the before image of the next), `grasp_mask.png` (footprint of the
active cups), sensor depth (uint16 mm) and `record.json`. Labeled splits add the grasped object's
visible and amodal masks, the instance-id image and a COCO file (RLE) of every before image.

**Collection policy.** Deliberately imperfect (`graspseg.collection_policy`): target among the 3 most exposed
objects, under-segmentation with rate {cfg.policy_mask_error_rate}, grasp-point noise
{cfg.policy_point_noise_m} m, angle noise {cfg.policy_angle_noise_deg} deg.

**Nuisances.** Neighbours settle into the hole by physics and are brushed by the gripper with rate
{cfg.neighbour_bump_rate}; lighting changes between images with rate {cfg.light_change_rate}
(strength {cfg.light_change_strength}); specular highlights on glossy objects and the tote
(strength {cfg.specular_strength}); shadows {'on' if cfg.shadows else 'off'}; RGB noise
{cfg.rgb_noise_std} grey levels, depth noise {cfg.depth_noise_std_m} m.

**Differences from the paper's data.** Rendered, not photographed: TinyRenderer's shading, a
procedural catalog instead of retail items, image-space specular highlights, and seal/lift physics
simplified to geometry tests and a force-capped constraint. The labeled splits' train and test objects are
disjoint as in the paper; the unlabeled grasps span both ("We collect 110k grasp image pairs across a variety of
training and test objects", §IV-A): a share {cfg.unlabeled_test_share:g} of the unlabeled shards (the paper gives
none) fills its bins from the test objects.
"""
