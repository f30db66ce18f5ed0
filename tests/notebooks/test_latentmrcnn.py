"""latentmrcnn's stages on the smoke profile, and their outputs' contracts."""

import pandas as pd
import pytest

from conftest import read_metrics
from robopercept.latentmrcnn.data import InstanceSet

pytestmark = pytest.mark.notebook


def test_data_stage_writes_coco_sets(latentmrcnn_pipeline):
    out = latentmrcnn_pipeline
    for name, n_train in (("apparel", 4), ("catalog", 2), ("street", 2)):
        root = out / f"artifacts/datasets/latentmrcnn_{name}"
        ds = InstanceSet(root / "annotations/instances_train.json", root)
        assert len(ds) == n_train and sum(len(v) for v in ds.by_image.values()) > 0
    stats = pd.read_csv(out / "reports/tables/latentmrcnn/dataset_statistics.csv")
    assert set(stats.set) == {"apparel", "catalog", "street"} and set(stats.split) == {"train", "val"}
    m = read_metrics(out / "reports/metrics/latentmrcnn/datasets.json", paper="latentmrcnn", stage="latentmrcnn_data")
    assert m["values"]["apparel_train_images"] == 4 and 0 <= m["values"]["apparel_same_family_boundary_pct"] <= 100
    for fig in ("dataset_examples", "family_prints"):
        assert (out / f"reports/figures/latentmrcnn/{fig}.png").exists()


def test_train_stage_trains_both_models_on_every_set(latentmrcnn_pipeline):
    import torch

    out = latentmrcnn_pipeline
    runs = pd.read_csv(out / "reports/tables/latentmrcnn/training_runs.csv")
    assert set(zip(runs.set, runs.model)) == {(s, m) for s in ("apparel", "catalog", "street")
                                              for m in ("MaskRCNN", "Latent-MaskRCNN")}
    assert runs.final_loss.gt(0).all() and runs[runs.model == "Latent-MaskRCNN"].final_kl.notna().all()
    ckpt = torch.load(out / "artifacts/models/latentmrcnn/apparel_latent_seed0/model.pt", weights_only=True)
    assert ckpt["kind"] == "latent" and len(ckpt["history"]) == 2 and "seconds" not in ckpt["history"][0]
    assert any(k.startswith("prior.") for k in ckpt["model"])


def test_table1_stage_writes_every_table_figure_and_claim(latentmrcnn_pipeline):
    out = latentmrcnn_pipeline
    t = pd.read_csv(out / "reports/tables/latentmrcnn/table1.csv")
    assert set(t["mode"]) == {"MaskRCNN", "Latent Union NMS", "Latent Confidence Mask", "Latent Prior Mean"}
    assert set(t.set) == {"apparel", "catalog", "street"}
    assert t.loc[(t.set == "apparel") & (t["mode"] == "MaskRCNN"), "paper_MR@HP"].item() == 23.6  # Apparel-5k's
    assert t.loc[(t.set == "catalog") & (t["mode"] == "MaskRCNN"), "paper_mAP"].item() == 35.0  # COCO's
    assert t.loc[(t.set == "street") & (t["mode"] == "MaskRCNN"), "paper_mAP"].item() == 35.8  # Cityscapes'
    for c in ("MR@HP", "AR", "mAP"):
        assert t[c].between(0, 100).all() and (t[f"{c}_lo"] <= t[c] + 1e-9).all() and (t[c] <= t[f"{c}_hi"] + 1e-9).all()
    for name, n in (("table1_claims", 5), ("picking_claims", 4)):
        c = pd.read_csv(out / f"reports/tables/latentmrcnn/{name}.csv")
        assert len(c) == n and set(c.verdict) <= {"held", "missed", "inconclusive", "not evaluated"}
    d = pd.read_csv(out / "reports/tables/latentmrcnn/latent_diagnostics.csv")
    assert list(d.set) == ["apparel", "catalog", "street"] and d.final_kl.ge(0).all()
    assert d.sample_agreement.dropna().between(0, 1).all() and (d.paper_maskrcnn_mAP == [26.9, 35.0, 35.8]).all()
    sweep = pd.read_csv(out / "reports/tables/latentmrcnn/fig5_sweep.csv")
    assert set(sweep.p.dropna()) == {0.5, 0.9, 1.0}
    m = read_metrics(out / "reports/metrics/latentmrcnn/table1.json", paper="latentmrcnn", stage="latentmrcnn_table1")
    assert len(m["claims"]["verdicts"]) == 9
    picking = pd.read_csv(out / "reports/tables/latentmrcnn/table3_picking.csv")
    assert {"apparel: Confidence p=0.5", "apparel: Confidence p=1", "apparel: Confidence mask"} <= set(picking.method)
    assert picking["iop_above_0.95_pct"].dropna().between(0, 100).all()
    for fig in ("fig5_fig8_right", "fig8_score_vs_iou", "fig4_confidence_masks", "fig4_construction", "fig7_samples"):
        assert (out / f"reports/figures/latentmrcnn/{fig}.png").exists()



def test_table1_evaluations_are_the_same_bytes_on_one_worker_and_on_two(latentmrcnn_pipeline):
    """latentmrcnn_eval.workers says how Table I's (set, seed) pairs run, never what they give: the smoke profile's
    one in-process worker (torch on one thread) and a pool of two score, sweep and diagnose identically."""
    import dataclasses
    import pickle

    import numpy as np

    from robopercept.config import load_profile
    from robopercept.latentmrcnn import evaluate as E
    from robopercept.latentmrcnn import table1 as T1
    from robopercept.latentmrcnn.config import LatentEvalConfig
    from robopercept.seed import derive_seed

    params = load_profile("smoke")
    ecfg = LatentEvalConfig.from_mapping(params["latentmrcnn_eval"])
    assert ecfg.workers == 1
    s = E.InferenceSettings(k=ecfg.k, p=ecfg.p, nms_iou=ecfg.nms_iou, min_score=ecfg.min_score,
                            seed=derive_seed(params["seed"], "latentmrcnn_sampling"))
    kw = dict(models_dir=latentmrcnn_pipeline / "artifacts/models/latentmrcnn",
              datasets_dir=latentmrcnn_pipeline / "artifacts/datasets", s=s)
    sets = ["apparel", "street"]  # the smoke profile trains one seed: two (set, seed) pairs, one per worker
    one = T1.evaluate_all(sets, 1, ecfg=ecfg, **kw)
    two = T1.evaluate_all(sets, 1, ecfg=dataclasses.replace(ecfg, workers=2), **kw)
    assert list(one) == list(two) == [("apparel", 0), ("street", 0)]
    for key in one:
        a, b = one[key], two[key]
        assert {m: E.table_row(ev) for m, ev in a.evaluators.items()} == \
            {m: E.table_row(ev) for m, ev in b.evaluators.items()}
        assert np.array_equal(a.agreement, b.agreement, equal_nan=True) and a.masks_per_sample == b.masks_per_sample
        assert a.sweep is not None and pickle.dumps((a.sweep, a.examples)) == pickle.dumps((b.sweep, b.examples))

def test_table2_robot_stage_writes_the_table_with_oracle_paper_columns_and_claims(latentmrcnn_pipeline):
    from robopercept.latentmrcnn import robot as R

    out = latentmrcnn_pipeline
    t = pd.read_csv(out / "reports/tables/latentmrcnn/table2.csv")
    assert list(t.method) == list(R.METHODS)  # MaskRCNN, the confidence masks, and the oracle row
    assert (t.picks == 4).all() and t.double_pick_pct.between(0, 100).all()
    assert (t.double_sealed_on_two + t.double_dragged_along == t.double_picks).all()
    assert t.set_index("method").loc["MaskRCNN", "paper_double_pick_pct"] == 4.40
    assert t.set_index("method").loc[R.ORACLE, "double_sealed_on_two"] == 0  # ground truth never spans two items
    assert t[[f"n_{k}" for k in R.OUTCOMES]].sum(axis=1).eq(t.picks).all()
    c = pd.read_csv(out / "reports/tables/latentmrcnn/table2_claims.csv")
    assert len(c) == 2 and set(c.verdict) <= {"held", "missed", "inconclusive", "not evaluated"}
    m = read_metrics(out / "reports/metrics/latentmrcnn/table2.json", paper="latentmrcnn", stage="latentmrcnn_table2")
    assert m["values"]["picks_per_method"] == 4 and len(m["claims"]["verdicts"]) == 2
    for fig in ("table2_outcomes", "table2_double_picks"):
        assert (out / f"reports/figures/latentmrcnn/{fig}.png").exists()
