"""The suction gripper, the policy and the nuisances on constructed scenes."""

import math

import numpy as np
import pytest

from robopercept.world.camera import BinCamera
from robopercept.world.catalog import load_catalog
from robopercept.world.nuisance import initial_lighting, next_lighting, normals_from_depth, observe
from robopercept.graspseg.collection_policy import choose_grasp
from robopercept.world.scene import BinScene, Frame, Lighting
from robopercept.world.suction import Grasp, cup_pixels, grasp_mask, lift, seal_cups

CAM = BinCamera.for_size(96, 144)


def test_cup_layout_is_a_plus():
    g = Grasp(0.1, -0.05, math.pi / 2, (True,) * 5)
    xy = g.cup_xy(0.02)
    np.testing.assert_allclose(xy[0], [0.1, -0.05])
    np.testing.assert_allclose(np.linalg.norm(xy[1:] - xy[0], axis=1), 0.02)
    np.testing.assert_allclose(xy[1], [0.1, -0.03], atol=1e-12)  # rotated 90 deg: +x cup now at +y


def _flat(depth_value=0.7):
    return np.full((CAM.height_px, CAM.width_px), depth_value, np.float32)


def test_seal_on_flat_single_object_but_not_on_an_edge_or_two_objects():
    depth = _flat()
    ids = np.ones_like(depth, np.int32)
    discs = cup_pixels(CAM, depth, np.array([[0.0, 0.0]]), 0.009)
    (s,) = seal_cups(discs, depth, ids, CAM, flatness_tol=0.003, max_angle_deg=30)
    assert s.sealed and s.instance == 1 and s.residual_m < 1e-6 and s.angle_deg < 1
    step = depth.copy()
    step[:, : CAM.width_px // 2] -= 0.03  # a 3 cm step under the cup
    (s,) = seal_cups(discs, step, ids, CAM, flatness_tol=0.003, max_angle_deg=30)
    assert not s.sealed
    two = ids.copy()
    two[:, : CAM.width_px // 2] = 2
    (s,) = seal_cups(discs, depth, two, CAM, flatness_tol=0.003, max_angle_deg=30)
    assert not s.sealed


def test_grasp_mask_is_the_active_cups():
    discs = cup_pixels(CAM, _flat(), Grasp(0, 0, 0, (True,) * 5).cup_xy(0.022), 0.009)
    g_all = grasp_mask(discs, [True] * 5)
    g_mid = grasp_mask(discs, [True, False, False, False, False])
    assert g_mid.sum() * 4 <= g_all.sum() <= g_mid.sum() * 5.5
    assert not (g_mid & ~g_all).any()


@pytest.fixture(scope="module")
def scene():
    cat = load_catalog()
    with BinScene(cat, CAM) as s:
        yield s


def test_lift_depends_on_force(scene):
    obj = max(load_catalog().objects("train"), key=lambda o: o.mass)
    scene.clear()
    inst = scene.spawn(obj, [0, 0, obj.extents[2] / 2 + 0.002], [0, 0, 0, 1])
    scene.settle(120)
    weight = obj.mass * 9.81
    assert not lift(scene, inst, 0.5 * weight, 0.1)
    scene.settle(120)
    assert lift(scene, inst, 3 * weight, 0.1)


def test_policy_targets_a_visible_object(scene):
    cat = load_catalog()
    scene.clear()
    rng = np.random.default_rng(0)
    scene.drop(cat.objects("train")[:4], rng, 120)
    f = scene.render()
    g, target = choose_grasp(f.ids, f.depth, CAM, rng, spacing=0.02, point_noise_m=0, angle_noise_deg=0,
                             mask_error_rate=0)
    assert target in scene.placed and g.active[0]
    u, v = CAM.world_to_pixel(np.array([[g.x, g.y, 0.0]]))[0]
    # with no noise the middle cup sits on the target (projected at the floor, so allow a few pixels)
    win = f.ids[int(v) - 3: int(v) + 4, int(u) - 3: int(u) + 4]
    assert (win == target).any()
    assert choose_grasp(np.zeros_like(f.ids), f.depth, CAM, rng, spacing=0.02, point_noise_m=0,
                        angle_noise_deg=0, mask_error_rate=0) is None


def test_amodal_covers_visible_and_restores_poses(scene):
    cat = load_catalog()
    scene.clear()
    scene.drop(cat.objects("train")[10:18], np.random.default_rng(1), 120)
    before = {i: scene.pose(i) for i in scene.placed}
    f = scene.render()
    amodal = scene.amodal_masks(list(scene.placed))
    for i, m in amodal.items():
        assert not ((f.ids == i) & ~m).any()
    for i, (p, q) in before.items():
        np.testing.assert_array_equal(scene.pose(i)[0], p)
    np.testing.assert_array_equal(scene.render().rgb, f.rgb)


def test_lighting_chain():
    rng = np.random.default_rng(0)
    light = initial_lighting(rng)
    assert next_lighting(light, 0.0, 0.3, rng) == light
    changed = next_lighting(light, 1.0, 0.3, rng)
    assert changed != light and changed.direction[2] > 0


def test_observe_without_nuisances_is_the_clean_render():
    rgb = np.full((CAM.height_px, CAM.width_px, 3), 100, np.uint8)
    frame = Frame(rgb=rgb, depth=_flat(), ids=np.zeros(rgb.shape[:2], np.int32), lighting=Lighting())
    out, depth = observe(frame, CAM, np.zeros(rgb.shape[:2], np.float32), np.random.default_rng(0),
                         specular_strength=0.0, rgb_noise_std=0.0, depth_noise_std_m=0.0)
    np.testing.assert_array_equal(out, rgb)
    np.testing.assert_array_equal(depth, frame.depth)
    shiny, _ = observe(frame, CAM, np.ones(rgb.shape[:2], np.float32), np.random.default_rng(0),
                       specular_strength=1.0, rgb_noise_std=0.0, depth_noise_std_m=0.0)
    assert shiny.max() > 200 and (shiny >= rgb).all()  # a highlight appears, nothing darkens
    n = normals_from_depth(_flat(), CAM)
    np.testing.assert_allclose(n[5:-5, 5:-5, 2], 1, atol=1e-6)
