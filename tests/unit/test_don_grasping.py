"""don §IV-G grasp experiment: keypoints on an object's long axis, layouts rotated per attempt, the grasp across the
axis, and the trials of an oracle against a fixed network."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robopercept.config import ConfigError
from robopercept.don.config import DonDataConfig
from robopercept.don.config_grasp import DonGraspConfig
from robopercept.don.grasping import grasp_from_keypoints, keypoints_on, layout


def test_keypoints_lie_on_the_long_axis_symmetric_about_the_middle():
    rng = np.random.default_rng(0)
    pts = np.c_[rng.uniform(-0.05, 0.05, 500), rng.uniform(-0.01, 0.01, 500), np.zeros(500)]  # long along x
    c, s = math.cos(0.6), math.sin(0.6)
    rot = pts @ np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]]) + [0.1, -0.2, 0]
    k = keypoints_on(rot, 0.3)
    mid = k.mean(0)
    assert np.allclose(mid, [0.1, -0.2], atol=0.003)
    d = k[1] - k[0]
    assert math.isclose(math.atan2(d[1], d[0]) % math.pi, 0.6, abs_tol=0.03)
    assert math.isclose(np.linalg.norm(d), 2 * 0.3 * 0.05, rel_tol=0.05)


def test_the_grasp_closes_across_the_axis_at_its_middle():
    g = grasp_from_keypoints(np.array([0.0, 0.0, 0.02]), np.array([0.1, 0.0, 0.02]), 0.12)
    assert (g.x, g.y, g.opening) == (0.05, 0.0, 0.12) and math.isclose(g.angle, math.pi / 2)


def test_layouts_rotate_by_the_attempt_and_never_overlap():
    cfg = DonGraspConfig()
    rng = np.random.default_rng(1)
    known_r, pool_r = list(rng.uniform(0.03, 0.075, 8)), list(rng.uniform(0.03, 0.07, 20))
    base = layout(cfg, "Multi-Object, Isolated", 3, known_r, pool_r, 0, seed=7)
    turned = layout(cfg, "Multi-Object, Isolated", 3, known_r, pool_r, 1, seed=7)
    assert [(k, i) for k, i, *_ in base] == [(k, i) for k, i, *_ in turned] and len(base) == 8 + cfg.distractors
    r = math.radians(cfg.rotation_deg)
    for (_, _, x, y, yaw), (_, _, x2, y2, yaw2) in zip(base, turned):
        assert np.allclose([x2, y2], [math.cos(r) * x - math.sin(r) * y, math.sin(r) * x + math.cos(r) * y])
        assert math.isclose(yaw2 - yaw, r)

    def min_gap(items):
        xy = np.array([(x, y) for *_, x, y, _ in items])
        rad = np.array([known_r[i] if k == "known" else pool_r[i] for k, i, *_ in items])
        gaps = np.linalg.norm(xy[:, None] - xy[None], axis=2) - rad[:, None] - rad[None]
        return gaps[~np.eye(len(xy), dtype=bool)].min(), np.linalg.norm(xy, axis=1).max()

    iso_gap, iso_extent = min_gap(base)
    packed_gap, packed_extent = min_gap(layout(cfg, "Multi-Object, Packed", 3, known_r, pool_r, 0, seed=7))
    assert iso_gap >= cfg.isolated_gap_m - 1e-9 and packed_gap >= cfg.packed_gap_m - 1e-9
    assert packed_extent < iso_extent  # packed is tighter
    assert layout(cfg, "Singulated", 3, known_r, pool_r, 2, seed=7)[0][:4] == ("known", 3, 0.0, 0.0)


def test_bad_settings_are_refused():
    with pytest.raises(ConfigError, match="settings"):
        DonGraspConfig(settings=["Cluttered"])
    with pytest.raises(ConfigError, match="isolated_gap_m"):
        DonGraspConfig(isolated_gap_m=0.001, packed_gap_m=0.005)


@pytest.mark.slow
def test_oracle_lifts_a_singulated_object_and_records_every_method(tmp_path):
    import torch

    from robopercept import paths
    from robopercept.common import checkpoints
    from robopercept.don.grasping import CONTROL, ORACLE, run_grasps, table5
    from robopercept.don.model import DenseDescriptorNet

    keys = {}
    for row, loss in (("Pixelwise Cross-Object", "pixelwise_cross_object"), ("Ours", "ntxent")):
        torch.manual_seed(0)
        (tmp_path / "models" / loss).mkdir(parents=True)
        checkpoints.save({"model": DenseDescriptorNet(8, "resnet18").state_dict(),
                          "variant": {"loss": loss, "descriptor_dim": 8}, "backbone": "resnet18"},
                         tmp_path / "models" / loss / "model.pt")
        keys[row] = [loss]
    cfg = DonGraspConfig(settings=["Singulated"], attempts_per_object=1, settle_steps=60, workers=1, n_boot=20)
    data = DonDataConfig(height=60, width=80)
    rec = run_grasps(cfg, data, paths.root() / "data", tmp_path / "models", keys, tmp_path / "trials", 0,
                     control={"backbone": "resnet18", "descriptor_dim": 8, "seed": 0, "checkpoint": None},
                     progress=False)
    assert len(rec) == 8 * 4 and set(rec.method) == {ORACLE, CONTROL, *keys}
    oracle = rec[rec.method == ORACLE]
    assert oracle.success.mean() >= 0.75, oracle[["object", "outcome"]]  # a lone upright object: the ceiling is high
    table, reps = table5(rec, 20, 0)
    assert list(table.method) == [ORACLE, "Pixelwise Cross-Object", "Ours", CONTROL] and len(reps) == 20
    assert table.set_index("method").loc[ORACLE, "Singulated (oracle-feasible)"] == 100.0
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        run_grasps(cfg, data, paths.root() / "data", tmp_path / "nothing", keys, tmp_path / "t2", 0, progress=False)
