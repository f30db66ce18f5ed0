"""The paper's metrics on worked cases: IoP / IoG matching, MR@HP, AR-IoG, mAP equal to pycocotools', double picks."""

import contextlib
import io

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from robopercept.formats.coco import encode
from robopercept.latentmrcnn import metrics as M

H, W = 40, 60


def rect(y0, y1, x0, x1):
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


def gt_coco(images: list[list[np.ndarray]], n_cats: int = 1) -> COCO:
    anns, aid = [], 1
    for i, masks in enumerate(images):
        for j, m in enumerate(masks):
            ys, xs = np.nonzero(m)
            anns.append({"id": aid, "image_id": i + 1, "category_id": 1 + j % n_cats, "segmentation": encode(m),
                         "area": float(m.sum()), "iscrowd": 0,
                         "bbox": [float(xs.min()), float(ys.min()), float(np.ptp(xs) + 1), float(np.ptp(ys) + 1)]})
            aid += 1
    c = COCO()
    c.dataset = {"images": [{"id": i + 1, "height": H, "width": W} for i in range(len(images))],
                 "categories": [{"id": k + 1, "name": f"c{k}"} for k in range(n_cats)], "annotations": anns}
    with contextlib.redirect_stdout(io.StringIO()):
        c.createIndex()
    return c


def test_iop_and_iog_by_hand():
    g = rect(0, 10, 0, 10)
    half = rect(0, 5, 0, 10)  # IoP 1, IoG 0.5, IoU 0.5
    gt = gt_coco([[g]])
    res = M.results_for(1, half[None], np.array([0.9]))
    iop = M.evaluate(gt, res, "iop", M.PAPER_THETAS)
    assert iop.ious[(1, 1)][0, 0] == pytest.approx(1.0)
    iog = M.evaluate(gt, res, "iog")
    assert iog.ious[(1, 1)][0, 0] == pytest.approx(0.5)
    assert M.mr_at_hp(iop) == pytest.approx(100.0)  # a contained prediction: precise at every θ
    assert M.average_recall(iog) == pytest.approx(10.0)  # IoG 0.5 matches at θ = 0.5 only: 1 of 10 thresholds


def test_an_under_segmented_mask_fails_iop_but_covers_by_iog():
    a, b = rect(0, 10, 0, 10), rect(0, 10, 10, 20)
    gt = gt_coco([[a, b]])
    res = M.results_for(1, (a | b)[None], np.array([0.9]))
    assert M.mr_at_hp(M.evaluate(gt, res, "iop", M.PAPER_THETAS), ) == 0.0  # IoP 0.5 with either object
    assert M.average_recall(M.evaluate(gt, res, "iog")) == pytest.approx(50.0)  # IoG 1, but one match for two objects


def test_mr_at_hp_takes_the_largest_recall_at_each_precision():
    # 4 objects; predictions by score: hit, hit, miss, hit (precision 1, 1, 2/3, 3/4 at recall 1/4, 2/4, 2/4, 3/4)
    objs = [rect(0, 8, 0, 8), rect(0, 8, 20, 28), rect(20, 28, 0, 8), rect(20, 28, 20, 28)]
    gt = gt_coco([objs])
    preds = np.stack([objs[0], objs[1], rect(30, 38, 40, 48), objs[2]])
    ev = M.evaluate(gt, M.results_for(1, preds, np.array([0.9, 0.8, 0.7, 0.6])), "iop", M.PAPER_THETAS)
    # interpolated precision: 1 up to recall 0.5, 0.75 up to 0.75. p = 0.75 -> recall 0.75; p >= 0.8 -> 0.5
    want = 100 * np.mean([0.75, 0.5, 0.5, 0.5, 0.5])
    assert M.mr_at_hp(ev) == pytest.approx(want)


def test_iou_map_equals_pycocotools():
    rng = np.random.default_rng(0)
    images, res = [], []
    for i in range(4):
        objs = [rect(*sorted(rng.integers(0, H, 2)) , *sorted(rng.integers(0, W, 2))) for _ in range(4)]
        objs = [o for o in objs if o.sum() > 4]
        images.append(objs)
        preds = [np.roll(o, int(rng.integers(-3, 4)), axis=1) for o in objs] + [rect(0, 5, 0, 5)]
        res += M.results_for(i + 1, np.stack(preds), rng.random(len(preds)))
    gt = gt_coco(images)
    ours = M.mean_ap(M.evaluate(gt, res, "iou"))
    with contextlib.redirect_stdout(io.StringIO()):
        ref = COCOeval(gt, gt.loadRes(res), "segm")
        ref.evaluate(), ref.accumulate(), ref.summarize()
    assert ours == pytest.approx(100 * ref.stats[0])


def test_no_predictions_and_bad_overlap():
    gt = gt_coco([[rect(0, 10, 0, 10)]])
    ev = M.evaluate(gt, [], "iop", M.PAPER_THETAS)
    assert M.mr_at_hp(ev) == 0.0 and M.mean_ap(ev) == 0.0
    with pytest.raises(ValueError, match="overlap"):
        M.evaluate(gt, [], "dice")
    with pytest.raises(ValueError, match="not evaluated"):
        M.mr_at_hp(M.evaluate(gt, [], "iop"), thetas=(0.77,))


def test_double_pick_counts_every_circle_centre():
    a, b = rect(0, 10, 0, 10), rect(0, 10, 10, 20)  # touching side by side
    # exact masks: each 10 x 10 square eroded by a radius-2 disc keeps 6 x 6 centres; no disc inside a touches b
    assert M.double_pick(np.stack([a, b]), np.stack([a, b]), radius=2) == (0, 72)
    merged = (a | b)[None]
    d, n = M.double_pick(merged, np.stack([a, b]), radius=2)
    assert n == 6 * 16  # the 10 x 20 rectangle eroded by a radius-2 disc (the image edge counts as outside)
    assert d == 6 * 4  # centres within 2 px of the seam (columns 8-11) touch both objects
    with pytest.raises(ValueError, match="differ in size"):
        M.double_pick(merged, np.zeros((1, 5, 5), bool), 2)


def test_pickable_area_and_roc_auc():
    a, b = rect(0, 10, 0, 10), rect(0, 10, 10, 20)
    assert M.pickable_area_fraction(a[None], np.stack([a, b])) == pytest.approx(0.5)
    assert M.pickable_area_fraction(np.zeros((0, H, W), bool), np.stack([a, b])) == 0.0
    assert np.isnan(M.pickable_area_fraction(a[None], np.zeros((0, H, W), bool)))
    assert M.roc_auc([0.9, 0.8, 0.2, 0.1], [True, True, False, False]) == 1.0
    assert M.roc_auc([0.1, 0.2, 0.8, 0.9], [True, True, False, False]) == 0.0
    assert M.roc_auc([0.5, 0.5], [True, False]) == 0.5
    assert np.isnan(M.roc_auc([0.5], [True]))
