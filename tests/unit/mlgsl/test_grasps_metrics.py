"""Rectangle IoU and the §IV-A success criterion on hand-made cases; grasp selection."""

import math

import numpy as np
import pytest

from robopercept.formats.jacquard import GraspRect
from robopercept.mlgsl import grasps as G
from robopercept.mlgsl.metrics import accuracy_recall


def test_iou_identical():
    g = GraspRect(10, 10, 0.3, 20, 10)
    assert G.rect_iou(g, g) == pytest.approx(1.0)


def test_iou_rotated_90_degrees():
    # a 20 x 10 rectangle and the same turned by 90°: overlap 10 x 10 = 100, union 200 + 200 - 100
    a = GraspRect(50, 50, 0.0, 20, 10)
    b = GraspRect(50, 50, math.pi / 2, 20, 10)
    assert G.rect_iou(a, b) == pytest.approx(100 / 300, abs=1e-4)


def test_iou_disjoint_and_shifted():
    a = GraspRect(0, 0, 0.0, 10, 4)
    assert G.rect_iou(a, GraspRect(100, 100, 0.0, 10, 4)) == 0.0
    # shifted by half the opening along the closing direction: overlap 5 x 4 = 20, union 60
    assert G.rect_iou(a, GraspRect(0, 5, 0.0, 10, 4)) == pytest.approx(20 / 60, abs=1e-4)


def test_angle_difference_is_modulo_pi():
    assert G.angle_difference(math.radians(85), math.radians(-85)) == pytest.approx(math.radians(10))
    assert G.angle_difference(0.0, math.pi) == pytest.approx(0.0)


def test_success_criterion_angle_30_vs_31_degrees():
    label = GraspRect(50, 50, 0.0, 40, 10)
    ok = GraspRect(50, 50, math.radians(29), 40, 10)
    bad = GraspRect(50, 50, math.radians(31), 40, 10)
    assert G.rect_iou(label, bad) >= 0.25  # the IoU alone would pass
    assert G.is_successful(ok, [label])
    assert not G.is_successful(bad, [label])
    assert not G.is_successful(GraspRect(80, 80, 0.0, 40, 10), [label])  # IoU < 25 %


def test_top_pixels_peaks_then_fill():
    q = np.zeros((20, 20), np.float32)
    q[5, 5], q[15, 15], q[5, 6] = 1.0, 0.8, 0.9
    assert G.top_pixels(q, 2, min_distance=3) == [(5, 5), (15, 15)]
    assert len(G.top_pixels(q, 5, min_distance=3)) == 5


def test_sample_grasps_follows_quality():
    maps = {"q": np.zeros((4, 4)), "cos": np.ones((4, 4)), "sin": np.zeros((4, 4)), "width": np.full((4, 4), 0.5)}
    maps["q"][2, 3] = 1.0
    gs = G.sample_grasps(maps, 10, np.random.default_rng(0), width_scale_px=10, jaw_px=2)
    assert all((g.row, g.col) == (2, 3) and g.opening == 5 and g.angle == 0 for g in gs)
    with pytest.raises(ValueError, match="zero everywhere"):
        G.sample_grasps({**maps, "q": np.zeros((4, 4))}, 1, np.random.default_rng(0), width_scale_px=1, jaw_px=1)


def test_accuracy_recall_by_hand():
    pred = np.array([1, 1, 0, 0, 1], bool)
    true = np.array([1, 0, 1, 0, 1], bool)
    r = accuracy_recall(pred, true)
    assert r["accuracy"] == pytest.approx(60.0)
    assert r["recall"] == pytest.approx(100 * 2 / 3)
    assert r["precision"] == pytest.approx(100 * 2 / 3)
