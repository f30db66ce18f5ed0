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


def test_top_pixels_as_ggcnn_detects_them():
    q = np.zeros((20, 20), np.float32)
    q[5, 5], q[15, 15], q[5, 6] = 1.0, 0.8, 0.9
    assert G.top_pixels(q, 2, min_distance=3) == [(5, 5), (15, 15)]
    # no padding with weak pixels: two peaks give two grasps even when five are asked for
    assert G.top_pixels(q, 5, min_distance=3) == [(5, 5), (15, 15)]
    # a peak below 20 % of the maximum is background, not a grasp
    q[10, 12] = 0.15
    assert (10, 12) not in G.top_pixels(q, 5, min_distance=3)
    # GG-CNN (skimage's default) ignores peaks within min_distance of the border: no corner grasps
    q[1, 18] = 2.0
    assert (1, 18) not in G.top_pixels(q, 5, min_distance=3)
    # a collapsed linear map (max <= 0) has no grasp at all
    assert G.top_pixels(np.full((20, 20), -0.1, np.float32), 5, min_distance=3) == []


def test_top_grasps_jacquard_jaw_is_half_the_opening():
    h = w = 24
    maps = {"q": np.zeros((h, w), np.float32), "cos": np.ones((h, w), np.float32),
            "sin": np.zeros((h, w), np.float32), "width": np.full((h, w), 0.5, np.float32)}
    maps["q"][12, 12] = 1.0
    (g,) = G.top_grasps(maps, 1, width_scale_px=20.0, jaw_px=None, min_distance=3, sigma=1.0)
    assert (g.row, g.col) == (12.0, 12.0) and g.angle == pytest.approx(0.0)
    assert g.opening == pytest.approx(10.0, rel=1e-3) and g.jaw == pytest.approx(5.0, rel=1e-3)


def test_smoothing_the_angle_maps_has_no_wrap_artefact():
    # +89° and -89° are the same grasp; smoothing cos 2φ / sin 2φ keeps ~90°, averaging angles gives 0°
    h = w = 9
    phi = np.where(np.arange(w) < w // 2, np.radians(89), np.radians(-89))[None].repeat(h, 0)
    maps = {"q": np.ones((h, w)), "cos": np.cos(2 * phi), "sin": np.sin(2 * phi), "width": np.ones((h, w))}
    sm = G.smooth_maps(maps, 2.0)
    assert abs(abs(float(G.decode_angle(sm["cos"][4, 4], sm["sin"][4, 4]))) - np.pi / 2) < np.radians(3)


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
