"""§VI simulated picking: the planner, the outcome labels, and paired, reproducible trials."""

import numpy as np
import pytest

from robopercept import paths
from robopercept.graspseg.config import GraspDataConfig
from robopercept.graspseg.picking import FAILURES, PlannerSettings, oracle_segmenter, plan_pick, run_trials
from robopercept.world.camera import BinCamera
from robopercept.world.catalog import load_catalog

CFG = GraspDataConfig(height=96, width=144, n_test_objects=10, min_objects_per_bin=3, max_objects_per_bin=5,
                      settle_steps=120)


def test_planner_puts_most_cups_on_a_large_mask_and_respects_scores():
    cam = BinCamera.for_size(CFG.height, CFG.width)
    depth = np.full((CFG.height, CFG.width), cam.eye_height_m - 0.02, np.float32)
    big = np.zeros((CFG.height, CFG.width), bool)
    big[20:80, 30:110] = True
    small = np.zeros_like(big)
    small[5:9, 5:9] = True
    plan = plan_pick(np.stack([small, big]), np.array([0.9, 0.8]), depth, cam, CFG.cup_spacing_m)
    assert plan.mask_index == 1 and plan.cups_on_mask == 5 and all(plan.grasp.active)
    assert plan_pick(np.stack([small, big]), np.array([0.9, 0.3]), depth, cam, CFG.cup_spacing_m).mask_index == 0
    # no mask reaches min_score: the robot still grasps, on the best-scoring masks (a grasp attempt either way)
    low = plan_pick(np.stack([small, big]), np.array([0.2, 0.1]), depth, cam, CFG.cup_spacing_m)
    assert low is not None and low.mask_index == 1 and low.cups_on_mask == 5
    assert plan_pick(np.zeros((0, CFG.height, CFG.width), bool), np.zeros(0), depth, cam, CFG.cup_spacing_m) is None
    with pytest.raises(ValueError, match="min_score"):
        PlannerSettings(min_score=2)


def test_oracle_segmenter_returns_every_instance():
    ids = np.zeros((4, 5), np.int32)
    ids[0, 0], ids[2, 3] = 3, 7
    masks, scores = oracle_segmenter(ids)
    assert masks.shape == (2, 4, 5) and masks[0, 0, 0] and masks[1, 2, 3] and (scores == 1).all()


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(paths.data_dir())


def test_trials_are_paired_and_reproducible(catalog):
    def nothing(rgb):
        return np.zeros((0, *rgb.shape[:2]), bool), np.zeros(0)

    def everything(rgb):  # one mask over the whole image: cups land on whatever is there
        return np.ones((1, *rgb.shape[:2]), bool), np.ones(1)

    models = {"nothing": nothing, "everything": everything, "oracle": None}
    rows, images = run_trials([0, 1, 2], models, CFG, catalog, seed=4, keep_images=[1])
    assert len(rows) == 9 and {r["model"] for r in rows} == set(models)
    assert all(r["failure"] == "no_mask" and not r["success"] for r in rows if r["model"] == "nothing")
    assert all(r["success"] == (r["failure"] is None) and r["failure"] in (None, *FAILURES) for r in rows)
    oracle = [r for r in rows if r["model"] == "oracle"]
    assert any(r["success"] for r in oracle), "the oracle never picked: the simulator's ceiling is broken"
    # the oracle's outcome does not depend on which models ran before it on the same bin
    alone, _ = run_trials([0, 1, 2], {"oracle": None}, CFG, catalog, seed=4)
    assert [{k: v for k, v in r.items()} for r in alone] == oracle
    assert set(images) == {1} and set(images[1]["models"]) == set(models)


def test_sealable_checks_the_sensed_surface_under_the_cup():
    from robopercept.graspseg.picking import sealable

    h, w = 40, 40
    yy, xx = np.mgrid[0:h, 0:w].astype(float)
    mask = np.ones((h, w), bool)
    flat = np.dstack([xx * 0.001, yy * 0.001, np.full((h, w), 0.05)])
    steep = np.dstack([xx * 0.001, yy * 0.001, 0.05 + xx * 0.002])  # 63 degrees
    bumpy = flat.copy()
    bumpy[..., 2] += np.where((xx + yy) % 2 == 0, 0.01, -0.01)
    assert sealable(flat, mask, 20, 20, 4.0, 0.004, 35.0)
    assert not sealable(steep, mask, 20, 20, 4.0, 0.004, 35.0)
    assert not sealable(bumpy, mask, 20, 20, 4.0, 0.004, 35.0)
    half = mask.copy()
    half[:, 21:] = False
    assert not sealable(flat, half, 20, 20, 4.0, 0.004, 35.0)  # the cup hangs over the mask's edge
