"""mlgsl data preparation (depth, sparse labels, augmentation) and the clutter composition."""

import math

import numpy as np
import pytest

from robopercept.formats import jacquard
from robopercept.formats.jacquard import GraspRect, JacquardSample
from robopercept.mlgsl.clutter import ClutterSpec, compose, jaw_collision
from robopercept.mlgsl.data import DEPTH_SCALE, augment, collate, load_items, prepare_depth


def test_prepare_depth_inpaints_resizes_and_centres():
    d = np.full((40, 40), 0.75, np.float32)
    d[10:20, 10:20] = 0.70
    d[30:33, 30:33] = 0.0  # a hole in the table
    out = prepare_depth(d, 20)
    assert out.shape == (20, 20)
    assert np.isfinite(out).all()
    assert abs(out[16, 16]) < 0.05  # the hole is filled with table depth (median 0)
    assert out[7, 7] == pytest.approx(-0.05 * DEPTH_SCALE, abs=1e-4)
    with pytest.raises(ValueError, match="no valid pixel"):
        prepare_depth(np.zeros((8, 8), np.float32), 8)


def test_augment_moves_labels_with_the_image():
    rng = np.random.default_rng(3)
    d = np.zeros((48, 48), np.float32)
    d[19:22, 29:32] = 1.0  # a 3x3 marker centred under the label centre (20, 30)
    g = GraspRect(20.0, 30.0, 0.2, 10.0, 4.0)
    rows, cols = np.mgrid[0:48, 0:48]
    for _ in range(5):
        out, (moved,) = augment(d, [g], rng, zoom=0.1)
        w = np.clip(out, 0, None)
        r, c = (rows * w).sum() / w.sum(), (cols * w).sum() / w.sum()
        assert abs(r - moved.row) < 0.3 and abs(c - moved.col) < 0.3


def _tiny_sample(sid, rng, size=48):
    mask = np.zeros((size, size), bool)
    mask[18:30, 20:28] = True
    depth = np.where(mask, 0.72, 0.75).astype(np.float32)
    gs = [GraspRect(24.0, 24.0, 0.0, 12.0, 4.0), GraspRect(22.0, 24.0, 0.0, 12.0, 4.0),
          GraspRect(26.0, 24.0, 0.05, 12.0, 4.0)]
    return JacquardSample(sid, rng.integers(0, 255, (size, size, 3), dtype=np.uint8), depth, depth.copy(), mask, gs)


def test_sparse_labels_and_collate(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(3):
        jacquard.write_sample(tmp_path / "train", _tiny_sample(f"{i:06d}_x", rng))
    items = load_items(tmp_path, "train", 24, labels_per_image=2, seed=1)
    assert all(len(it.grasps) == 2 and len(it.all_grasps) == 3 for it in items)
    assert items[0].all_grasps[0].row == pytest.approx(12.0)  # scaled 48 -> 24
    x, labels = collate([(it.depth, it.grasps) for it in items], with_maps=True)
    assert x.shape == (3, 1, 24, 24) and labels["rows"].shape == (3, 2) and labels["maps"].shape == (3, 4, 24, 24)
    with pytest.raises(ValueError, match="asked for 5 samples, only 3"):
        load_items(tmp_path, "train", 24, limit=5)
    (tmp_path / "test").mkdir()
    with pytest.raises(FileNotFoundError, match="no Jacquard samples"):
        load_items(tmp_path, "test", 24)
    with pytest.raises(jacquard.JacquardFormatError, match="not a folder"):
        load_items(tmp_path, "val", 24)


def test_jaw_collision_by_hand():
    inst = np.zeros((30, 30), np.uint8)
    inst[10:20, 10:16] = 1  # target
    inst[10:20, 19:22] = 2  # a neighbour 3 px to the right
    g = GraspRect(15.0, 12.5, 0.0, 8.0, 4.0)  # jaws beyond columns 8.5 .. 16.5
    assert not jaw_collision(g, inst, finger_px=2.0)  # right jaw covers columns 17..18
    assert jaw_collision(g, inst, finger_px=4.0)  # now it reaches column 19


def test_compose_keeps_only_collision_free_visible_labels():
    rng = np.random.default_rng(0)
    sources = [_tiny_sample(f"s{i}", rng) for i in range(3)]
    for k in range(5):
        sample, stats = compose(sources, rng, ClutterSpec(min_objects=3, max_objects=3, finger_px=2.0), f"c{k}")
        assert stats["labels_kept"] + stats["occluded"] + stats["collision"] + stats["outside"] == stats["labels_in"]
        assert sample.instances.max() <= 3 and (sample.mask == (sample.instances > 0)).all()
        for g in sample.grasps:
            assert sample.instances[int(round(g.row)), int(round(g.col))] > 0
            assert not jaw_collision(g, sample.instances, 2.0)
        assert (sample.perfect_depth[sample.mask] < 0.75).all()


def test_dataset_config_needs_a_generated_dataset(tmp_path):
    from robopercept.mlgsl.robot import dataset_config, finger_px
    from robopercept.mlgsl.config import JacquardDataConfig

    with pytest.raises(FileNotFoundError, match="plan.json missing"):
        dataset_config(tmp_path)
    cfg = JacquardDataConfig(render_size=128, view_m=0.26)
    (tmp_path / "plan.json").write_text(__import__("json").dumps({"config": {**cfg.__dict__, "workers": 2}}))
    assert dataset_config(tmp_path) == JacquardDataConfig(render_size=128, view_m=0.26, workers=1)
    assert finger_px(cfg) == pytest.approx(0.008 * 128 / 0.26, rel=0.05)  # 8 mm fingers, 0.26 m over 128 px
    (tmp_path / "plan.json").write_text('{"config": {"render_')  # truncated
    with pytest.raises(ValueError, match="plan.json is not a dataset plan.*mlgsl_data"):
        dataset_config(tmp_path)
