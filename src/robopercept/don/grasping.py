"""§IV-G the grasp experiment (Table V), as simulated grasps.

    "we took a single RGB image of each object, we manually selected two pixels to denote an axis, and extracted
    the respective descriptors d1, d2. In the test scenes, we find the respective predictions for each descriptor
    and calculate their world-coordinate representations p̃1, p̃2. [...] We performed three grasp attempts for every
    object we used for training, rotating the scene by 45 degrees for each attempt [...] The respective setup and
    orientation was kept identical for both networks. In total, we executed 24 grasp attempts per setting and
    model." (§IV-G)

**Here**, per known object (the 8 of :func:`robopercept.don.scenes.known_objects`):

* **the reference image** — the object alone on the table, seen from one pose of the recording arc
  (``reference_elevation_deg``); the "manually selected" axis is chosen by rule: the long axis of the object's
  visible surface (principal axis of its back-projected pixels), the two keypoints at the centroid ± ``keypoint_offset``
  of the half-length along it. Each keypoint's pixel gives the descriptors d1, d2 (per model) and its point on the
  object, kept in the object's frame;
* **the test scenes** of the three settings — *Singulated* (the object alone), *Multi-Object, Isolated* (all 8 known
  objects plus ``distractors`` unknown ones, their footprint circles at least ``isolated_gap_m`` apart),
  *Multi-Object, Packed* (the same objects packed around the centre with gaps of ``packed_gap_m``: neighbours almost
  touch). Objects stand upright at a random yaw, placed one by one as close to the centre as the gap allows (a greedy
  packing; footprint circles cannot overlap, so nothing is pushed at spawn). One base layout per (setting, object),
  rotated by 0, 45, 90 degrees for the three attempts; the same scenes for every model;
* **the grasp** ("as in [11]", whose details the paper does not give): the wrist camera's view (the arc's distance,
  ``camera_elevation_deg``, aimed at the point where the target was placed — the paper "arranged the scene such that
  the target object can be detected"; its neighbours are in view too) is rendered with the recordings' sensor noise; each model finds the best match of d1, d2
  (cosine for NT-Xent models, L2 for pixelwise ones, as in evaluation), their depth gives p̃1, p̃2; the jaw gripper
  (:mod:`robopercept.world.jaw_gripper`, opened fully) goes top-down to the midpoint of p̃1, p̃2 with its jaws closing
  across the axis p̃1 → p̃2. A trial succeeds when the gripper lifts the *target* object ("combined detection and
  grasp success"): lifting a neighbour is a failure (``wrong_object``);
* **the oracle** — ground-truth correspondences: the object-frame keypoints moved by the object's true pose and
  projected into the test image; from there the same depth look-up, grasp and gripper. Its failures are the
  grasp rule's and the gripper's (an occluded keypoint, a neighbour in the way): the simulator's reference ceiling
  (not a strict bound: a wrong match can land somewhere graspable). The paper "arranged the scene such that the
  target object can be detected and grasped successfully"; we do not rearrange, so :func:`table5` also reports each
  method's success on the trials the oracle lifted (the closest match to the paper's feasible scenes).

Models: Table V's two rows are Table I's "Pixelwise + Cross-Object" (the cross-object DON of [1]) and "NT-Xent +
Multi-Object + Augmentations" (ours), every trained seed of each. A **control** row the paper does not have: the
network training starts from (the stand-in backbone and a freshly initialised head, matched by cosine), never trained
on correspondences — what the pipeline achieves without learned descriptors (a lone object on an empty table is
found by almost any features).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path

import numpy as np

from ..seed import derive_seed
from ..world.shards import Shard, plan_identity, recorded_config, run_plan
from .config import DonDataConfig
from .config_grasp import SETTINGS, DonGraspConfig

ORACLE = "Oracle (ground-truth correspondences)"
CONTROL = "Untrained network (control)"
TABLE5_ROWS = {"Pixelwise Cross-Object": "Pixelwise + Cross-Object", "Ours": "NT-Xent + Multi-Object + Augmentations"}
CODE_MODULES = ("robopercept.don.grasping", "robopercept.don.config_grasp", "robopercept.don.model",
                "robopercept.don.metrics", "robopercept.don.losses", "robopercept.don.correspondence",
                "robopercept.don.scenes", "robopercept.world.jaw_gripper", "robopercept.world.wrist_camera",
                "robopercept.world.scene")


def camera(data: DonDataConfig, elevation_deg: float, radius_m: float, azimuth_deg: float = 0.0,
           at: tuple[float, float] = (0.0, 0.0)):
    """A pose at the recording arc's distance and an elevation of its range, looking at the table point ``at`` (the
    arc's poses look at the centre)."""
    from ..world.wrist_camera import PosedCamera, look_at

    el, az = math.radians(elevation_deg), math.radians(azimuth_deg)
    target = np.array([at[0], at[1], 0.02])
    eye = target + radius_m * np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
    return PosedCamera.at(look_at(eye, target), data.height, data.width)


def _spawn_upright(scene, obj, x: float, y: float, yaw: float) -> int:
    q = scene.p.getQuaternionFromEuler([0.0, 0.0, yaw])
    return scene.spawn(obj, [x, y, obj.extents[2] / 2 + 0.003], q)


def _rotation(orn) -> np.ndarray:
    import pybullet as p

    return np.array(p.getMatrixFromQuaternion(list(orn))).reshape(3, 3)


def _noisy(rgb: np.ndarray, rng: np.random.Generator, std: float) -> np.ndarray:
    return np.clip(rgb + rng.normal(0, std, rgb.shape), 0, 255).astype(np.uint8)


def keypoints_on(world: np.ndarray, offset: float) -> np.ndarray:
    """Two target points (2, 2) in the table plane on the long axis of a point set (N, 3): centroid ± ``offset`` of
    the half-length along the principal axis of the points' x, y."""
    xy = world[:, :2]
    c = xy.mean(0)
    _, _, vt = np.linalg.svd(xy - c, full_matrices=False)
    axis = vt[0] if vt[0][0] >= 0 else -vt[0]  # a fixed sign: the same keypoint is "1" in every run
    proj = (xy - c) @ axis
    mid, half = (proj.max() + proj.min()) / 2, (proj.max() - proj.min()) / 2
    return np.stack([c + axis * (mid - offset * half), c + axis * (mid + offset * half)])


def reference(obj, catalog, cfg: DonGraspConfig, data: DonDataConfig, seed: int) -> dict:
    """The object's reference image and its two keypoints: pixels ``uv`` (2, 2) and points in the object frame
    ``local`` (2, 3)."""
    from ..world.scene import BinScene
    from .correspondence import backproject

    cam = camera(data, cfg.reference_elevation_deg, cfg.camera_radius_m)
    rng = np.random.default_rng(seed)
    with BinScene(catalog, cam, tote=False) as scene:
        inst = _spawn_upright(scene, obj, 0.0, 0.0, 0.0)
        scene.settle(cfg.settle_steps)
        f = scene.render(camera=cam)
        pos, orn = scene.pose(inst)
    mask = f.ids == inst
    if mask.sum() < 10:
        raise ValueError(f"{obj.name}: fewer than 10 pixels in its reference image; the camera misses it")
    world = backproject(f.depth, cam.K, cam.pose)
    vs, us = np.nonzero(mask)
    pts = world[vs, us]
    targets = keypoints_on(pts, cfg.keypoint_offset)
    uv, local = [], []
    R = _rotation(orn)
    for t in targets:
        j = int(np.argmin(np.linalg.norm(pts[:, :2] - t, axis=1) - 1e-3 * pts[:, 2]))  # the top surface there
        uv.append([us[j], vs[j]])
        local.append(R.T @ (pts[j] - pos))
    return {"rgb": _noisy(f.rgb, rng, data.rgb_noise_std), "uv": np.array(uv, dtype=np.int64),
            "local": np.array(local), "pixels": int(mask.sum())}


def footprint_radius(obj) -> float:
    """Radius of the circle around an upright object's footprint (any yaw stays inside it)."""
    return float(math.hypot(obj.extents[0], obj.extents[1]) / 2)


def pack(radii: list[float], gap: float, rng: np.random.Generator, step: float = 0.005) -> list[tuple[float, float]]:
    """Centres of circles of ``radii`` (in that order), each as close to the origin as the earlier ones allow with at
    least ``gap`` between circles: candidates on rings of growing radius, at a random phase."""
    placed: list[tuple[float, float, float]] = []
    for r in radii:
        ring = 0.0
        while True:
            n = max(1, int(2 * math.pi * ring / step))
            phase = rng.uniform(0, 2 * math.pi)
            for a in phase + 2 * math.pi * np.arange(n) / n:
                x, y = ring * math.cos(a), ring * math.sin(a)
                if all(math.hypot(x - px, y - py) >= r + pr + gap for px, py, pr in placed):
                    break
            else:
                ring += step
                continue
            placed.append((x, y, r))
            break
    return [(x, y) for x, y, _ in placed]


def layout(cfg: DonGraspConfig, setting: str, target: int, known_radii: list[float], pool_radii: list[float],
           attempt: int, seed: int) -> list[tuple[str, int, float, float, float]]:
    """(kind, index, x, y, yaw) of every object of one test scene: kind "known" (index into the known objects) or
    "unknown" (index into the distractor pool). One base layout per (setting, target): the objects in a random order,
    each packed (:func:`pack`) with the setting's gap; attempt ``a`` rotates it by ``a · rotation_deg`` about the
    table centre."""
    rng = np.random.default_rng(derive_seed(seed, "don_grasp_layout", setting, target))
    rot = math.radians(attempt * cfg.rotation_deg)
    if setting == "Singulated":
        items = [("known", target, 0.0, 0.0, float(rng.uniform(0, math.pi)))]
    else:
        chosen = [("known", k) for k in range(len(known_radii))] + [
            ("unknown", int(i)) for i in rng.choice(len(pool_radii), size=min(cfg.distractors, len(pool_radii)),
                                                    replace=False)]
        chosen = [chosen[i] for i in rng.permutation(len(chosen))]
        radii = [known_radii[i] if kind == "known" else pool_radii[i] for kind, i in chosen]
        gap = cfg.isolated_gap_m if setting == "Multi-Object, Isolated" else cfg.packed_gap_m
        centres = pack(radii, gap, rng)
        items = [(kind, i, x, y, float(rng.uniform(0, math.pi))) for (kind, i), (x, y) in zip(chosen, centres)]
    c, s = math.cos(rot), math.sin(rot)
    return [(k, i, c * x - s * y, s * x + c * y, yaw + rot) for k, i, x, y, yaw in items]


def grasp_from_keypoints(p1: np.ndarray, p2: np.ndarray, opening: float):
    """Top-down grasp at the midpoint of two world points, jaws closing across the axis p1 → p2."""
    from ..world.jaw_gripper import PlanarGrasp

    mid = (p1 + p2) / 2
    axis = math.atan2(p2[1] - p1[1], p2[0] - p1[0])
    return PlanarGrasp(float(mid[0]), float(mid[1]), axis + math.pi / 2, opening)


def load_models(models_dir: Path, keys: dict[str, list[str]]) -> dict[tuple[str, int], tuple[object, str]]:
    """(Table V row, seed) -> (model, metric) for every checkpoint named in ``keys`` (row -> model keys by seed)."""
    from .model import load_trained

    return {(row, k): load_trained(Path(models_dir) / key / "model.pt") for row, ks in keys.items()
            for k, key in enumerate(ks)}


def control_model(control: dict):
    """The untrained control: ``DenseDescriptorNet(descriptor_dim, backbone)`` with the head initialised from
    ``seed`` and the body from ``checkpoint`` (the stand-in) when one is named."""
    import torch

    from .model import DenseDescriptorNet, load_standin_backbone

    torch.manual_seed(int(control["seed"]))
    m = DenseDescriptorNet(int(control["descriptor_dim"]), control["backbone"], normalize=not control.get("checkpoint"))
    if control.get("checkpoint"):
        load_standin_backbone(m, control["checkpoint"])
    return m.eval(), "cosine"


def _trial_shard(shard: Shard, folder: Path, *, cfg: DonGraspConfig, data: DonDataConfig, data_dir: str,
                 models_dir: str, keys: dict[str, list[str]], control: dict | None) -> dict:
    import torch

    from ..world.catalog import Catalog, load_catalog
    from ..world.jaw_gripper import GripperSpec, JawGripper
    from ..world.scene import BinScene
    from .correspondence import backproject, project
    from .losses import pick
    from .metrics import best_match
    from .scenes import TWIN_ID_OFFSET, known_objects

    torch.set_num_threads(1)
    setting, target = shard.get("setting"), int(shard.get("target"))
    catalog = load_catalog(data_dir)
    known = known_objects(catalog)
    known_ids = {o.id for o in known}
    pool = [o for o in catalog.objects("test") if o.id not in known_ids and o.id + TWIN_ID_OFFSET not in known_ids]
    catalog = Catalog(root=catalog.root, items=tuple(catalog.items) + tuple(o for o in known if o.id >= TWIN_ID_OFFSET))
    # one reference image per object, the same in every setting ("a single RGB image of each object")
    ref = reference(known[target], catalog, cfg, data, int(shard.get("reference_seed")))
    known_r, pool_r = [footprint_radius(o) for o in known], [footprint_radius(o) for o in pool]
    models = load_models(Path(models_dir), keys)
    if control is not None:
        models[(CONTROL, 0)] = control_model(control)
    ref_img = torch.from_numpy(ref["rgb"]).permute(2, 0, 1).float()[None] / 255
    with torch.no_grad():
        ref_desc = {mk: pick(m(ref_img)[0], torch.from_numpy(ref["uv"])) for mk, (m, _) in models.items()}
    diag = math.hypot(data.height, data.width)
    records = []
    for attempt in range(cfg.attempts_per_object):
        rng = np.random.default_rng(derive_seed(shard.seed, "attempt", attempt))
        items = layout(cfg, setting, target, known_r, pool_r, attempt, shard.seed)
        placed = next((x, y) for kind, i, x, y, _ in items if kind == "known" and i == target)
        cam = camera(data, cfg.camera_elevation_deg, cfg.camera_radius_m, at=placed)
        with BinScene(catalog, cam, tote=False) as scene:
            insts = [_spawn_upright(scene, known[i] if kind == "known" else pool[i], x, y, yaw)
                     for kind, i, x, y, yaw in items]
            target_inst = next(inst for inst, (kind, i, *_r) in zip(insts, items) if kind == "known" and i == target)
            scene.settle(cfg.settle_steps)
            f = scene.render(camera=cam)
            rgb = _noisy(f.rgb, rng, data.rgb_noise_std)
            pos, orn = scene.pose(target_inst)
            true_w = ref["local"] @ _rotation(orn).T + pos
            true_uv, _ = project(true_w, cam.K, cam.pose)
            world = backproject(f.depth, cam.K, cam.pose)
            visible = int((f.ids == target_inst).sum())
            gripper = JawGripper(scene, GripperSpec(max_opening_m=cfg.max_opening_m))
            gripper.save()
            img = torch.from_numpy(rgb).permute(2, 0, 1).float()[None] / 255
            preds: dict[tuple[str, int], np.ndarray | None] = {}
            rounded = np.rint(true_uv).astype(np.int64)
            inside = ((rounded[:, 0] >= 0) & (rounded[:, 0] < data.width) & (rounded[:, 1] >= 0)
                      & (rounded[:, 1] < data.height)).all()
            preds[(ORACLE, 0)] = rounded if inside else None
            with torch.no_grad():
                for mk, (m, metric) in models.items():
                    preds[mk] = best_match(ref_desc[mk], m(img)[0], metric)
            for (row, seed), uv in preds.items():
                rec = {"method": row, "seed": seed, "setting": setting, "object": known[target].name,
                       "attempt": attempt, "target_pixels": visible}
                if uv is None:
                    records.append({**rec, "success": False, "outcome": "not_in_view", "keypoint_err_pct": math.nan})
                    continue
                err = float(np.linalg.norm(uv - true_uv, axis=1).mean() / diag * 100)
                p = world[uv[:, 1], uv[:, 0]]
                if not np.isfinite(p).all():
                    records.append({**rec, "success": False, "outcome": "no_depth", "keypoint_err_pct": err})
                    continue
                r = gripper.trial(grasp_from_keypoints(p[0], p[1], cfg.max_opening_m))
                ok = bool(r.success and r.target == target_inst)
                outcome = r.outcome if not (r.success and not ok) else "wrong_object"
                records.append({**rec, "success": ok, "outcome": outcome, "keypoint_err_pct": err})
    return {"records": records}


def scene_image(cfg: DonGraspConfig, data: DonDataConfig, data_dir: str | Path, setting: str, target: int,
                attempt: int, seed: int) -> np.ndarray:
    """The wrist camera's view of one test scene (as the trials see it, without sensor noise), for figures."""
    from ..world.catalog import Catalog, load_catalog
    from ..world.scene import BinScene
    from .scenes import TWIN_ID_OFFSET, known_objects

    catalog = load_catalog(data_dir)
    known = known_objects(catalog)
    known_ids = {o.id for o in known}
    pool = [o for o in catalog.objects("test") if o.id not in known_ids and o.id + TWIN_ID_OFFSET not in known_ids]
    catalog = Catalog(root=catalog.root, items=tuple(catalog.items) + tuple(o for o in known if o.id >= TWIN_ID_OFFSET))
    items = layout(cfg, setting, target, [footprint_radius(o) for o in known], [footprint_radius(o) for o in pool],
                   attempt, derive_seed(seed, "don_grasp", setting, target))
    placed = next((x, y) for kind, i, x, y, _ in items if kind == "known" and i == target)
    cam = camera(data, cfg.camera_elevation_deg, cfg.camera_radius_m, at=placed)
    with BinScene(catalog, cam, tote=False) as scene:
        for kind, i, x, y, yaw in items:
            _spawn_upright(scene, known[i] if kind == "known" else pool[i], x, y, yaw)
        scene.settle(cfg.settle_steps)
        return scene.render(camera=cam).rgb


def run_grasps(cfg: DonGraspConfig, data: DonDataConfig, data_dir: Path, models_dir: Path,
               keys: dict[str, list[str]], out_dir: Path, seed: int, control: dict | None = None, executor=None,
               progress: bool = True):
    """Every trial of every setting for the oracle, each model of ``keys`` (Table V row -> model keys by seed) and
    the untrained ``control`` (:func:`control_model`'s dict; None: no control row); one shard per (setting, object).
    Returns the trial records (a DataFrame, one row per method, seed and trial)."""
    import pandas as pd

    from .scenes import known_objects
    from ..world.catalog import load_catalog

    unknown = [r for r in keys if r not in TABLE5_ROWS]
    if unknown:
        raise ValueError(f"unknown Table V rows {unknown}; rows: {list(TABLE5_ROWS)}")
    missing = [k for ks in keys.values() for k in ks if not (Path(models_dir) / k / "model.pt").is_file()]
    if missing:
        raise FileNotFoundError(f"{models_dir}: no checkpoint for {missing}; run the don_train stage first")
    n_known = len(known_objects(load_catalog(data_dir)))
    shards = [Shard(f"{s}__{k}".replace(", ", "_").replace(" ", "_").replace("-", "_"), cfg.attempts_per_object,
                    derive_seed(seed, "don_grasp", s, k),
                    (("setting", s), ("target", k), ("reference_seed", derive_seed(seed, "don_grasp_reference", k))))
              for s in cfg.settings for k in range(n_known)]
    inputs = {"models": models_dir, "data": data_dir}
    if control is not None and control.get("checkpoint"):
        inputs["control_backbone"] = Path(control["checkpoint"]).parent
    ident = plan_identity(generator="don grasp trials", config={**dataclasses.asdict(cfg), "keys": keys,
                                                                "data": recorded_config(dataclasses.asdict(data)),
                                                                "control": {k: str(v) for k, v in (control or {}).items()
                                                                            if k != "checkpoint"}},
                          seed=seed, code_modules=CODE_MODULES, inputs=inputs)
    task = functools.partial(_trial_shard, cfg=cfg, data=data, data_dir=str(data_dir), models_dir=str(models_dir),
                             keys=keys, control=control)
    res = run_plan(out_dir, ident, shards, task, workers=cfg.workers, executor=executor, progress=progress,
                   desc="DON grasp trials", unit="object")
    return pd.DataFrame([r for s in shards for r in res.stats[s.key]["records"]])


def table5(records, n_boot: int, seed: int):
    """Table V (rows: oracle and models; columns: success % per setting and overall with their 95 % intervals, the
    same on the trials the oracle lifted (``<setting> (oracle-feasible)``), the median keypoint error in % of the
    frame diagonal) and the bootstrap replicates (seeds per row; the trials resampled per setting, shared by every
    row, **by object**: an object's attempts in a setting are rotations of one base layout (:func:`layout`), so they
    are resampled together, as one cluster — a bootstrap over single trials would treat them as independent and draw
    its intervals too narrow)."""
    import pandas as pd

    from ..reporting.uncertainty import Ratio, bootstrap, interval

    if records.empty:
        raise ValueError("table5: no grasp trials")
    trials = records.assign(trial=records.setting + "/" + records.object + "/" + records.attempt.astype(str),
                            success=records.success.astype(float))
    oracle = trials[trials.method == ORACLE].set_index("trial").success
    trials["feasible"] = trials.trial.map(oracle).fillna(0.0)  # the oracle lifted the target in this trial
    trials["success_feasible"] = trials.success * trials.feasible
    units = (trials.assign(unit=trials.setting + "/" + trials.object, attempts=1.0)
             .groupby(["method", "seed", "setting", "unit"], as_index=False, sort=False)
             [["success", "attempts", "feasible", "success_feasible"]].sum())
    both = pd.concat([units.assign(group=units.setting), units.assign(group="Overall")], ignore_index=True)
    settings = [s for s in SETTINGS if s in set(records.setting)]
    ratios = {s: Ratio(group=s, num="success", den="attempts") for s in settings + ["Overall"]}
    ratios |= {f"{s} (oracle-feasible)": Ratio(group=s, num="success_feasible", den="feasible")
               for s in settings + ["Overall"]}
    point, reps = bootstrap(both, ratios, row_key="method", n_boot=n_boot, seed=seed)
    for s in settings + ["Overall"]:
        point = point.merge(interval(reps, s), on="method")
    kp = records.groupby("method").keypoint_err_pct.median().rename("keypoint_err_pct")
    trials = records.groupby("method").size().rename("trials")
    seeds = records.groupby("method").seed.nunique().rename("seeds")
    point = point.merge(kp, on="method").merge(trials, on="method").merge(seeds, on="method")
    order = [ORACLE] + [r for r in (*TABLE5_ROWS, CONTROL) if r in set(point.method)]
    point = point.set_index("method").loc[order].reset_index()
    for r in reps:
        r["keypoint_err_pct"] = r.method.map(kp)
    return point, reps
