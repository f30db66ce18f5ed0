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
    # the oracle's planned mask is a true instance, never grouped, split or on nothing; its bin has no errors
    assert all(r["planned_mask"] == "good" and r["objects_split"] == r["objects_missed"] == r["masks_grouped"] ==
               r["masks_on_nothing"] == 0 for r in oracle)
    # one mask over the whole bin groups every object (or, on a sparse bin, lies mostly on no object)
    assert all(r["planned_mask"] in ("grouped", "non_object") for r in rows if r["model"] == "everything")
    assert all(r["planned_mask"] is None for r in rows if r["model"] == "nothing")


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


def test_mask_diagnosis_names_the_segmentation_error_under_the_planned_mask():
    from robopercept.graspseg.picking import DiagnosisSettings, mask_diagnosis, scene_errors

    ids = np.zeros((20, 40), np.int32)
    ids[2:12, 2:12] = 1  # object 1: 100 px
    ids[2:12, 14:24] = 2  # object 2: 100 px, beside it
    ids[14:17, 30:33] = 3  # object 3: a 9-px sliver, below min_object_px
    d = DiagnosisSettings(min_object_px=50)
    m = lambda y0, y1, x0, x1: np.pad(np.ones((y1 - y0, x1 - x0), bool), ((y0, 20 - y1), (x0, 40 - x1)))
    whole1, whole2 = m(2, 12, 2, 12), m(2, 12, 14, 24)
    top1, bottom1 = m(2, 6, 2, 12), m(6, 12, 2, 12)  # 40 % and 60 % of object 1
    both = m(2, 12, 2, 24)  # objects 1 and 2 and the gap between them
    floor = m(17, 20, 0, 40)
    masks = np.stack([whole1, whole2, top1, bottom1, both, floor])
    assert mask_diagnosis(0, masks, [0, 1], ids, d) == "good"
    assert mask_diagnosis(4, masks, [4], ids, d) == "grouped"
    assert mask_diagnosis(5, masks, [5], ids, d) == "non_object"
    assert mask_diagnosis(2, masks, [2, 3], ids, d) == "split"  # another candidate covers the rest of object 1
    assert mask_diagnosis(2, masks, [2, 1], ids, d) == "partial"  # nothing else on object 1
    assert mask_diagnosis(2, masks, [2, 3], ids, DiagnosisSettings(split_coverage=0.3, min_object_px=50)) == "good"
    # a duplicate, a superset, or a grouping mask over the same object does not make a partial mask split
    for other in (top1, whole1, both):
        assert mask_diagnosis(0, np.stack([top1, other]), [0, 1], ids, d) == "partial"
    # a sliver of a neighbour (below group_share of the mask) does not make a mask grouped, nor does a sliver object
    assert mask_diagnosis(0, np.stack([whole1 | m(2, 3, 14, 16)]), [0], ids, d) == "good"
    # a large mask swallowing a whole second object groups it even when that object is a small share of the mask
    big = np.zeros((20, 40), bool)
    big[0:20, 0:13] = True  # object 1 (100 px) and 160 px of floor
    ids2 = ids.copy()
    ids2[14:20, 4:9] = 4  # object 4: 30 px, all inside the big mask (30 / 260 < group_share)
    assert mask_diagnosis(0, np.stack([big]), [0], ids2, DiagnosisSettings(min_object_px=20)) == "grouped"
    assert scene_errors(masks, [0, 1], ids, d) == {"objects_split": 0, "objects_missed": 0, "masks_grouped": 0,
                                                   "masks_on_nothing": 0}
    assert scene_errors(masks, [2, 3, 4, 5], ids, d) == {"objects_split": 1, "objects_missed": 0, "masks_grouped": 1,
                                                         "masks_on_nothing": 1}
    # a duplicate of a good mask does not split the object; an object no mask covers is missed (the sliver is not)
    assert scene_errors(np.stack([whole1, whole1]), [0, 1], ids, d) == {
        "objects_split": 0, "objects_missed": 1, "masks_grouped": 0, "masks_on_nothing": 0}
    # masks under 4 pixels are not grasp targets: not counted as masks on nothing
    tiny = np.zeros((20, 40), bool)
    tiny[19, 39] = True
    assert scene_errors(np.stack([whole1, whole2, tiny]), [0, 1, 2], ids, d)["masks_on_nothing"] == 0
    with pytest.raises(ValueError, match="group_share"):
        DiagnosisSettings(group_share=0.7)
