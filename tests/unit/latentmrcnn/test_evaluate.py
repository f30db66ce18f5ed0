"""Table I's evaluation: bootstrap replicates re-accumulate per-image matches exactly, and every mode predicts."""

import numpy as np
import pandas as pd
import pytest
import torch

from robopercept.formats.coco import CocoWriter
from robopercept.latentmrcnn import evaluate as E
from robopercept.latentmrcnn import metrics as M
from robopercept.latentmrcnn.data import InstanceSet
from robopercept.latentmrcnn.model import LatentMaskRCNN, ModelSettings

H, W = 40, 60


def scene(rng, writer, image_id_name):
    masks = []
    for _ in range(3):
        y, x = rng.integers(0, H - 12), rng.integers(0, W - 12)
        m = np.zeros((H, W), bool)
        m[y:y + int(rng.integers(6, 12)), x:x + int(rng.integers(6, 12))] = True
        masks.append(m)
    return masks


def build(tmp_path, image_masks):
    import cv2

    w = CocoWriter(["object"])
    for i, masks in enumerate(image_masks):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.zeros((H, W, 3), np.uint8))
        iid = w.add_image(f"{i}.png", H, W)
        for m in masks:
            w.add_instance(iid, 1, m)
    w.write(tmp_path / "gt.json")
    return InstanceSet(tmp_path / "gt.json", tmp_path)


def test_resampled_equals_evaluating_the_resampled_set(tmp_path):
    rng = np.random.default_rng(0)
    gts = [scene(rng, None, i) for i in range(4)]
    preds = [(np.stack([np.roll(m, int(rng.integers(-2, 3)), 1) for m in g]), rng.random(3)) for g in gts]
    ds = build(tmp_path, gts)
    evs = E.evaluators(E.gt_coco(ds), E.results(ds, preds), use_cats=True)
    row = E.table_row(evs)
    same = {k: E.SCORES[k](E.resampled(ev, np.arange(4))) for k, ev in evs.items()}
    assert same == pytest.approx(row)
    pos = np.array([2, 2, 0, 3])
    (tmp_path / "r").mkdir()
    ds2 = build(tmp_path / "r", [gts[i] for i in pos])
    direct = E.table_row(E.evaluators(E.gt_coco(ds2), E.results(ds2, [preds[i] for i in pos]), use_cats=True))
    assert {k: E.SCORES[k](E.resampled(ev, pos)) for k, ev in evs.items()} == pytest.approx(direct)
    reps = E.bootstrap_rows({"a": evs}, 5, 0)
    assert len(reps) == 5 and set(reps[0]["a"]) == {"MR@HP", "AR", "mAP"}


def test_every_mode_predicts_masks_of_the_image_size(tmp_path):
    rng = np.random.default_rng(1)
    ds = build(tmp_path, [scene(rng, None, 0)])
    torch.manual_seed(0)
    model = LatentMaskRCNN(ModelSettings(min_size=40, max_size=60, z_dim=4, encoder_roi=4, encoder_width=4,
                                         encoder_hidden=8, encoder_layers=1, prior_width=4, box_score_thresh=0.0))
    s = E.InferenceSettings(k=2, p=0.5, min_score=0.0)
    samples = E.sample_set(model, ds, s)
    assert len(samples) == 1 and len(samples[0]) == 2
    for mode in ("union_nms", "confidence", "prior_mean"):
        (masks, scores), = E.predict(model, ds, mode, s, samples=samples)
        assert masks.shape[1:] == (H, W) and len(masks) == len(scores)
    with pytest.raises(ValueError, match="unknown inference mode"):
        E.predict(model, ds, "mean", s)


def test_benchmark_command_runs_on_the_smoke_profile(tmp_path, capsys):
    import json

    from robopercept.latentmrcnn.benchmark import main

    assert main(["--profile", "smoke", "--k", "2", "--images", "1", "--json", str(tmp_path / "b.json")]) == 0
    r = json.loads((tmp_path / "b.json").read_text())
    assert r["k"] == 2 and r["maskrcnn_ms"] > 0 and r["latent_2_samples_ms"] > 0
    with pytest.raises(SystemExit):
        main(["--k", "0"])


def test_pooled_picks_pool_circles_and_areas():
    import pandas as pd

    from robopercept.latentmrcnn.table1 import add_intervals, pooled_picks

    # (D, N, predicted area, ground-truth area); an image without ground truth adds no area
    p = pooled_picks([(1, 10, 50, 100), (3, 30, 7, 0), (0, 0, 300, 300)])
    assert p == {"double_pick_pct": 10.0, "circles_in_one_mask": 40, "pickable_area_fraction": 350 / 400}
    t = pd.DataFrame({"method": ["a"], "x": [2.0]})
    add_intervals(t, [pd.DataFrame({"method": ["a"], "x": [v]}) for v in range(101)], ["x"])
    assert (t.x_lo.item(), t.x_hi.item()) == (2.5, 97.5)


def _square(y, x, size=8, hw=32):
    m = np.zeros((hw, hw), bool)
    m[y:y + size, x:x + size] = True
    return m


def test_sample_agreement_one_for_identical_samples_and_falls_when_they_disagree():
    from robopercept.latentmrcnn.table1 import sample_agreement

    a = (np.stack([_square(0, 0), _square(16, 16)]), np.array([0.9, 0.8]))
    assert sample_agreement([a, a, a]) == 1.0
    # the second sample keeps one object and moves the other: of the 4 (mask, other-sample) checks, 2 match
    b = (np.stack([_square(0, 0), _square(0, 20)]), np.array([0.9, 0.8]))
    assert sample_agreement([a, b]) == pytest.approx(0.5)
    # masks under min_score do not count; a sample with no mask makes every other sample's masks unmatched
    low = (np.stack([_square(0, 0)]), np.array([0.2]))
    assert sample_agreement([a, low]) == 0.0
    assert np.isnan(sample_agreement([low, low]))



def _dense_agreement(samples, min_score=0.5, iou=0.5):
    """sample_agreement as first written (a dense float32 product per pair of samples): the reference."""
    kept = [np.asarray(m, bool)[np.asarray(sc) > min_score] for m, sc in samples]
    kept = [m.reshape(len(m), m.shape[1] * m.shape[2]) for m in kept]
    hits = total = 0
    for i, a in enumerate(kept):
        for j, b in enumerate(kept):
            if i == j or len(a) == 0:
                continue
            total += len(a)
            if len(b) == 0:
                continue
            af, bf = a.astype(np.float32), b.astype(np.float32)
            inter = af @ bf.T
            union = af.sum(1)[:, None] + bf.sum(1)[None] - inter
            hits += int(((inter / np.maximum(union, 1)) >= iou).any(1).sum())
    return hits / total if total else float("nan")


@pytest.mark.parametrize("seed", range(4))
def test_sample_agreement_equals_the_dense_reference(seed):
    """The sparse all-pairs product gives the dense per-pair result exactly, with empty and low-scoring samples."""
    from robopercept.latentmrcnn.table1 import sample_agreement

    rng = np.random.default_rng(seed)
    samples = []
    for k in range(6):
        n = 0 if k == 2 else int(rng.integers(1, 7))
        masks = np.stack([_square(int(rng.integers(0, 30)), int(rng.integers(0, 30)), int(rng.integers(3, 14)), 48)
                          for _ in range(n)]) if n else np.zeros((0, 48, 48), bool)
        samples.append((masks, rng.random(n)))
    for min_score, iou in ((0.5, 0.5), (0.0, 0.3), (0.9, 0.7)):
        a, b = sample_agreement(samples, min_score, iou), _dense_agreement(samples, min_score, iou)
        assert a == b or (np.isnan(a) and np.isnan(b)), (min_score, iou, a, b)

def test_best_overlaps_takes_the_best_iou_and_the_largest_iop_over_all_ground_truths():
    from robopercept.latentmrcnn.table1 import best_overlaps

    pred = np.zeros((1, 10, 10), bool)
    pred[0, 0:2, 0:4] = True  # 8 pixels
    gt = np.zeros((2, 10, 10), bool)
    gt[0, 0:2, 2:4] = True  # A: 4 pixels inside the prediction: IoU 4/8, IoP 4/8
    gt[1, :, 0:3] = True  # B: 30 pixels, 6 shared: IoU 6/32, IoP 6/8 — its best IoP is on another mask than its best IoU
    out = best_overlaps([(pred, np.array([0.7]))], [gt])
    assert out.to_dict("records") == [{"image": 0, "score": pytest.approx(0.7), "iou": 0.5, "iop": 0.75}]
    empty = best_overlaps([(pred, np.array([0.7]))], [np.zeros((0, 10, 10), bool)])
    assert (empty.iou.item(), empty.iop.item()) == (0.0, 0.0)


def test_picking_table_bootstraps_paired_images_and_scores_each_row_over_the_same_images():
    from robopercept.latentmrcnn.table1 import picking_table

    ov = {"a": pd.DataFrame({"image": [0, 0, 1], "score": [0.9, 0.2, 0.8], "iou": [0.9, 0.1, 0.7],
                             "iop": [1.0, 0.3, 0.96]}),
          "b": pd.DataFrame({"image": [0, 1], "score": [0.5, 0.5], "iou": [0.6, 0.2], "iop": [0.5, 0.99]})}
    points = {k: {"per_image": [(1, 10, 50, 100), (3, 10, 70, 100)], "overlaps": v} for k, v in ov.items()}
    table, reps = picking_table(points, 20, seed=0)
    a, b = table.set_index("method").loc["a"], table.set_index("method").loc["b"]
    assert a.double_pick_pct == pytest.approx(20.0) and a.pickable_area_fraction == pytest.approx(0.6)
    assert a.auc == pytest.approx(1.0) and a["iop_above_0.95_pct"] == pytest.approx(200 / 3)
    assert b.predictions == 2 and b["iop_above_0.95_pct"] == pytest.approx(50.0)
    assert len(reps) == 20 and all(len(r) == 2 for r in reps)
    assert a.double_pick_pct_lo <= a.double_pick_pct <= a.double_pick_pct_hi


def test_table1_means_seeds_pairs_modes_in_every_replicate_and_labels_the_papers_columns(tmp_path):
    from robopercept.latentmrcnn.paper import TABLE1
    from robopercept.latentmrcnn.table1 import table1

    rng = np.random.default_rng(3)
    gts = [scene(rng, None, i) for i in range(5)]
    ds = build(tmp_path, gts)
    gt = E.gt_coco(ds)

    def evs(shift: int, drop: int):  # predictions: every mask shifted, the last `drop` of each image missing
        preds = [(np.stack([np.roll(m, shift, 1) for m in g])[:3 - drop], np.linspace(0.9, 0.5, 3)[:3 - drop])
                 for g in gts]
        return E.evaluators(gt, E.results(ds, preds), use_cats=True)

    per_seed = {("apparel", 0): {"maskrcnn": evs(1, 0), "confidence": evs(1, 0)},  # two modes alike in seed 0 ...
                ("apparel", 1): {"maskrcnn": evs(3, 1), "confidence": evs(3, 1)}}  # ... and in seed 1
    table, reps = table1(per_seed, n_boot=30, seed=7)
    t = table.set_index("mode")
    rows0, rows1 = E.table_row(per_seed["apparel", 0]["maskrcnn"]), E.table_row(per_seed["apparel", 1]["maskrcnn"])
    for name in ("MR@HP", "AR", "mAP"):
        assert t.loc["MaskRCNN", name] == pytest.approx((rows0[name] + rows1[name]) / 2)
        assert t.loc["MaskRCNN", f"{name}_std"] == pytest.approx(abs(rows0[name] - rows1[name]) / np.sqrt(2))
        assert (t[f"{name}_lo"] <= t[f"{name}_hi"]).all()
    assert list(table.method) == ["apparel: MaskRCNN", "apparel: Latent Confidence Mask"] and (table.seeds == 2).all()
    assert t.loc["Latent Confidence Mask", "paper_MR@HP"] == TABLE1["Apparel-5k"]["Latent Confidence Mask"][0]
    # paired: the same images and seeds are drawn for every mode, so two identical modes agree in every replicate
    assert len(reps) == 30
    for r in reps:
        r = r.set_index("method")
        assert r.loc["apparel: MaskRCNN"].equals(r.loc["apparel: Latent Confidence Mask"])
    assert any(r.set_index("method").loc["apparel: MaskRCNN", "mAP"] != reps[0].set_index("method").loc[
        "apparel: MaskRCNN", "mAP"] for r in reps)  # ... while the replicates themselves vary
    again, _ = table1(per_seed, n_boot=30, seed=7)
    pd.testing.assert_frame_equal(table, again)  # the bootstrap is seeded


def test_latent_use_sentences_split_sets_by_how_alike_their_samples_are():
    from robopercept.latentmrcnn.table1 import latent_use_sentences

    diag = pd.DataFrame({"set": ["Apparel-5k", "Apparel-1k", "Bins"], "sample_agreement": [0.97, 0.9, np.nan]})
    same, differ, unmeasured = latent_use_sentences(diag)
    assert same.startswith("The samples agree on more than 90 % of their masks on Apparel-5k:")
    assert differ.startswith("On Apparel-1k the samples differ (agreement at or under 90 %)")  # the boundary: "differ"
    assert unmeasured.startswith("On Bins no sample has a mask scoring above 0.5")
    every = latent_use_sentences(diag.iloc[:1])
    assert len(every) == 1 and "on every set:" in every[0]
    assert latent_use_sentences(diag.iloc[:2], agree_th=0.95)[0].startswith("The samples agree on more than 95 %")
    with pytest.raises(ValueError, match="agree_th must lie in"):
        latent_use_sentences(diag, agree_th=90)
    with pytest.raises(ValueError, match="empty diagnostics"):
        latent_use_sentences(diag.iloc[:0])


@pytest.mark.parametrize("use_cats", [True, False])
def test_resampled_scores_equal_pycocotools_accumulate_bit_for_bit(tmp_path, use_cats):
    """The bootstrap's vectorised re-accumulation (:func:`E.resampled_scores`) against pycocotools' accumulate on
    the same resample (:func:`E.resampled`): the precision and recall Table I reads, and its three scores, equal
    exactly — on images without ground truth, images without detections, repeated images, two categories, ties in
    score, and every overlap."""
    import cv2

    rng = np.random.default_rng(3)
    w = CocoWriter(["a", "b"])
    results = []
    for i in range(9):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.zeros((H, W, 3), np.uint8))
        iid = w.add_image(f"{i}.png", H, W)
        gts = [] if i == 4 else scene(rng, None, i)
        for m in gts:
            w.add_instance(iid, int(rng.integers(1, 3)), m)
        if i == 6:
            continue  # no detection on this image
        for m in gts + scene(rng, None, i):  # near-copies of the ground truth and stray masks
            d = np.roll(m, int(rng.integers(-3, 4)), int(rng.integers(0, 2)))
            score = float(np.round(rng.random(), 1))  # rounded: ties between images
            results += M.results_for(iid, d[None], [score],
                                     int(rng.integers(1, 3)))
    w.write(tmp_path / "gt.json")
    ds = InstanceSet(tmp_path / "gt.json", tmp_path)
    evs = E.evaluators(E.gt_coco(ds), results, use_cats=use_cats)
    draws = [np.arange(9), np.array([4, 4, 6]), np.array([6]), np.array([4]), *(rng.integers(0, 9, 9) for _ in range(20))]
    seen = set()
    for name, ev in evs.items():
        for pos in draws:
            ref, fast = E.resampled(ev, pos), E.resampled_scores(ev, pos)
            assert np.array_equal(ref.eval["precision"][:, :, :, 0, -1], fast.eval["precision"][:, :, :, 0, 0]), (name, pos)
            assert np.array_equal(ref.eval["recall"][:, :, 0, -1], fast.eval["recall"][:, :, 0, 0]), (name, pos)
            a, b = E.SCORES[name](ref), E.SCORES[name](fast)
            assert a == b or (np.isnan(a) and np.isnan(b)), (name, pos, a, b)
            seen.add("nan" if np.isnan(a) else "0" if a == 0 else "100" if a == 100 else "between")
    assert seen == {"nan", "0", "between"}, seen  # the draws reach every branch: no ground truth, no detection, partial
