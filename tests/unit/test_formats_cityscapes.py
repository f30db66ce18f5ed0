"""The Cityscapes layout: writer and reader round trip, the official instance evaluator on it, and bad input."""

import numpy as np
import pytest

from robopercept.common.cityscapes_eval import evaluate_instances, scaled_min_region
from robopercept.formats import cityscapes as C

H, W = 64, 128


def frame(rng, n_cars=2, person=True):
    ids = C.label_ids()
    labels = np.full((H, W), ids["road"], np.int64)
    labels[:20] = ids["sky"]
    inst = labels.copy()
    boxes = []
    for k in range(n_cars):
        x = 10 + 40 * k
        labels[30:50, x:x + 30] = ids["car"]
        inst[30:50, x:x + 30] = ids["car"] * 1000 + k
        boxes.append((ids["car"], (slice(30, 50), slice(x, x + 30))))
    if person:
        labels[25:55, 100:108] = ids["person"]
        inst[25:55, 100:108] = ids["person"] * 1000
        boxes.append((ids["person"], (slice(25, 55), slice(100, 108))))
    rgb = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
    return rgb, labels, inst, boxes


@pytest.fixture()
def written(tmp_path):
    rng = np.random.default_rng(0)
    frames = {}
    for i in range(3):
        name = C.stem("simtown", 0, i)
        rgb, labels, inst, boxes = frame(rng, n_cars=1 + i % 2)
        C.write_frame(tmp_path, "val", name, rgb, labels, inst)
        frames[name] = (rgb, labels, inst, boxes)
    return tmp_path, frames


def test_round_trip_keeps_pixels_ids_and_instances(written):
    root, frames = written
    ds = C.CityscapesSet(root, "val", size=(H, W))
    assert len(ds) == 3 and ds.names == sorted(frames)
    for f in ds:
        rgb, labels, inst, boxes = frames[f.name]
        assert (f.rgb == rgb).all() and (f.labels == labels).all() and (f.instances == inst).all()
        masks, lab = f.instance_masks()
        assert len(masks) == len(boxes) and sorted(lab.tolist()) == sorted(b[0] for b in boxes)
    assert ds.paths(0)["instances"].name.endswith("_gtFine_instanceIds.png")


def test_official_evaluator_scores_perfect_predictions_100_and_misses_lower(written, tmp_path):
    root, frames = written
    ds = C.CityscapesSet(root, "val")
    perfect, partial = [], []
    for f in ds:
        masks, lab = f.instance_masks()
        perfect.append((masks, lab, np.ones(len(lab))))
        partial.append((masks[:1], lab[:1], np.ones(1)))  # drops every other instance
    res = evaluate_instances(ds, perfect, tmp_path / "eval1")
    assert res["AP"] == pytest.approx(100) and res["AP50"] == pytest.approx(100)
    assert res["per_class"]["car"]["AP"] == pytest.approx(100) and np.isnan(res["per_class"]["bus"]["AP"])
    worse = evaluate_instances(ds, partial, tmp_path / "eval2")
    assert worse["AP"] < 100
    # the ground-truth cache is the call's own: evaluating again after the ground truth changed is not stale
    assert (tmp_path / "eval1" / "gtInstances.json").exists()


def test_min_region_scales_with_the_image_area():
    assert scaled_min_region(1024, 2048) == 100 and scaled_min_region(512, 1024) == 25


def test_reader_names_a_missing_map(written):
    root, frames = written
    ds = C.CityscapesSet(root, "val", check=False)
    ds.paths(1)["labels"].unlink()
    with pytest.raises(C.CityscapesFormatError, match="labelIds.*missing|missing gtFine labelIds"):
        C.CityscapesSet(root, "val")


def test_reader_names_a_truncated_png(written):
    root, _ = written
    p = C.CityscapesSet(root, "val").paths(2)["instances"]
    p.write_bytes(p.read_bytes()[:40])
    with pytest.raises(C.CityscapesFormatError, match=p.name + ".*does not decode"):
        C.CityscapesSet(root, "val")


def test_reader_refuses_wrong_sizes_and_unknown_ids(written):
    import cv2

    root, frames = written
    ds = C.CityscapesSet(root, "val")
    p = ds.paths(0)
    cv2.imwrite(str(p["labels"]), np.zeros((H // 2, W), np.uint8))
    with pytest.raises(C.CityscapesFormatError, match="labelIds.png: the map is 128x32"):
        C.CityscapesSet(root, "val")
    rgb, labels, inst, _ = next(iter(frames.values()))
    bad = labels.copy()
    bad[0, 0] = 200
    with pytest.raises(C.CityscapesFormatError, match=r"unknown Cityscapes label id\(s\) \[200\]"):
        C.write_frame(root, "val", C.stem("simtown", 0, 0), rgb, bad, inst)
    wrong = inst.copy()
    wrong[wrong == C.label_ids()["person"] * 1000] = C.label_ids()["road"] * 1000  # road has no instances
    with pytest.raises(C.CityscapesFormatError, match="without instances"):
        C.check_ids(labels, wrong, "x")
    with pytest.raises(C.CityscapesFormatError, match="expected 64x64"):
        C.CityscapesSet(root, "val", size=(64, 64), check=False).frame(1)


def test_reader_refuses_an_empty_or_missing_split(tmp_path):
    with pytest.raises(C.CityscapesFormatError, match="missing"):
        C.CityscapesSet(tmp_path, "train")
    (tmp_path / "leftImg8bit" / "train" / "simtown").mkdir(parents=True)
    with pytest.raises(C.CityscapesFormatError, match="empty split"):
        C.CityscapesSet(tmp_path, "train")


def test_bootstrap_replicates_reuse_the_evaluators_matches(written, tmp_path):
    from robopercept.common.cityscapes_eval import ap_from_matches, match_instances

    root, _ = written
    ds = C.CityscapesSet(root, "val")
    preds = []
    for n, f in enumerate(ds):
        masks, lab = f.instance_masks()
        preds.append((masks, lab, np.ones(len(lab))) if n else (masks[:0], lab[:0], np.ones(0)))  # image 0: nothing
    matches, args = match_instances(ds, preds, tmp_path / "m")
    whole = ap_from_matches(matches, args)
    keys = list(matches)
    assert ap_from_matches(matches, args, keys[1:] * 2)["AP"] == pytest.approx(100)  # only the perfect images
    assert ap_from_matches(matches, args, [keys[0]] * 3)["AP50"] == 0  # only the image with no prediction
    assert 0 < whole["AP"] < 100


def test_reader_resizes_real_sized_frames_keeping_ids(written):
    root, frames = written
    ds = C.CityscapesSet(root, "val", resize=(H // 2, W // 2))
    f = ds.frame(0)
    assert f.rgb.shape == (H // 2, W // 2, 3) and f.labels.shape == (H // 2, W // 2)
    assert set(np.unique(f.instances).tolist()) <= set(np.unique(frames[f.name][2]).tolist())  # nearest: no new ids
