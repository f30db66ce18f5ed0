"""The grid suction gripper (9 cups on a 3 x 3 grid): layout, the planner over predicted masks, and its checks."""

import math

import numpy as np
import pytest

from robopercept.world.camera import BinCamera
from robopercept.world.suction_grid import GridGripper, PlannerSettings, plan_grid_pick

H, W = 128, 192


def flat_depth(cam, height_m=0.02):
    return np.full((H, W), cam.eye_height_m - height_m, np.float32)


def test_grid_layout_is_centred_square_and_rotates_about_the_vertical():
    g = GridGripper(spacing_m=0.03)
    off = g.offsets()
    assert off.shape == (9, 2) and np.allclose(off.mean(0), 0) and g.n_cups == 9
    assert np.isclose(np.abs(off).max(), 0.03)
    turned = g.cup_xy(0.1, -0.05, math.pi / 2)
    assert np.allclose(np.sort(np.linalg.norm(turned - [0.1, -0.05], axis=1)), np.sort(np.linalg.norm(off, axis=1)))
    # a square grid turned by 90 degrees lands on the same set of points
    assert np.allclose(np.sort(turned, axis=0), np.sort(g.cup_xy(0.1, -0.05, 0.0), axis=0))


def test_planner_lands_all_cups_on_a_large_mask_and_only_those_inside_a_narrow_one():
    cam = BinCamera.for_size(H, W)
    g = GridGripper()
    big = np.zeros((H, W), bool)
    big[30:100, 50:140] = True  # ~20 x 25 cm at this scale: the whole grid fits
    plan = plan_grid_pick(big[None], np.array([0.9]), flat_depth(cam), cam, g)
    assert plan.mask_index == 0 and plan.cups_on_mask == 9 and all(plan.active)
    # the plan's centre is inside the mask, at the mask's surface
    u, v = cam.world_to_pixel(np.array([[plan.x, plan.y, 0.02]]))[0]
    assert big[int(v), int(u)]
    narrow = np.zeros((H, W), bool)
    narrow[60:72, 20:170] = True  # one row of cups wide (cup spacing ~9 px, radius ~3 px)
    plan = plan_grid_pick(narrow[None], np.array([0.9]), flat_depth(cam), cam, g)
    assert plan.cups_on_mask == 3 and sum(plan.active) == 3


def test_planner_prefers_more_cups_then_score_and_falls_back_below_min_score():
    cam = BinCamera.for_size(H, W)
    g = GridGripper()
    big = np.zeros((H, W), bool)
    big[30:100, 50:140] = True
    other = np.zeros((H, W), bool)
    other[5:20, 150:190] = True  # 15 px tall: one row of cups fits
    masks = np.stack([other, big])
    assert plan_grid_pick(masks, np.array([0.9, 0.6]), flat_depth(cam), cam, g).mask_index == 1
    assert plan_grid_pick(masks, np.array([0.9, 0.3]), flat_depth(cam), cam, g).mask_index == 0  # big is below 0.5
    low = plan_grid_pick(masks, np.array([0.2, 0.1]), flat_depth(cam), cam, g)
    assert low is not None and low.mask_index == 1  # nothing reaches min_score: every mask is a candidate
    tie = plan_grid_pick(np.stack([big, big]), np.array([0.6, 0.8]), flat_depth(cam), cam, g)
    assert tie.mask_index == 1  # equal cups: the higher score
    assert plan_grid_pick(np.zeros((0, H, W), bool), np.zeros(0), flat_depth(cam), cam, g) is None
    tiny = np.zeros((1, H, W), bool)
    tiny[0, 10, 10] = True
    assert plan_grid_pick(tiny, np.ones(1), flat_depth(cam), cam, g) is None  # no cup fits


@pytest.mark.parametrize("kwargs, field", [({"rows": 0}, "rows"), ({"cup_radius_m": 0.02}, "cup_radius_m"),
                                           ({"min_sealed": 10}, "min_sealed"), ({"cup_force_n": 0}, "cup_force_n")])
def test_gripper_rejects_bad_settings_naming_them(kwargs, field):
    with pytest.raises(ValueError, match=field):
        GridGripper(**kwargs)


def test_planner_settings_reject_bad_values():
    with pytest.raises(ValueError, match="inside_fraction"):
        PlannerSettings(inside_fraction=0)
    with pytest.raises(ValueError, match="n_angles"):
        PlannerSettings(n_angles=0)


def test_execution_single_double_and_no_seal_on_a_simulated_bin(tmp_path):
    """Two flat items side by side: the grid on one of them lifts it alone; across both it seals on two (a double
    pick); over the empty tote floor nothing seals."""
    from robopercept.latentmrcnn.config import LatentDataConfig
    from robopercept.latentmrcnn.scenes import apparel_catalog
    from robopercept.world.scene import BinScene
    from robopercept.world.suction_grid import GridPlan, execute_grid_pick

    cat = apparel_catalog("val", LatentDataConfig(families_per_split=1, families_per_bin=1), 0, tmp_path)
    item = max(cat.items, key=lambda o: o.extents[0] * o.extents[1])
    cam = BinCamera.for_size(H, W)
    g = GridGripper()
    half = item.extents[0] / 2
    with BinScene(cat, cam) as scene:
        a = scene.spawn(item, (-half - 0.002, 0, item.extents[2] / 2 + 0.001), (0, 0, 0, 1))
        b = scene.spawn(item, (half + 0.002, 0, item.extents[2] / 2 + 0.001), (0, 0, 0, 1))
        scene.settle(120)
        frame = scene.render()
        state = scene.p.saveState(physicsClientId=scene.cid)
        z = item.extents[2]
        x_a = float(scene.pose(a)[0][0])
        outcomes = {}
        for name, x in (("on_a", x_a), ("across", 0.0), ("floor", 0.0)):
            scene.p.restoreState(state, physicsClientId=scene.cid)
            y = 0.12 if name == "floor" else 0.0  # beyond the items' depth: the tote floor
            plan = GridPlan(x, y, 0.0, (True,) * 9, 0, 1.0, z)
            outcomes[name] = execute_grid_pick(scene, plan, frame, g)
    assert outcomes["on_a"].outcome == "single" and outcomes["on_a"].sealed_cups >= 6
    assert outcomes["across"].outcome == "double" and outcomes["across"].objects_sealed == 2
    assert outcomes["floor"].outcome == "no_seal" and outcomes["floor"].objects_sealed == 0
    assert execute_grid_pick(None, None, frame, g).outcome == "no_mask"
