"""mlgsl §IV-A (accuracy/recall ground truth) and §V (Table II, clutter removal) as simulated robot
trials.

* :class:`TrialOracle` re-creates a test sample's scene from its ``_scene.json`` and tries grasps
  given in model pixels with the simulated gripper — the ground-truth quality ``q_i`` of §IV-A
  (the paper used a pretrained grasp-quality discriminator [2]; in simulation the trial itself is
  available, so we use it).
* :func:`single_object_trials` — Table II: each test object is dropped on the table
  ``drops_per_object`` times; the planner sees the stereo depth, picks its best grasp (the highest
  peak of Q̂, as the robot of Fig. 1 does) and the gripper executes it. Every method sees the same
  drops. CTPG is the wall time from the depth image to the grasp (pre-processing, network,
  selection), measured separately by :func:`ctpg_ms`. A predicted opening wider than the gripper
  opens is executed fully open.
  Two diagnostic planners separate errors of Ŵ from errors of the grasp point and angle: one ignores the
  predicted width and opens the gripper fully (``fixed_opening_m``); the other (``point_from_label``) takes the
  oracle's label — a confirmed point and angle — and opens the gripper to the network's own Ŵ read at that pixel. If
  the second fails where the oracle succeeds, the network's width is wrong at a right grasp (Ŵ's bias), not the
  pixel-to-gripper conversion the oracle shares with it; its records carry both openings (``label_opening_px``,
  ``planned_opening_px``, stored pixels).
  **Ground truth per drop and the oracle.** Before any planner acts, the drop is labeled exactly as
  the dataset was (:meth:`TableWorld.try_candidates`: the same candidate sampler, gripper and
  success test, on the renderer's depth and mask), so every planner's grasp can be judged by the
  paper's rectangle criterion against *this drop's* labels. That splits each failure into
  *perception* (the grasp is not Jacquard-correct) and *execution* (correct, yet the simulated grasp
  failed), and it gives the **oracle planner**: it executes the drop's most-confirmed label (the one
  that the most other labels match by the rectangle criterion) through the same pixel-to-robot path
  as the networks — the simulator's reference for a planner that perceives perfectly (not a bound: a
  network's grasp can succeed on a drop where the oracle's label fails, or where no label was confirmed).
* :func:`clutter_removal` — §V clutter: ``clutter_objects`` test objects dropped together; the robot
  grasps one at a time (the most confident grasp first); a lifted object is removed and the rest
  settle; a failed attempt is undone (the scene returns to its state before the attempt — a
  simplification: a real failed grasp may nudge objects) and the robot re-plans on a new, noisy
  depth image, taking its next-best grasp after each failure in a row. A run ends when the table is clear or after
  ``max_consecutive_failures`` failures in a row. Removal rate = removed / placed over all runs.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from ..formats.jacquard import GraspRect
from ..reporting.uncertainty import wilson_interval
from ..seed import derive_seed
from ..world.catalog import Catalog
from . import paper
from .config import JacquardDataConfig
from .jacquard_sim import TableWorld, stereo_depth, table_camera
from ..world.jaw_gripper import FINGER_T, TrialResult
from .data import prepare_depth
from .grasps import is_successful
from .metrics import Selection, predict
from .model import GraspFCN


def dataset_config(jacquard_root: str | Path) -> JacquardDataConfig:
    """The config a simulated Jacquard dataset was generated with (its ``plan.json``), so trials
    re-create its table, camera and gripper exactly."""
    plan_fn = Path(jacquard_root) / "plan.json"
    if not plan_fn.exists():
        raise FileNotFoundError(f"{plan_fn} missing: simulated trials need a dataset made by the mlgsl_data stage")
    try:
        config = json.loads(plan_fn.read_text())["config"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as e:
        raise ValueError(f"{plan_fn} is not a dataset plan ({type(e).__name__}: {e}); rerun the mlgsl_data stage") from None
    return JacquardDataConfig.from_mapping(config | {"workers": 1})


def finger_px(data_cfg: JacquardDataConfig) -> float:
    """The gripper's finger thickness in stored pixels (at table height)."""
    return FINGER_T * table_camera(data_cfg.render_size, data_cfg.view_m).pixels_per_meter(0.0)


class TrialOracle:
    """Simulated trials of grasps predicted on stored test samples."""

    def __init__(self, catalog: Catalog, data_cfg: JacquardDataConfig):
        self.world = TableWorld(catalog, data_cfg)
        self.catalog = catalog

    def close(self) -> None:
        self.world.close()

    def __reduce__(self):
        # sent to another process (results.evaluate_runs' workers): a fresh world there, the same catalog and config
        return (TrialOracle, (self.catalog, self.world.cfg))

    def outcomes(self, scene: dict, perfect_depth: np.ndarray, grasps_model_px: list[GraspRect],
                 scale: float) -> list[bool]:
        """Try each grasp (model pixels; ``scale`` = model px per stored px) on the stored scene."""
        if scene is None or "objects" not in scene:
            raise ValueError("this sample has no _scene.json: simulated trials need our simulated samples "
                             "(real Jacquard has no object poses)")
        self.world.place(scene, self.catalog)
        res = []
        for g in grasps_model_px:
            pg = self.world.grasp_from_pixels(perfect_depth, g.scaled(1.0 / scale))
            res.append(self.world.gripper.trial(pg).success)
        return res


@dataclasses.dataclass
class Planner:
    """A trained model + how it reads grasps; ``plan`` goes from a stored-resolution depth image to
    one grasp in stored pixels."""

    name: str
    model: GraspFCN
    sel: Selection
    stored_size: int
    fixed_opening_m: float | None = None  # diagnostic: ignore Ŵ and open the gripper this wide
    point_from_label: bool = False  # diagnostic: the drop's oracle label's point and angle, opened to this Ŵ there

    def maps(self, depth: np.ndarray) -> dict[str, np.ndarray]:
        return predict(self.model, [prepare_depth(depth, self.sel.image_size)])[0]

    def opening_at(self, depth: np.ndarray, row: float, col: float) -> float:
        """The opening (stored pixels) this network predicts at a stored pixel: Ŵ smoothed as
        :meth:`plan` reads it (:func:`robopercept.mlgsl.grasps.smooth_maps`), at the nearest model pixel."""
        from .grasps import smooth_maps

        w = smooth_maps(self.maps(depth), self.sel.sigma)["width"]
        s = self.sel.image_size / self.stored_size
        r = min(w.shape[0] - 1, max(0, int(round(row * s))))
        c = min(w.shape[1] - 1, max(0, int(round(col * s))))
        return max(1.0, float(w[r, c]) * self.sel.width_scale_px) / s

    def plan(self, depth: np.ndarray, k: int = 1) -> list[GraspRect]:
        """Up to ``k`` grasps (stored pixels), best first; none when Q̂ has no peak."""
        m = self.maps(depth)
        return [g.scaled(self.stored_size / self.sel.image_size) for g in self.sel.top(m, k)]


ORACLE = "oracle: most-confirmed ground-truth label [simulator reference]"


def most_confirmed(labels: list[GraspRect]) -> GraspRect | None:
    """The label that the most other labels match by the rectangle criterion (ties: the first)."""
    if not labels:
        return None
    support = [sum(is_successful(g, [h]) for h in labels) for g in labels]
    return labels[int(np.argmax(support))]


def ctpg_ms(planner: Planner, depth: np.ndarray, repeats: int) -> float:
    """Median wall time (ms) of one plan (pre-processing + network + selection), batch 1."""
    planner.plan(depth)  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        planner.plan(depth)
        times.append(time.perf_counter() - t)
    return 1000.0 * float(np.median(times))


def _observe(world: TableWorld, rng: np.random.Generator):
    cfg = world.cfg
    frame = world.observe(rng)
    stereo = stereo_depth(frame.depth, rng, noise_std_m=cfg.stereo_noise_std_m, edge_m=cfg.stereo_edge_m,
                          holes=cfg.stereo_holes)
    return frame, stereo


def _observe_depth(world: TableWorld, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    frame, stereo = _observe(world, rng)
    return frame.depth, stereo


def spread_objects(catalog: Catalog, n_objects: int, n_pool: int) -> list:
    """``n_objects`` test objects evenly spaced over the first ``n_pool`` (the catalog is ordered by
    shape, so the first ``n`` would all be boxes)."""
    pool = catalog.objects("test", limit=n_pool)
    n = min(n_objects, len(pool))
    return [pool[int(i)] for i in np.unique(np.round(np.linspace(0, len(pool) - 1, n)).astype(int))]


def _execute(world: TableWorld, pl: Planner | None, perfect: np.ndarray, g: GraspRect):
    """Run the planned grasp; an opening wider than the gripper's is executed fully open."""
    pg = world.grasp_from_pixels(perfect, g)
    opening = pl.fixed_opening_m if pl is not None and pl.fixed_opening_m is not None else pg.opening
    pg = dataclasses.replace(pg, opening=min(opening, world.gripper.spec.max_opening_m))
    if pg.opening <= FINGER_T:  # the fingers cannot even be placed
        return TrialResult(False, "opening_too_small", None)
    return world.gripper.trial(pg)


OBJECTS_PER_TASK = 5  # objects a worker takes at a time (a fresh world each): small enough to balance the load


def single_object_trials(planners: list[Planner], catalog: Catalog, data_cfg: JacquardDataConfig, n_objects: int,
                         drops: int, seed: int, oracle: bool = True, workers: int = 1) -> list[dict]:
    """One record per (object, drop, planner); every planner sees the same drops. Each drop is first
    labeled as the dataset is; a record says whether the planner's grasp is correct by the rectangle
    criterion against those labels (``correct``; None when the drop has no label) and whether the
    simulated grasp succeeded. ``oracle`` adds the :data:`ORACLE` planner.

    With ``workers`` > 1 the objects are split into runs of :data:`OBJECTS_PER_TASK`, each tried in a fresh world in
    one of ``workers`` processes (the planners at this process's torch thread count); the records come back in object
    order. A drop's rng depends only on (seed, object, drop), and a drop settles in a used world as in a fresh one
    (:meth:`JawGripper.restore` parks the gripper; ``tests/unit/mlgsl/test_robot_drops.py``), so the records are the
    same for any ``workers``."""
    objects = spread_objects(catalog, n_objects, data_cfg.n_test_objects)
    if workers <= 1 or len(objects) <= OBJECTS_PER_TASK:
        return _object_trials(planners, catalog, data_cfg, objects, drops, seed, oracle)
    from ..world.shards import process_pool

    chunks = [objects[i:i + OBJECTS_PER_TASK] for i in range(0, len(objects), OBJECTS_PER_TASK)]
    threads = torch.get_num_threads()
    with process_pool(min(workers, len(chunks))) as pool:
        futures = [pool.submit(_object_trials, planners, catalog, data_cfg, chunk, drops, seed, oracle, threads)
                   for chunk in chunks]
        return [r for f in futures for r in f.result()]


def _object_trials(planners: list[Planner], catalog: Catalog, data_cfg: JacquardDataConfig, objects: list,
                   drops: int, seed: int, oracle: bool, threads: int | None = None) -> list[dict]:
    """:func:`single_object_trials` on ``objects``, in a fresh world (``threads``: torch threads for the planners)."""
    if threads is not None:
        torch.set_num_threads(threads)
    world = TableWorld(catalog, data_cfg)
    records = []
    try:
        for obj in objects:
            for d in range(drops):
                rng = np.random.default_rng(derive_seed(seed, "mlgsl_robot", obj.id, d))
                for _ in range(data_cfg.max_poses_per_sample):
                    (inst,) = world.drop([obj], rng)
                    if world.in_view(inst):
                        break
                in_view = world.in_view(inst)
                world.gripper.save()
                frame, stereo = _observe(world, rng)
                perfect = frame.depth
                label_rng = np.random.default_rng(derive_seed(seed, "mlgsl_robot_labels", obj.id, d))
                labels, tried, n_trials = world.try_candidates((perfect, frame.ids == inst), label_rng,
                                                               data_cfg.labels_per_image, data_cfg.max_trials)
                # why a drop may have no label: the object left the view, every candidate was wider than the gripper
                # opens, or the trials ran and failed
                base = {"object": obj.name, "shape": obj.shape, "drop": d, "n_labels": len(labels),
                        "in_view": in_view, "label_trials": n_trials,
                        "label_candidates_too_wide": int(tried["infeasible"])}
                if oracle:
                    g = most_confirmed(labels)
                    res = (_execute(world, None, perfect, g) if g is not None
                           else TrialResult(False, "no_label", None))
                    records.append({"method": ORACLE, **base, "correct": True if g is not None else None,
                                    "success": res.success, "outcome": res.outcome})
                for pl in planners:
                    if pl.point_from_label:
                        g = most_confirmed(labels)
                        if g is None:
                            records.append({"method": pl.name, **base, "correct": None, "success": False,
                                            "outcome": "no_label"})
                            continue
                        opening = pl.opening_at(stereo, g.row, g.col)
                        mine = dataclasses.replace(g, opening=opening)
                        res = _execute(world, pl, perfect, mine)
                        records.append({"method": pl.name, **base, "correct": is_successful(mine, labels),
                                        "success": res.success, "outcome": res.outcome,
                                        "label_opening_px": g.opening, "planned_opening_px": opening})
                        continue
                    top = pl.plan(stereo)
                    if not top:
                        records.append({"method": pl.name, **base, "correct": False if labels else None,
                                        "success": False, "outcome": "no_grasp"})
                        continue
                    (g,) = top
                    res = _execute(world, pl, perfect, g)
                    records.append({"method": pl.name, **base,
                                    "correct": is_successful(g, labels) if labels else None,
                                    "success": res.success, "outcome": res.outcome})
    finally:
        world.close()
    return records


def success_table(records, methods: list[str] | None = None):
    """Per method: trials, successes, SR with its Wilson 95 % interval, and the failure split —
    perception (grasp not correct by the rectangle criterion against the drop's labels), execution
    (correct, yet the grasp failed), lucky (not correct, yet it lifted the object), no label."""
    import pandas as pd

    rows = []
    for m in methods or list(dict.fromkeys(records["method"])):
        r = records[records["method"] == m]
        k, n = int(r["success"].sum()), len(r)
        lo, hi = wilson_interval(k, n)
        labeled = r[r["correct"].notna()]
        correct = labeled["correct"].astype(bool)
        rows.append({"method": m, "trials": n, "successes": k, "SR (%)": 100.0 * k / n if n else float("nan"),
                     "SR 95% CI (%)": f"{100 * lo:.1f}-{100 * hi:.1f}",
                     "correct by the rectangle metric (%)": 100.0 * correct.mean() if len(labeled) else float("nan"),
                     "failures: perception": int((~correct & ~labeled["success"].astype(bool)).sum()),
                     "failures: execution": int((correct & ~labeled["success"].astype(bool)).sum()),
                     "lucky (incorrect, lifted)": int((~correct & labeled["success"].astype(bool)).sum()),
                     "drops without a label": int(r["correct"].isna().sum())})
    return pd.DataFrame(rows)


def width_table(records, diagnostics: dict[str, str]):
    """The ``point_from_label`` diagnostics beside the oracle, on the drops that have a label: per diagnostic (name →
    the method whose Ŵ it reads), both success rates, the drops the oracle lifts and the same grasp at the network's
    Ŵ does not (Ŵ alone the cause) and the reverse, and the network's opening over the label's (median, quartiles,
    share narrower)."""
    import pandas as pd

    keys = ["object", "drop"]
    oracle = records[records["method"] == ORACLE].set_index(keys)
    if oracle.empty:
        raise ValueError("width_table: the records hold no oracle trial (run single_object_trials with oracle=True)")
    rows = []
    for name, method in diagnostics.items():
        mine = records[records["method"] == name]
        if mine.empty:
            raise ValueError(f"width_table: no records of the diagnostic {name!r}")
        r = mine[mine["correct"].notna()].set_index(keys)
        row = {"network (its Ŵ)": method, "drops with a label": len(r)}
        if r.empty:  # no labelled drop (a tiny smoke run): nothing to compare, a row of NaN rather than an error
            rows.append(row)
            continue
        o, d = oracle.loc[r.index, "success"].astype(bool), r["success"].astype(bool)
        ratio = (r["planned_opening_px"] / r["label_opening_px"]).astype(float)
        q1, q3 = np.percentile(ratio, [25, 75])
        lost = r[o & ~d]["outcome"].value_counts()
        rows.append({**row, "oracle SR (%)": 100.0 * o.mean(), "label point + Ŵ SR (%)": 100.0 * d.mean(),
                     "oracle lifts, Ŵ fails": int((o & ~d).sum()), "Ŵ lifts, oracle fails": int((~o & d).sum()),
                     "Ŵ / label opening (median)": float(np.median(ratio)),
                     "Ŵ / label opening (IQR)": f"{q1:.2f}-{q3:.2f}",
                     "Ŵ narrower than the label (%)": 100.0 * float((ratio < 1).mean()),
                     "outcomes where Ŵ alone failed": ", ".join(f"{k} {v}" for k, v in lost.items()) or "none"})
    return pd.DataFrame(rows)


def seed_bootstrap(records, methods: dict[str, list[str]], n_boot: int, seed: int,
                   pairs: list[tuple[str, str]] = ()):
    """Success rates that carry the spread between trained models, not only between trials.

    ``methods`` maps a method to the planner names (one per training seed) in ``records``; every planner saw the same
    drops (:func:`single_object_trials`). A replicate resamples the drops (shared by all methods: the comparison stays
    paired) and, per method, its seeds; a method's rate is the mean success over the resampled seeds and drops.
    Returns (per method: mean SR over seeds, its 2.5-97.5 % interval, each seed's SR; per pair (a, b): SR(a) − SR(b)
    with its interval and whether the interval excludes 0), in percent."""
    import pandas as pd

    keys = ["object", "drop"]
    drops = records[keys].drop_duplicates().reset_index(drop=True)
    mats = {}
    for m, names in methods.items():
        cols = []
        for name in names:
            r = records[records["method"] == name]
            if r.empty:
                raise ValueError(f"seed_bootstrap: no records of planner {name!r} (method {m!r})")
            x = drops.merge(r[keys + ["success"]], on=keys, how="left")["success"]
            if x.isna().any():
                raise ValueError(f"seed_bootstrap: planner {name!r} did not see every drop")
            cols.append(x.astype(float).to_numpy())
        mats[m] = np.stack(cols)  # (seeds, drops)
    rng = np.random.default_rng(seed)
    n_drops = len(drops)
    reps = {m: np.empty(n_boot) for m in mats}
    for b in range(n_boot):
        idx = rng.integers(0, n_drops, n_drops)
        for m, mat in mats.items():
            reps[m][b] = mat[rng.integers(0, len(mat), len(mat))][:, idx].mean()
    rows = []
    for m, mat in mats.items():
        lo, hi = np.percentile(reps[m], [2.5, 97.5])
        rows.append({"method": m, "seeds": len(mat), "drops": n_drops, "SR mean over seeds (%)": 100 * mat.mean(),
                     "SR 95% interval (%)": f"{100 * lo:.1f}-{100 * hi:.1f}",
                     "SR per seed (%)": " / ".join(f"{100 * v:.1f}" for v in mat.mean(1))})
    diffs = []
    for a, b in pairs:
        d = reps[a] - reps[b]
        lo, hi = np.percentile(d, [2.5, 97.5])
        diffs.append({"pair": f"{a} − {b}", "difference (points)": 100 * (mats[a].mean() - mats[b].mean()),
                      "lo": 100 * lo, "hi": 100 * hi, "order established": bool(lo > 0 or hi < 0)})
    return pd.DataFrame(rows), pd.DataFrame(diffs)


def clutter_removal(planner: Planner, catalog: Catalog, data_cfg: JacquardDataConfig, runs: int, n_objects: int,
                    max_failures: int, seed: int) -> list[dict]:
    """One record per run: placed, removed, attempts, outcome counts."""
    world = TableWorld(catalog, data_cfg)
    pool = catalog.objects("test", limit=data_cfg.n_test_objects)
    out = []
    try:
        for run in range(runs):
            rng = np.random.default_rng(derive_seed(seed, "mlgsl_clutter_run", run))
            objs = [pool[i] for i in rng.choice(len(pool), size=n_objects, replace=False)]
            world.drop(objs, rng, spread_m=0.09)
            insts = [i for i in list(world.scene.placed) if world.in_view(i, margin=0.9)]
            for i in list(world.scene.placed):
                if i not in insts:
                    world.scene.remove(i)
            placed = len(insts)
            removed = attempts = fails = 0
            outcomes: dict[str, int] = {}
            while world.scene.placed and fails < max_failures:
                world.gripper.save()
                perfect, stereo = _observe_depth(world, rng)
                # after k failures on an unchanged scene, the (k+1)-th best grasp (a robot that does not
                # repeat a grasp that just failed)
                top = planner.plan(stereo, k=fails + 1)
                if len(top) <= fails:  # no further peak to try: the planner has nothing left
                    res = TrialResult(False, "no_grasp", None)
                else:
                    res = _execute(world, planner, perfect, top[fails])  # the scene is restored after the trial
                attempts += 1
                outcomes[res.outcome] = outcomes.get(res.outcome, 0) + 1
                if res.success:
                    world.scene.remove(res.target)
                    removed += 1
                    fails = 0
                    world.scene.settle(data_cfg.settle_steps)
                    for i in list(world.scene.placed):  # fell out of view: gone, not removed
                        if not world.in_view(i, margin=1.0):
                            world.scene.remove(i)
                else:
                    fails += 1
            out.append({"method": planner.name, "run": run, "placed": placed, "removed": removed,
                        "attempts": attempts, **{f"n_{k}": v for k, v in outcomes.items()}})
    finally:
        world.close()
    return out


def load_planner(name: str, checkpoint: str | Path, image_size: int, stored_size: int, ecfg,
                 fixed_opening_m: float | None = None, point_from_label: bool = False) -> Planner:
    from .train import load_model

    model, ckpt = load_model(checkpoint)  # channels-last weights (benchmark: python -m robopercept.mlgsl.benchmark)
    return Planner(name, model, Selection.of(image_size, ecfg), stored_size, fixed_opening_m, point_from_label)


# Table II as the paper reports it (real robot; CTPG on a GTX 1060). Reference only.
PAPER_TABLE2 = paper.TABLE2
