"""A Jacquard-like grasp dataset from simulation (mlgsl §III-D; Jacquard [22] was made the same way).

For each sample:

1. a catalog object of the split is dropped on a table at a random orientation and settles
   (re-dropped if it rolls out of view);
2. the overhead camera renders RGB, the renderer's depth ("perfect depth") and the object mask; a
   "stereo" depth is derived from it (:func:`stereo_depth`: noise growing with distance squared,
   holes at depth discontinuities and a few dropout blobs, 0 = no measurement);
3. grasp candidates are drawn — a centre on the object, a uniformly random closing angle, and an
   opening equal to the object's cross-section along that direction (measured in the mask) plus a
   random margin — and each is *tried* with the simulated parallel-jaw gripper
   (:mod:`robopercept.world.jaw_gripper`) from the same settled state, until
   ``labels_per_image`` succeeded or ``max_trials`` were tried. The successful ones are the labels;
   a pose with fewer than ``min_labels`` successes is dropped (the object is re-dropped);
4. the sample is written in Jacquard's on-disk format (:mod:`robopercept.formats.jacquard`),
   plus a ``_scene.json`` sidecar (object, pose) so later stages can re-run trials.

Shards of ``shard_size`` samples run on the one shard runner (:mod:`robopercept.world.shards`), each
in a fresh table world, so their bytes depend only on (this code, data/, parameters, seed, split,
shard index): not on the worker count, the order shards ran in, or an interrupted earlier run.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import time
from collections import Counter
from concurrent.futures import Executor
from pathlib import Path

import cv2
import numpy as np

from ..formats import jacquard
from ..seed import derive_seed
from ..world.camera import CAMERA_HEIGHT_M, BinCamera
from ..world.catalog import Catalog, CatalogObject, load_catalog
from ..world.jaw_gripper import FINGER_T as FINGER_T_M  # noqa: F401  (re-exported for mlgsl.robot)
from ..world.jaw_gripper import GripperSpec, JawGripper, PlanarGrasp
from ..world.scene import BinScene, Lighting
from ..world.shards import Shard, plan_identity, run_plan
from .config import JacquardDataConfig

# The plan identity hashes this module and everything it imports (robopercept.codedeps.closure).
CODE_MODULES = ("robopercept.mlgsl.jacquard_sim",)
SPLITS = ("train", "test")
TABLE_ROLLING_FRICTION = 0.01  # a table mat: round objects stop rolling instead of leaving the view


def table_camera(size: int, view_m: float) -> BinCamera:
    """Overhead square camera spanning ``view_m`` metres of table at ``size`` pixels."""
    fov = 2 * math.degrees(math.atan((view_m / 2) / CAMERA_HEIGHT_M))
    return BinCamera(size, size, fov)


def gripper_spec(cfg: JacquardDataConfig) -> GripperSpec:
    return GripperSpec(max_opening_m=cfg.max_opening_m, grip_force_n=cfg.grip_force_n, depth_m=cfg.grasp_depth_m,
                       jaw_m=cfg.jaw_m)


def stereo_depth(perfect: np.ndarray, rng: np.random.Generator, *, noise_std_m: float, edge_m: float,
                 holes: int) -> np.ndarray:
    """A stereo-like depth image from the renderer's depth: Gaussian noise with std
    ``noise_std_m * (z / 0.75 m)²``, holes (0) where the depth jumps by more than ``edge_m`` inside a
    3x3 window (occlusion boundaries a stereo matcher cannot resolve) and ``holes`` random blobs."""
    z = perfect.astype(np.float32)
    noisy = z + rng.normal(0.0, 1.0, z.shape).astype(np.float32) * noise_std_m * (z / CAMERA_HEIGHT_M) ** 2
    if edge_m > 0:
        k = np.ones((3, 3), np.uint8)
        jump = cv2.dilate(z, k) - cv2.erode(z, k)
        noisy[jump > edge_m] = 0.0
    h, w = z.shape
    for _ in range(holes):
        blob = np.zeros((h, w), np.uint8)
        center = (int(rng.integers(w)), int(rng.integers(h)))
        axes = (int(rng.integers(1, max(2, w // 25))), int(rng.integers(1, max(2, h // 25))))
        cv2.ellipse(blob, center, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        noisy[blob > 0] = 0.0
    return noisy


def cross_section_px(mask: np.ndarray, row: float, col: float, angle: float,
                     step: float = 0.5) -> tuple[float, float]:
    """How far the object's mask extends from (row, col) along the closing direction, forwards and
    backwards, in pixels (walking until the mask ends)."""
    d = np.array([math.cos(angle), -math.sin(angle)])  # (dcol, drow) for a counter-clockwise angle
    h, w = mask.shape
    reach = []
    for sign in (1, -1):
        t = 0.0
        while True:
            t += step
            c, r = col + sign * t * d[0], row + sign * t * d[1]
            ri, ci = int(round(r)), int(round(c))
            if not (0 <= ri < h and 0 <= ci < w) or not mask[ri, ci]:
                break
        reach.append(t - step / 2)
    return reach[0], reach[1]


def centred_candidate(mask: np.ndarray, row: int, col: int, angle: float,
                      jaw_px: float = 0.0) -> tuple[float, float, float]:
    """Move (row, col) along the closing direction to the middle of the object's extent within the
    band the jaws sweep (``jaw_px`` wide, measured on 5 parallel lines), so the grasp is centred
    between its contacts; return (row, col, width_px)."""
    n = np.array([math.sin(angle), math.cos(angle)])  # (drow, dcol) perpendicular to the closing direction
    fwd = back = 0.0
    for off in np.linspace(-jaw_px / 2, jaw_px / 2, 5 if jaw_px > 0 else 1):
        f, b = cross_section_px(mask, row + off * n[0], col + off * n[1], angle)
        fwd, back = max(fwd, f), max(back, b)
    shift = (fwd - back) / 2
    return row - shift * math.sin(angle), col + shift * math.cos(angle), fwd + back


def plan_shards(cfg: JacquardDataConfig, seed: int) -> list[Shard]:
    shards = []
    for split, n in (("train", cfg.n_train), ("test", cfg.n_test)):
        for i, start in enumerate(range(0, n, cfg.shard_size)):
            shards.append(Shard(f"{split}/shard_{i:05d}", min(cfg.shard_size, n - start),
                                derive_seed(seed, "mlgsl", split, i), (("split", split), ("first", start))))
    return shards


class TableWorld:
    """A table scene with the camera and the gripper, reused across samples."""

    def __init__(self, catalog: Catalog, cfg: JacquardDataConfig):
        self.cfg = cfg
        self.camera = table_camera(cfg.render_size, cfg.view_m)
        self.scene = BinScene(catalog, self.camera, tote=False)
        self.gripper = JawGripper(self.scene, gripper_spec(cfg))

    def close(self) -> None:
        self.scene.close()

    def drop(self, objects: list[CatalogObject], rng: np.random.Generator, spread_m: float = 0.02) -> list[int]:
        """Drop ``objects`` near the view centre (random orientations) and let them settle."""
        sc = self.scene
        sc.clear()
        insts = []
        for k, obj in enumerate(objects):
            q = rng.normal(size=4)
            q /= np.linalg.norm(q)
            z = 0.5 * max(obj.extents) + 0.01 + 0.06 * k
            inst = sc.spawn(obj, [rng.uniform(-spread_m, spread_m), rng.uniform(-spread_m, spread_m), z], q.tolist())
            sc.p.changeDynamics(sc.placed[inst].body, -1, rollingFriction=TABLE_ROLLING_FRICTION,
                                physicsClientId=sc.cid)
            insts.append(inst)
        sc.settle(self.cfg.settle_steps)
        return insts

    def place(self, scene: dict, catalog: Catalog) -> list[int]:
        """Re-create a stored sample's objects at their recorded poses (``_scene.json``) and save the
        state for trials (no settling: the poses were recorded at rest)."""
        sc = self.scene
        sc.clear()
        insts = []
        for o in scene["objects"]:
            inst = sc.spawn(catalog.get(int(o["object_id"])), o["position"], o["orientation"])
            sc.p.changeDynamics(sc.placed[inst].body, -1, rollingFriction=TABLE_ROLLING_FRICTION,
                                physicsClientId=sc.cid)
            insts.append(inst)
        self.gripper.save()
        return insts

    def grasp_from_pixels(self, depth: np.ndarray, g: jacquard.GraspRect) -> PlanarGrasp:
        """A grasp rectangle in this camera's pixels -> the world grasp the robot executes (centre
        back-projected through the depth at the centre; opening scaled at that height)."""
        h, w = depth.shape
        r = min(h - 1.0, max(0.0, g.row))
        c = min(w - 1.0, max(0.0, g.col))
        x, y, z = self.pixel_to_world(depth, r, c)
        return PlanarGrasp(x, y, g.angle, g.opening / self.meters_to_pixels(max(z, 0.0)))

    def in_view(self, inst: int, margin: float = 0.7) -> bool:
        x, y, z = self.scene.pose(inst)[0]
        half = self.cfg.view_m / 2 * margin
        return abs(x) < half and abs(y) < half and -0.01 < z < 0.3

    def observe(self, rng: np.random.Generator):
        light = Lighting(direction=(float(rng.uniform(-1, 1)), float(rng.uniform(-1, 1)), 2.0))
        return self.scene.render(light, shadows=False)

    def pixel_to_world(self, depth: np.ndarray, row: float, col: float) -> tuple[float, float, float]:
        K = self.camera.K
        h, w = depth.shape
        z = float(depth[min(h - 1, max(0, int(round(row)))), min(w - 1, max(0, int(round(col))))])
        x_c = (col + 0.5 - K[0, 2]) / K[0, 0] * z
        y_c = (row + 0.5 - K[1, 2]) / K[1, 1] * z
        p = self.camera.T_world_from_camera @ np.array([x_c, y_c, z, 1.0])
        return float(p[0]), float(p[1]), float(p[2])

    def meters_to_pixels(self, z_world: float) -> float:
        return self.camera.pixels_per_meter(z_world)

    def try_candidates(self, rgb_depth_mask, rng: np.random.Generator, n_success: int, max_trials: int):
        """Draw and try candidates on the current (saved) scene; return labels and outcome counts."""
        cfg = self.cfg
        depth, mask = rgb_depth_mask
        rows, cols = np.nonzero(mask)
        labels: list[jacquard.GraspRect] = []
        outcomes: Counter = Counter()
        trials = 0
        jaw_px = cfg.jaw_m * self.meters_to_pixels(0.0)
        draws = 0
        while trials < max_trials and draws < 4 * max_trials and len(labels) < n_success and len(rows):
            draws += 1
            k = int(rng.integers(len(rows)))
            r, c = int(rows[k]), int(cols[k])
            angle = float(rng.uniform(-math.pi / 2, math.pi / 2))
            rc, cc, width_px = centred_candidate(mask, r, c, angle, jaw_px)
            if not (0 <= round(rc) < mask.shape[0] and 0 <= round(cc) < mask.shape[1]):
                outcomes["centre_outside_view"] += 1  # the object leaves the image there
                continue
            x, y, z = self.pixel_to_world(depth, rc, cc)
            ppm = self.meters_to_pixels(max(z, 0.0))
            opening = width_px / ppm + float(rng.uniform(cfg.opening_margin_min_m, cfg.opening_margin_max_m))
            if opening > cfg.max_opening_m:  # wider than the gripper opens: not a candidate
                outcomes["infeasible"] += 1
                continue
            res = self.gripper.trial(PlanarGrasp(x, y, angle, opening))
            trials += 1
            outcomes[res.outcome] += 1
            if res.success:
                labels.append(jacquard.GraspRect(float(rc), float(cc), angle, opening * ppm, cfg.jaw_m * ppm))
        return labels, outcomes, trials


def _sample(world: TableWorld, obj: CatalogObject, rng: np.random.Generator, sample_id: str):
    cfg = world.cfg
    outcomes: Counter = Counter()
    trials = 0
    for pose_try in range(cfg.max_poses_per_sample):
        (inst,) = world.drop([obj], rng)
        if not world.in_view(inst):
            outcomes["rolled_away"] += 1
            continue
        world.gripper.save()
        frame = world.observe(rng)
        mask = frame.ids == inst
        if mask.sum() < 9:
            outcomes["too_small"] += 1
            continue
        labels, oc, n = world.try_candidates((frame.depth, mask), rng, cfg.labels_per_image, cfg.max_trials)
        outcomes.update(oc)
        trials += n
        if len(labels) < cfg.min_labels:
            outcomes["pose_dropped"] += 1
            continue
        pos, orn = world.scene.pose(inst)
        stereo = stereo_depth(frame.depth, rng, noise_std_m=cfg.stereo_noise_std_m, edge_m=cfg.stereo_edge_m,
                              holes=cfg.stereo_holes)
        scene = {"objects": [{"object_id": obj.id, "name": obj.name, "position": np.round(pos, 6).tolist(),
                              "orientation": np.round(orn, 6).tolist()}],
                 "trials": n, "successes": len(labels)}
        sample = jacquard.JacquardSample(sample_id, frame.rgb, frame.depth, stereo, mask, labels, scene)
        return sample, outcomes, trials
    return None, outcomes, trials


def sample_shard(shard: Shard, folder: Path, *, cfg: JacquardDataConfig, data_dir: str) -> dict:
    """The runner's task: ``shard.count`` samples written to ``folder``, in a fresh table world."""
    catalog = load_catalog(data_dir)
    split, first = shard.get("split"), shard.get("first")
    world = TableWorld(catalog, cfg)
    rng = np.random.default_rng(shard.seed)
    limit = cfg.n_test_objects if split == "test" else cfg.n_train_objects
    pool = catalog.objects(split, limit=limit)
    stats = {"samples": 0, "trials": 0, "labels": 0, "skipped_objects": 0, "outcomes": Counter(),
             "per_shape": {}}
    t0 = time.perf_counter()
    try:
        k = 0
        while stats["samples"] < shard.count:
            obj = pool[int(rng.integers(len(pool)))]
            sid = f"{first + stats['samples']:06d}_{obj.name}"
            sample, oc, n = _sample(world, obj, rng, sid)
            stats["trials"] += n
            stats["outcomes"].update(oc)
            shape = stats["per_shape"].setdefault(obj.shape, {"samples": 0, "trials": 0, "labels": 0, "skipped": 0})
            shape["trials"] += n
            if sample is None:
                stats["skipped_objects"] += 1
                shape["skipped"] += 1
            else:
                jacquard.write_sample(folder, sample)
                stats["samples"] += 1
                stats["labels"] += len(sample.grasps)
                shape["samples"] += 1
                shape["labels"] += len(sample.grasps)
            k += 1
            if k > 50 * shard.count:
                raise RuntimeError(f"{shard.key}: gave up, fewer than {cfg.min_labels} successful grasps "
                                   "on almost every object (check the gripper parameters)")
    finally:
        world.close()
    stats["outcomes"] = dict(sorted(stats["outcomes"].items()))
    stats["_timing"] = {"wall_s": round(time.perf_counter() - t0, 3)}  # handed back, never written
    return stats


def identity(cfg: JacquardDataConfig, seed: int, data_dir: str | Path) -> dict:
    """What the dataset's bytes depend on (stored in plan.json; any change starts over)."""
    return plan_identity(generator="mlgsl Jacquard-like samples", config=dataclasses.asdict(cfg), seed=seed,
                         code_modules=CODE_MODULES, inputs={"data": data_dir})


def generate(cfg: JacquardDataConfig, seed: int, data_dir: str | Path, out_dir: str | Path, *,
             progress: bool = True, executor: Executor | None = None) -> dict:
    """Generate (or resume) the dataset in ``out_dir``; return the summary written to dataset.json
    plus this call's log (``generated_now``, ``wall_s_now``, ``timing_s`` — not written anywhere)."""
    from .. import paths
    from ..config import ConfigError

    data_dir, out_dir = paths.resolve(data_dir), paths.resolve(out_dir)
    catalog = load_catalog(data_dir)
    for split, n, key in (("train", cfg.n_train_objects, "n_train_objects"), ("test", cfg.n_test_objects,
                                                                              "n_test_objects")):
        try:
            catalog.objects(split, limit=n)
        except ValueError as e:
            raise ConfigError(f"mlgsl_data.{key}: {e}") from None
    shards = plan_shards(cfg, seed)
    task = functools.partial(sample_shard, cfg=cfg, data_dir=str(data_dir))
    res = run_plan(out_dir, identity(cfg, seed, data_dir), shards, task, workers=cfg.workers, executor=executor,
                   progress=progress, desc="samples", unit="sample")
    camera = table_camera(cfg.render_size, cfg.view_m)
    (out_dir / "camera.json").write_text(json.dumps(camera.as_dict(), indent=1) + "\n")
    summary: dict = {"seed": seed, "render_size": cfg.render_size, "view_m": cfg.view_m,
                     "jaw_m": cfg.jaw_m, "splits": {}}
    for split in SPLITS:
        shard_stats = [res.stats[s.key] for s in shards if s.get("split") == split]
        outcomes: Counter = Counter()
        per_shape: dict = {}
        for sh in shard_stats:
            outcomes.update(sh["outcomes"])
            for shape, v in sh["per_shape"].items():
                acc = per_shape.setdefault(shape, Counter())
                acc.update(v)
        summary["splits"][split] = {
            "samples": sum(sh["samples"] for sh in shard_stats), "trials": sum(sh["trials"] for sh in shard_stats),
            "labels": sum(sh["labels"] for sh in shard_stats),
            "skipped_objects": sum(sh["skipped_objects"] for sh in shard_stats),
            "outcomes": dict(sorted(outcomes.items())),
            "per_shape": {k: dict(sorted(v.items())) for k, v in sorted(per_shape.items())},
        }
    (out_dir / "dataset.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    log = {"generated_now": sum(s.count for s in shards if s.key in res.generated), "wall_s_now": round(res.wall_s, 2),
           "workers": cfg.workers, "repaired_shards": res.repaired, "timing_s": res.timing_total()}
    return {**summary, **log}
