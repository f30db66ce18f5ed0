"""The simulated parallel-jaw gripper: hand-placed grasps on a box, determinism, dataset pieces."""

import math

import numpy as np
import pytest

from robopercept.world.catalog import load_catalog
from robopercept.mlgsl.config import JacquardDataConfig
from robopercept.mlgsl.jacquard_sim import TableWorld, centred_candidate, cross_section_px, stereo_depth
from robopercept.world.jaw_gripper import PlanarGrasp


@pytest.fixture(scope="module")
def world():
    catalog = load_catalog("data")
    w = TableWorld(catalog, JacquardDataConfig(render_size=64))
    box = next(o for o in catalog.objects("train") if o.shape == "box" and 0.03 < min(o.extents[:2]) < 0.07
               and o.extents[2] > 0.02)
    inst = w.scene.spawn(box, [0, 0, box.extents[2] / 2 + 0.001], [0, 0, 0, 1])
    w.scene.settle(200)
    w.gripper.save()
    yield w, box, inst
    w.close()


def test_grasp_across_the_short_side_lifts(world):
    w, box, inst = world
    ex = box.extents
    axis = 0 if ex[0] < ex[1] else math.pi / 2  # close along the shorter side
    r = w.gripper.trial(PlanarGrasp(0.0, 0.0, axis, min(ex[:2]) + 0.01))
    assert r.success and r.outcome == "lifted" and r.target == inst and r.lift_m > 0.05


def test_too_narrow_opening_collides_and_empty_table_misses(world):
    w, box, inst = world
    ex = box.extents
    axis = 0 if ex[0] < ex[1] else math.pi / 2
    r = w.gripper.trial(PlanarGrasp(0.0, 0.0, axis, min(ex[:2]) - 0.01))
    assert not r.success and r.outcome == "collision" and r.collided_with == inst
    r = w.gripper.trial(PlanarGrasp(0.11, 0.11, 0.0, 0.05))
    assert not r.success and r.outcome == "missed"
    assert w.gripper.trial(PlanarGrasp(0, 0, 0, 0.5)).outcome == "too_wide"


def test_trials_restore_the_scene(world):
    w, box, inst = world
    before = w.scene.pose(inst)[0]
    g = PlanarGrasp(0.0, 0.0, 0.3, 0.09)
    a, b = w.gripper.trial(g), w.gripper.trial(g)
    assert a == b
    np.testing.assert_allclose(w.scene.pose(inst)[0], before, atol=1e-9)


def test_cross_section_and_centring():
    mask = np.zeros((20, 30), bool)
    mask[5:15, 10:20] = True  # 10 x 10 square, columns 10..19
    # pixel edges at columns 9.5 and 19.5: from column 12 the object reaches 7.5 forward, 2.5 back
    # (measured in half-pixel steps: within half a pixel)
    fwd, back = cross_section_px(mask, 10, 12, 0.0)
    assert fwd == pytest.approx(7.5, abs=0.5) and back == pytest.approx(2.5, abs=0.5)
    r, c, width = centred_candidate(mask, 10, 12, 0.0)
    assert r == pytest.approx(10) and c == pytest.approx(14.5, abs=0.5) and width == pytest.approx(10.0, abs=0.5)
    # the same along the rows (angle 90°: closing towards the top of the image)
    r, c, width = centred_candidate(mask, 7, 15, math.pi / 2)
    assert r == pytest.approx(9.5, abs=0.5) and c == pytest.approx(15) and width == pytest.approx(10.0, abs=0.5)


def test_stereo_depth_holes_at_edges():
    z = np.full((32, 32), 0.75, np.float32)
    z[10:20, 10:20] = 0.70
    s = stereo_depth(z, np.random.default_rng(0), noise_std_m=0.001, edge_m=0.01, holes=0)
    assert (s[9:11, 12] == 0).all() and s[15, 15] > 0 and s[2, 2] > 0
    assert abs(float(s[2, 2]) - 0.75) < 0.01
