"""Table II metrics: our per-image matching + accumulation equals pycocotools' COCOeval."""

import json

import numpy as np
import pytest

from robopercept.formats.coco import CocoWriter
from robopercept.graspseg.instance_eval import (area_ranges, average_precision, bootstrap_metrics,
                                                class_agnostic_gt, coco_eval, match_images, table2_metrics,
                                                write_results)

H, W = 48, 64


def rect(y0, x0, h, w):
    m = np.zeros((H, W), bool)
    m[y0:y0 + h, x0:x0 + w] = True
    return m


def random_scene(rng):
    """Ground truth: disjoint rectangles of varied sizes; predictions: jittered copies, misses, false
    positives and duplicates, with random (sometimes tied) scores."""
    gts = []
    for k in range(rng.integers(0, 6)):
        h, w = rng.integers(2, 20, 2)
        gts.append(rect(rng.integers(0, H - h), rng.integers(0, W - w), h, w))
    preds, scores = [], []
    for g in gts:
        if rng.random() < 0.2:
            continue  # a miss
        ys, xs = np.nonzero(g)
        dy, dx = rng.integers(-3, 4, 2)
        dh, dw = rng.integers(-2, 3, 2)
        h, w = max(1, int(np.ptp(ys)) + 1 + dh), max(1, int(np.ptp(xs)) + 1 + dw)
        preds.append(rect(int(np.clip(ys.min() + dy, 0, H - 1)), int(np.clip(xs.min() + dx, 0, W - 1)), h, w))
        scores.append(round(float(rng.random()), 2))  # two decimals: ties happen
        if rng.random() < 0.2:
            preds.append(preds[-1].copy())  # a duplicate
            scores.append(round(float(rng.random()), 2))
    for _ in range(rng.integers(0, 3)):  # false positives
        h, w = rng.integers(2, 15, 2)
        preds.append(rect(rng.integers(0, H - h), rng.integers(0, W - w), h, w))
        scores.append(round(float(rng.random()), 2))
    preds = [p for p in preds if p.any()]
    scores = scores[:len(preds)]
    return (np.array(preds, bool).reshape(-1, H, W), np.array(scores)), np.array(gts, bool).reshape(-1, H, W)


@pytest.mark.parametrize("seed", range(4))
def test_matches_pycocotools(seed, tmp_path):
    rng = np.random.default_rng(seed)
    scenes = [random_scene(rng) for _ in range(25)]
    writer = CocoWriter(["object"])
    for i, (_, gts) in enumerate(scenes):
        iid = writer.add_image(f"{i}.png", H, W)
        for g in gts:
            writer.add_instance(iid, 1, g)
    gt = class_agnostic_gt({"images": writer.images, "annotations": writer.annotations})
    preds = [p for p, _ in scenes]
    res = write_results(tmp_path / "res.json", [im["id"] for im in gt["images"]], preds)
    # scale the paper's area split so that these small rectangles fall in all three ranges
    ranges = area_ranges(120, 150)  # medium from 30 px, large from 270 px
    assert ranges["medium"][0] < 100 < ranges["large"][0]
    ref = coco_eval(gt, res, ranges)
    ours = table2_metrics(match_images(preds, [g for _, g in scenes], ranges))
    assert ours.keys() == ref.keys()
    for k in ref:
        assert ours[k] == pytest.approx(ref[k], abs=1e-9), k
    assert json.loads(res.read_text())[0]["category_id"] == 1


def test_perfect_and_empty_predictions():
    gts = [np.stack([rect(2, 2, 10, 10), rect(20, 30, 12, 20)])]
    perfect = [(gts[0], np.array([0.9, 0.8]))]
    m = match_images(perfect, gts, area_ranges(H, W))
    assert average_precision(m) == pytest.approx(1.0)
    none = [(np.zeros((0, H, W), bool), np.zeros(0))]
    assert average_precision(match_images(none, gts, area_ranges(H, W))) == 0.0
    no_gt = match_images(perfect, [np.zeros((0, H, W), bool)], area_ranges(H, W))
    assert average_precision(no_gt) == -1.0
    with pytest.raises(ValueError, match="empty image set"):
        average_precision([])


def test_bootstrap_replicates_vary_around_the_point():
    rng = np.random.default_rng(5)
    scenes = [random_scene(rng) for _ in range(30)]
    m = match_images([p for p, _ in scenes], [g for _, g in scenes], area_ranges(120, 150))
    point = table2_metrics(m)["AP"]
    reps = bootstrap_metrics(m, 200, seed=0)[:, 0]
    assert reps.std() > 0 and np.percentile(reps, 2.5) < point < np.percentile(reps, 97.5)
    assert np.array_equal(reps, bootstrap_metrics(m, 200, seed=0)[:, 0])


def test_area_ranges_are_cocos_at_the_paper_resolution():
    r = area_ranges(640, 960)
    assert r["medium"] == (32 ** 2, 96 ** 2)
    assert area_ranges(160, 240)["large"][0] == pytest.approx(96 ** 2 / 16)
