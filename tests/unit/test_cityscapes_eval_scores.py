"""The fast re-accumulation of the official evaluator's matches (``common.cityscapes_eval.image_scores`` /
``ap_from_image_scores``) gives the evaluator's own AP — the same floats — on random matches (duplicates, groups,
void and small ground truth, tied scores) and on matches the evaluator made, for any replicate of images."""

import contextlib
import copy
import io
import math

import numpy as np
import pytest

from robopercept.common import cityscapes_eval as CE
from robopercept.formats import cityscapes as C

E = pytest.importorskip("cityscapesscripts.evaluation.evalInstanceLevelSemanticLabeling")


def _args(min_region=20):
    args = copy.deepcopy(E.args)
    args.minRegionSizes = np.array([min_region])
    args.distanceThs = np.array([math.inf])
    args.distanceConfs = np.array([-math.inf])
    args.distanceAvailable = False
    E.setInstanceLabels(args)  # the eight evaluated classes (match_instances' args carry them)
    return args


def _official(matches, args, keys):
    picked = {f"{k}#{j}": matches[k] for j, k in enumerate(keys)}
    with contextlib.redirect_stdout(io.StringIO()):
        avg = E.computeAverages(E.evaluateMatches(picked, args), args)
    return {"AP": 100 * float(avg["allAp"]), "AP50": 100 * float(avg["allAp50%"]),
            "per_class": {c: {"AP": 100 * float(v["ap"]), "AP50": 100 * float(v["ap50%"])}
                          for c, v in avg["classes"].items()}}


def _random_matches(rng, labels, n_images):
    """Evaluator-shaped matches: per image and class, ground truth (some groups, some small) each listing the
    predictions that touch it, and predictions listing the ground truth they touch, with void pixels."""
    out = {}
    for i in range(n_images):
        img = {"groundTruth": {}, "prediction": {}}
        for lab in labels:
            n_gt, n_pred = rng.integers(0, 5), rng.integers(0, 6)
            gts = [{"instID": int(rng.choice([500, 1000 + k])), "pixelCount": int(rng.integers(5, 300)),
                    "medDist": -1, "distConf": 0.0, "matchedPred": []} for k in range(n_gt)]
            preds = [{"pixelCount": int(rng.integers(5, 300)), "confidence": float(rng.choice([0.2, 0.5, 0.9,
                      round(rng.random(), 3)])), "voidIntersection": int(rng.integers(0, 5)), "matchedGt": []}
                     for _ in range(n_pred)]
            for p in preds:
                p["voidIntersection"] = min(p["voidIntersection"], p["pixelCount"])
                for g in gts:
                    if rng.random() < 0.5:
                        inter = int(rng.integers(0, min(g["pixelCount"], p["pixelCount"]) + 1))
                        g["matchedPred"].append({"pixelCount": p["pixelCount"], "intersection": inter,
                                                 "confidence": p["confidence"]})
                        p["matchedGt"].append({"instID": g["instID"], "pixelCount": g["pixelCount"],
                                               "intersection": inter, "medDist": -1, "distConf": 0.0})
            img["groundTruth"][lab], img["prediction"][lab] = gts, preds
        out[f"img{i}"] = img
    return out


@pytest.mark.parametrize("seed", range(6))
def test_random_matches_give_the_evaluators_ap_exactly(seed):
    rng = np.random.default_rng(seed)
    args = _args()
    matches = _random_matches(rng, args.instLabels, 6)
    keys = list(matches)
    scores = CE.image_scores(matches, args)
    finite = []
    for draw in [keys, list(rng.choice(keys, len(keys))), [keys[0]] * 3]:
        ours = CE.ap_from_image_scores(scores, args, draw)
        try:
            theirs = _official(matches, args, draw)
        except IndexError:  # a class with no entry at all: the evaluator fails, ours scores it 0 (docstring)
            continue
        np.testing.assert_equal(ours, theirs)  # NaN == NaN for classes without ground truth
        np.testing.assert_equal(CE.ap_from_matches(matches, args, draw), ours)
        finite += [v["AP50"] for v in ours["per_class"].values() if np.isfinite(v["AP50"])]
    assert any(0 < v < 100 for v in finite), finite  # the draws exercise real precision-recall curves


def test_evaluator_matches_give_the_evaluators_ap_exactly(tmp_path):
    ids = C.label_ids()
    rng = np.random.default_rng(1)
    h, w = 64, 128
    preds = []
    for i in range(4):
        labels = np.full((h, w), ids["road"], np.int64)
        inst = labels.copy()
        for k in range(3):
            y, x = rng.integers(0, h - 20), rng.integers(0, w - 30)
            cls = ["car", "person"][k % 2]
            labels[y:y + 20, x:x + 30] = ids[cls]
            inst[y:y + 20, x:x + 30] = ids[cls] * 1000 + k
        C.write_frame(tmp_path / "cs", "val", C.stem("simtown", 0, i), rng.integers(0, 255, (h, w, 3), np.uint8),
                      labels, inst)
        masks, lab = [], []
        for _ in range(6):  # shifted boxes: partial overlaps, duplicates and misses
            y, x = rng.integers(0, h - 20), rng.integers(0, w - 30)
            m = np.zeros((h, w), bool)
            m[y:y + int(rng.integers(5, 25)), x:x + int(rng.integers(5, 35))] = True
            masks.append(m)
            lab.append(ids[str(rng.choice(["car", "person"]))])
        preds.append((np.stack(masks), np.array(lab), np.round(rng.random(6), 2)))
    ds = C.CityscapesSet(tmp_path / "cs", "val")
    matches, args = CE.match_instances(ds, preds, tmp_path / "m", min_region_px=10)
    keys = list(matches)
    scores = CE.image_scores(matches, args)
    for draw in [keys, keys[1:] * 2, list(rng.choice(keys, 8))]:
        np.testing.assert_equal(CE.ap_from_image_scores(scores, args, draw), _official(matches, args, draw))


def test_distance_aware_args_are_refused():
    args = _args()
    args.distanceAvailable = True
    with pytest.raises(ValueError, match="distance-free"):
        CE.image_scores({}, args)


def test_a_class_with_no_entry_scores_zero_where_the_evaluator_fails():
    """Ground truth only missed, predictions only ignored (inside a group region): no (y_true, y_score) entry at
    all. The evaluator stops with an IndexError there; ours gives the class AP 0 (the stated departure)."""
    args = _args()
    lab = args.instLabels[0]
    pred = {"pixelCount": 50, "confidence": 0.9, "voidIntersection": 0,
            "matchedGt": [{"instID": 500, "pixelCount": 60, "intersection": 50, "medDist": -1, "distConf": 0.0}]}
    img = {"groundTruth": {c: [] for c in args.instLabels}, "prediction": {c: [] for c in args.instLabels}}
    img["groundTruth"][lab] = [{"instID": 1001, "pixelCount": 80, "medDist": -1, "distConf": 0.0, "matchedPred": []},
                               {"instID": 500, "pixelCount": 60, "medDist": -1, "distConf": 0.0, "matchedPred": []}]
    img["prediction"][lab] = [pred]
    matches = {"img0": img}
    with pytest.raises(IndexError):
        _official(matches, args, ["img0"])
    ours = CE.ap_from_matches(matches, args)
    assert ours["per_class"][lab]["AP"] == 0 and ours["per_class"][lab]["AP50"] == 0
