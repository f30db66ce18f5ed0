"""mlgsl's simulated robot: a drop and its labels do not depend on what the planners did on the drop before.

The robot trials share one pybullet world. A trial moves the gripper's holding constraint to the grasp and lifts;
``JawGripper.restore`` puts bodies back but not that constraint's target, so unless the gripper is parked first, the
next drop settles with the gripper pulled back to where the last planner grasped — and the drop's pose, its labels and
the oracle's success would depend on a trained network's output (so on the CPU that trained it). Session 28 found
this from two machines' robot tables that disagreed on drops without a label (36 vs 44 of 300)."""

import hashlib

import numpy as np
import pytest

from robopercept import paths
from robopercept.formats.jacquard import GraspRect
from robopercept.mlgsl.config import JacquardDataConfig
from robopercept.mlgsl.jacquard_sim import TableWorld
from robopercept.mlgsl import robot
from robopercept.mlgsl.robot import single_object_trials
from robopercept.world.catalog import load_catalog
from robopercept.world.jaw_gripper import PlanarGrasp


class _Fixed:
    """A stand-in planner that always grasps at the same pixel (no network)."""

    fixed_opening_m = None
    point_from_label = False

    def __init__(self, name: str, row: float, col: float, angle: float):
        self.name, self.g = name, GraspRect(row, col, angle, 40.0, 10.0)

    def plan(self, depth, k: int = 1):
        return [self.g]


def _drops(planners, monkeypatch):
    """Per drop: the md5 of the depth image it is labelled on (the settled pose, to the last bit), its label count
    and the oracle's outcome."""
    seen = []
    label = robot.TableWorld.try_candidates

    def spy(self, target, *a, **k):
        seen.append(hashlib.md5(target[0].tobytes()).hexdigest())
        return label(self, target, *a, **k)

    monkeypatch.setattr(robot.TableWorld, "try_candidates", spy)
    cfg = JacquardDataConfig(render_size=64, n_test_objects=4, labels_per_image=4, max_trials=12,
                             max_poses_per_sample=2)
    recs = single_object_trials(planners, load_catalog(paths.data_dir()), cfg, n_objects=1, drops=3, seed=5,
                                oracle=True)
    oracle = [(r["n_labels"], r["outcome"]) for r in recs if r["method"].startswith("oracle")]
    return list(zip(seen, oracle))


def test_a_drop_and_its_labels_do_not_depend_on_the_previous_planners_grasp(monkeypatch):
    # two planners that grasp near the object's centre at different angles: their trials move the gripper differently
    a, b = _Fixed("a", 32.0, 32.0, 0.3), _Fixed("b", 30.0, 34.0, 1.0)
    alone = _drops([], monkeypatch)
    assert len(alone) == 3 and all(n for _, (n, _) in alone)  # three labelled drops
    assert _drops([a], monkeypatch) == alone
    assert _drops([b], monkeypatch) == alone


class _LabelPoint:
    """A stand-in for the ``point_from_label`` diagnostic: it predicts the opening ``opening_of(row, col)``."""

    fixed_opening_m = None
    point_from_label = True

    def __init__(self, name: str, opening_of):
        self.name, self.opening_of = name, opening_of

    def opening_at(self, depth, row: float, col: float) -> float:
        return self.opening_of(row, col)


def test_the_label_point_diagnostic_executes_the_oracles_grasp_at_the_networks_width(monkeypatch):
    """Given the oracle label's own opening it is the oracle (same drops, same outcomes); given a width too small for
    the fingers it fails every labelled drop — the row isolates Ŵ at a right grasp point and angle."""
    chosen = {}
    pick = robot.most_confirmed

    def spy(labels):
        g = pick(labels)
        if g is not None:
            chosen[(g.row, g.col)] = g.opening
        return g

    monkeypatch.setattr(robot, "most_confirmed", spy)
    same = _LabelPoint("same", lambda r, c: chosen[(r, c)])
    tiny = _LabelPoint("tiny", lambda r, c: 0.5)
    cfg = JacquardDataConfig(render_size=64, n_test_objects=4, labels_per_image=4, max_trials=12,
                             max_poses_per_sample=2)
    recs = single_object_trials([same, tiny], load_catalog(paths.data_dir()), cfg, n_objects=1, drops=3, seed=5)
    by = {m: [r for r in recs if r["method"] == m] for m in ("same", "tiny")}
    oracle = [r for r in recs if r["method"].startswith("oracle")]
    assert len(oracle) == len(by["same"]) == len(by["tiny"]) == 3 and all(r["n_labels"] for r in oracle)
    assert [(r["success"], r["outcome"]) for r in by["same"]] == [(r["success"], r["outcome"]) for r in oracle]
    assert all(r["correct"] and r["planned_opening_px"] == r["label_opening_px"] for r in by["same"])
    assert any(r["success"] for r in oracle)  # the comparison means something: the oracle lifts on some drop
    assert all(r["outcome"] == "opening_too_small" and not r["success"] and r["planned_opening_px"] == 0.5
               for r in by["tiny"])
    import pandas as pd

    w = robot.width_table(pd.DataFrame(recs), {"same": "A", "tiny": "B"}).set_index("network (its Ŵ)")
    assert w.loc["A", "label point + Ŵ SR (%)"] == w.loc["A", "oracle SR (%)"] and w.loc["A", "oracle lifts, Ŵ fails"] == 0
    assert w.loc["A", "Ŵ / label opening (median)"] == 1.0 and w.loc["A", "Ŵ narrower than the label (%)"] == 0
    lifted = sum(bool(r["success"]) for r in oracle)
    assert w.loc["B", "oracle lifts, Ŵ fails"] == lifted and w.loc["B", "Ŵ narrower than the label (%)"] == 100
    assert w.loc["B", "outcomes where Ŵ alone failed"] == f"opening_too_small {lifted}"


def _trials_then_drops(fresh_world_each_drop: bool) -> list:
    """Three drops of catalog objects, four grasps on each (around the object's centre): every trial's outcome and
    lift to the nanometre."""
    cfg = JacquardDataConfig(render_size=64)
    cat = load_catalog(paths.data_dir())
    rng = np.random.default_rng(3)
    pool = cat.objects("train", limit=12)
    out, world = [], None
    for k in range(3):
        if world is None or fresh_world_each_drop:
            if world is not None:
                world.close()
            world = TableWorld(cat, cfg)
        (inst,) = world.drop([pool[k * 4]], rng)
        world.gripper.save()
        x, y = world.scene.pose(inst)[0][:2]
        for a in np.linspace(0, 3, 4):
            r = world.gripper.trial(PlanarGrasp(float(x), float(y), float(a), 0.08))
            out.append((r.outcome, r.target, round(r.lift_m or 0.0, 9)))
    world.close()
    return out


def test_after_trials_a_new_drop_settles_as_in_a_fresh_world():
    """The mechanism, in the world itself (``JawGripper.restore`` parks the gripper): drops made after trials in one
    world give the trials that drops in fresh worlds give, byte for byte."""
    same_world = _trials_then_drops(False)
    assert same_world == _trials_then_drops(True)
    assert any(o == "lifted" for o, _, _ in same_world)  # real grasps ran (the gripper moved and lifted)


def _records(rates: dict[str, float], n_drops: int = 40):
    """Synthetic trial records: planner ``name`` succeeds on the first ``rate * n_drops`` drops."""
    import pandas as pd

    rows = []
    for name, rate in rates.items():
        for d in range(n_drops):
            rows.append({"method": name, "object": f"o{d % 8}", "drop": d // 8, "success": d < round(rate * n_drops)})
    return pd.DataFrame(rows)


def test_seed_bootstrap_carries_the_spread_between_seeds():
    # A: three seeds that agree at 50 %; B: seeds at 0 %, 100 %, 50 % (the same mean, far more spread);
    # C: seeds at 100 %. Drops are shared: A and C differ on the same drops.
    recs = _records({"A0": 0.5, "A1": 0.5, "A2": 0.5, "B0": 0.0, "B1": 1.0, "B2": 0.5, "C0": 1.0, "C1": 1.0, "C2": 1.0})
    methods = {"A": ["A0", "A1", "A2"], "B": ["B0", "B1", "B2"], "C": ["C0", "C1", "C2"]}
    table, pairs = robot.seed_bootstrap(recs, methods, 400, 0, [("C", "A"), ("B", "A")])
    t = table.set_index("method")
    assert t.loc["A", "SR mean over seeds (%)"] == t.loc["B", "SR mean over seeds (%)"] == 50.0
    assert t.loc["B", "SR per seed (%)"] == "0.0 / 100.0 / 50.0" and (t.seeds == 3).all() and (t.drops == 40).all()
    width = {m: float(np.subtract(*map(float, t.loc[m, "SR 95% interval (%)"].split("-")[::-1]))) for m in "AB"}
    assert width["B"] > 2 * width["A"]  # the seeds' disagreement widens B's interval
    p = pairs.set_index("pair")
    assert p.loc["C − A", "order established"] and p.loc["C − A", "difference (points)"] == 50.0
    assert not p.loc["B − A", "order established"]  # same mean, wide seeds: no order
    again, _ = robot.seed_bootstrap(recs, methods, 400, 0, [("C", "A")])
    assert again.equals(table)  # deterministic under its seed


def test_seed_bootstrap_names_a_planner_without_records():
    recs = _records({"A0": 0.5})
    with pytest.raises(ValueError, match="no records of planner 'A1'"):
        robot.seed_bootstrap(recs, {"A": ["A0", "A1"]}, 10, 0)


def _network_planner(name: str, seed: int, size: int = 64):
    """A real planner (picklable: it goes to worker processes) with a random network."""
    import torch

    from robopercept.mlgsl.metrics import Selection
    from robopercept.mlgsl.model import GraspFCN

    torch.manual_seed(seed)
    model = GraspFCN().to(memory_format=torch.channels_last).eval()
    return robot.Planner(name, model, Selection(size), size)


def test_the_drops_give_the_same_records_on_two_workers_as_in_one_world():
    """``single_object_trials(workers=2)`` splits the objects into runs of OBJECTS_PER_TASK, each in a fresh world in
    a worker process: the records (every drop's labels, outcomes and the planners' grasps) are those of one world."""
    cfg = JacquardDataConfig(render_size=64, n_test_objects=12, labels_per_image=4, max_trials=8,
                             max_poses_per_sample=2)
    planners = [_network_planner("net a", 0), _network_planner("net b", 1)]
    cat = load_catalog(paths.data_dir())
    n_objects = robot.OBJECTS_PER_TASK + 2  # two tasks, the second starting in a fresh world mid-list
    one = single_object_trials(planners, cat, cfg, n_objects=n_objects, drops=1, seed=7)
    two = single_object_trials(planners, cat, cfg, n_objects=n_objects, drops=1, seed=7, workers=2)
    assert len(one) == n_objects * 3 and one == two
    assert any(r["n_labels"] for r in one)  # labelled drops: the oracle and the planners tried grasps


def test_a_stored_scene_gives_the_same_trials_after_another_scene_and_in_a_pickled_oracle():
    """``results.evaluate_runs(workers=2)`` sends its TrialOracle to worker processes: it pickles as a fresh world, and a
    stored scene placed after another scene's trials gives the trials it gives in that fresh world."""
    import pickle

    cfg = JacquardDataConfig(render_size=64)
    cat = load_catalog(paths.data_dir())
    rng = np.random.default_rng(11)
    pool = cat.objects("test", limit=8)
    world = TableWorld(cat, cfg)
    scenes = []
    try:
        for obj in (pool[5], pool[0]):  # a pouch, then a box
            (inst,) = world.drop([obj], rng)
            pos, orn = world.scene.pose(inst)
            frame = world.observe(rng)
            row, col = np.argwhere(frame.ids == inst).mean(0)
            grasps = [GraspRect(row + dr, col + dc, a, 20.0, 5.0) for dr, dc in ((0, 0), (1, -1), (-1, 1))
                      for a in (0.0, 0.8, 1.6)]
            scenes.append(({"objects": [{"object_id": obj.id, "position": np.round(pos, 6).tolist(),
                                          "orientation": np.round(orn, 6).tolist()}]}, frame.depth, grasps))
    finally:
        world.close()
    used = robot.TrialOracle(cat, cfg)
    used.outcomes(*scenes[0], 1.0)
    after_other = used.outcomes(*scenes[1], 1.0)
    fresh = pickle.loads(pickle.dumps(used))
    used.close()
    assert fresh.world is not used.world and fresh.world.cfg == cfg
    try:
        assert fresh.outcomes(*scenes[1], 1.0) == after_other
    finally:
        fresh.close()
    assert any(after_other) and not all(after_other)  # real trials: some grasps lift the box, some fail
