"""graspseg §III-B, §V, §VI notebooks on the smoke profile: what each stage writes."""

import json

import numpy as np
import pandas as pd
import pytest

from conftest import read_metrics
from robopercept.graspseg.crops import load_crops, read_index
from robopercept import paths
from robopercept.graspseg.config_instances import Table2Config
from robopercept.graspseg.inpaint import BoundaryInpainter, OpenCVInpainter
from robopercept.graspseg.table2_train import row_inpainter
from robopercept.reporting.claims import load_spec

pytestmark = pytest.mark.notebook
CLAIMS = paths.root() / "src" / "robopercept" / "graspseg"


def test_crops_stage(graspseg_instances_pipeline):
    out = graspseg_instances_pipeline
    crops = out / "artifacts/datasets/graspseg_crops"
    for name in ("Grasp-100_seed0", "Subtract"):
        ix = read_index(crops / name)
        assert ix["considered"] == 6  # smoke: every unlabeled grasp
        assert ix["kept"] <= ix["nonempty"] <= ix["considered"]
    assert read_index(crops / "Grasp-100_seed0")["checkpoint_md5"]
    assert len(load_crops(crops / "Grasp-100_seed0", filtered=False)) == read_index(crops / "Grasp-100_seed0")["nonempty"]
    summary = pd.read_csv(out / "reports/tables/graspseg/crops_summary.csv")
    assert list(summary.source) == ["Grasp-100_seed0", "Subtract"]
    quality = pd.read_csv(out / "reports/tables/graspseg/inpainting_quality.csv")
    # OpenCV at the band's radius and at the radius Table II's Paste-Grasp-OpenCVInpaint row trains with
    radius3 = f"OpenCV Telea (radius {OpenCVInpainter().radius}: Table II's row)"
    assert set(quality.inpainter) == {"diffusion (ours, 4 steps)", "OpenCV Telea", radius3}
    assert row_inpainter("Paste-Grasp-OpenCVInpaint", Table2Config(), None) == OpenCVInpainter()
    assert (quality.MAE_lo <= quality.MAE + 1e-9).all() and (quality.MAE <= quality.MAE_hi + 1e-9).all()
    assert BoundaryInpainter.load(out / "artifacts/models/graspseg/inpainter").steps == 4
    for fig in ("crops_Grasp-100", "crops_Subtract", "inpainter_curve", "fig3_paste_inpaint"):
        assert (out / f"reports/figures/graspseg/{fig}.png").stat().st_size > 1000
    m = read_metrics(out / "reports/metrics/graspseg/crops.json", paper="graspseg", stage="graspseg_crops")
    assert m["values"]["unlabeled_grasps"] == 6 and m["values"]["dilation_px"] >= 1
    # smoke: the second of the two unlabeled shards is filled with test objects (§IV-A: "training and test objects")
    assert m["values"]["unlabeled_test_object_grasps"] == 2
    # each Grasp-100 seed's filter is recall-matched: the threshold in its crops' provenance is the one reported
    assert m["values"]["filter_calibration"] == "recall-matched"
    assert read_index(crops / "Grasp-100_seed0")["filter"]["t_ent"] == pytest.approx(m["values"]["t_ent"]["Grasp-100_seed0"],
                                                                               rel=1e-5)  # metrics: 6 digits


def test_table2_stage(graspseg_instances_pipeline):
    from robopercept.graspseg.config_instances import TABLE2_ROWS

    out = graspseg_instances_pipeline
    table = pd.read_csv(out / "reports/tables/graspseg/table2.csv")
    assert list(table.method) == list(TABLE2_ROWS)  # every paper row, paper order (empty cells if not trained)
    training = pd.read_csv(out / "reports/tables/graspseg/table2_training.csv")
    trained = set(training.row)
    # smoke models are untrained: the filters may keep no crop, and such a row is reported, not trained
    assert {"Mask2Former-100", "Mask2Former-1000", "Paste-Train", "Paste-Grasp", "Paste-Grasp-Inpaint",
            "Paste-Grasp-OpenCVInpaint"} <= trained
    assert table.set_index("method").loc[sorted(set(TABLE2_ROWS) - trained), "AP"].isna().all()
    ours = table.method == "Paste-Grasp-OpenCVInpaint"  # our reference row: no paper number
    assert table[~ours].paper_AP.notna().all() and table[ours].paper_AP.isna().all()
    assert table.set_index("method").loc["Paste-Grasp-Inpaint", "paper_AP"] == 72.33
    for m in ("AP@0.5", "AP@0.75", "AP_L", "AP_M"):  # every metric carries its interval
        has = table.dropna(subset=[m])
        assert (has[f"{m}_lo"] <= has[m] + 1e-9).all() and (has[m] <= has[f"{m}_hi"] + 1e-9).all()
    ok = table.dropna(subset=["AP"])
    assert (ok.AP_lo <= ok.AP + 1e-9).all() and (ok.AP <= ok.AP_hi + 1e-9).all()
    assert table.set_index("method").loc["Mask2Former-1000", "labeled_images"] == 2  # smoke: 4 labeled - 2 val
    for r in trained:
        res = json.loads((out / f"artifacts/models/graspseg/table2/{r}_seed0/results.coco.json").read_text())
        assert all({"image_id", "segmentation", "score", "category_id"} <= set(x) for x in res)
    claims = pd.read_csv(out / "reports/tables/graspseg/table2_claims.csv")
    assert list(claims.id) == [c["id"] for c in load_spec(CLAIMS / "claims_table2.yaml")["claims"]]
    assert set(claims.verdict) <= {"held", "missed", "inconclusive", "not evaluated"}
    # seeds that never learned (best validation AP < 1 %) are counted per row, and claims naming them flagged
    failed = training[training.val_AP < 1.0].groupby("row").size().reindex(table.method, fill_value=0)
    assert list(table.untrained_seeds) == list(failed)
    flagged = claims.untrained_rows.fillna("")
    assert (flagged != "").sum() == sum(any(r in str(f).split(", ") for r in failed[failed > 0].index) for f in flagged)
    assert (training.steps == training.max_steps).all() and set(training.max_steps) <= {2, 4}
    # every trained model's log, published from its shard after the plan (common.live: a resumed run publishes all)
    logs = sorted(d.name for d in (out / "reports/training/graspseg/table2").iterdir() if d.is_dir())
    assert logs == sorted(f"{r}_seed{k}" for r, k in zip(training.row, training.seed)), logs
    assert all((out / f"artifacts/models/graspseg/table2/{key}/live").is_dir() for key in logs)
    for fig in ("table2_curves", "table2_ap", "table2_examples"):
        assert (out / f"reports/figures/graspseg/{fig}.png").stat().st_size > 1000
    # Table II's AP replicates, for Table III's consistency claim: one row per replicate and row
    reps = pd.read_csv(out / "artifacts/models/graspseg/table2_ap_replicates.csv")
    assert len(reps) == 20 * len(TABLE2_ROWS) and reps.replicate.nunique() == 20  # smoke: n_boot 20
    # each claim on each seed's own table too (smoke: one seed)
    assert claims.held_by_seed.notna().all() and (claims.held_by_seed.str.split(", ").str.len() == 1).all()
    m = read_metrics(out / "reports/metrics/graspseg/table2.json", paper="graspseg", stage="graspseg_table2")
    assert set(m["claims"]["verdicts"]) == set(claims.id)


def test_table3_stage(graspseg_instances_pipeline):
    from robopercept.graspseg.table3 import ORACLE

    out = graspseg_instances_pipeline
    table = pd.read_csv(out / "reports/tables/graspseg/table3.csv")
    trained = set(pd.read_csv(out / "reports/tables/graspseg/table2_training.csv").row)
    expected = [r for r in ("Paste-Subtract-Robust", "Mask2Former-1000", "Paste-Grasp-Inpaint") if r in trained]
    assert list(table.method) == [*expected, ORACLE] and len(expected) >= 2
    assert (table.trials == 4).all()  # smoke: 4 trials, every model on the same bins
    fails = table.filter(like="fail_").sum(axis=1)
    assert (fails == table.errors).all()
    assert (table.error_lo <= table.error_pct + 1e-9).all() and (table.error_pct <= table.error_hi + 1e-9).all()
    assert table.set_index("method").loc["Mask2Former-1000", "paper_error_pct"] == 8.78
    claims = pd.read_csv(out / "reports/tables/graspseg/table3_claims.csv")
    assert list(claims.id) == [c["id"] for c in load_spec(CLAIMS / "claims_table3.yaml")["claims"]]
    assert "untrained_rows" in claims.columns  # Table II seeds that never learned are carried into Table III
    # every pick's planned mask diagnosed: the shares of each model's planned picks add up to 100 %, and the oracle's
    # ground-truth masks are good on every pick (it plans on every bin)
    masks = pd.read_csv(out / "reports/tables/graspseg/table3_masks.csv").set_index("method")
    planned = masks.filter(regex=r"^planned_.*_pct$")
    has_plan = masks.picks_with_a_plan > 0
    assert np.allclose(planned[has_plan].sum(axis=1), 100)
    assert masks.loc[ORACLE, "picks_with_a_plan"] == 4 and masks.loc[ORACLE, "planned_good_pct"] == 100
    assert masks.loc[ORACLE, ["objects_split_per_bin", "objects_missed_per_bin", "masks_grouped_per_bin"]].sum() == 0
    failed_on = masks.filter(regex=r"^planned_.*_failed$").sum(axis=1)
    t = table.set_index("method")
    assert (failed_on <= t.errors).all()  # failures with a plan (no_mask has none)
    assert (out / "reports/figures/graspseg/fig4_failures.png").exists()
    read_metrics(out / "reports/metrics/graspseg/table3.json", paper="graspseg", stage="graspseg_table3")


def test_tables_2_and_3_when_the_profile_trains_no_table2_row(graspseg_instances_pipeline, run_stage, tmp_path):
    """The cpu profile trains no Table II row (graspseg_table2.rows: []; README "Profiles"): graspseg_table2 still
    writes every output dvc.yaml declares — placeholders the site shows as not trained, every claim "not evaluated"
    with the reason — and graspseg_table3 runs the oracle row alone, its model claims not evaluated. Runs from a
    fresh folder on the smoke pipeline's inputs, so the shared pipeline's outputs are left alone."""
    import yaml

    from robopercept.config import load_profile
    from robopercept.graspseg.table3 import ORACLE
    from robopercept.reporting import not_trained

    src = graspseg_instances_pipeline
    for sub in ("datasets/graspseg_grasps", "datasets/graspseg_crops", "models/graspseg/inpainter", "models/pretrain"):
        (tmp_path / "artifacts" / sub).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "artifacts" / sub).symlink_to(src / "artifacts" / sub)
    # a model left from a run with rows must not enter Table III: rows [] means none, whatever lies in the folder
    stale = tmp_path / "artifacts/models/graspseg/table2"
    stale.mkdir(parents=True)
    (stale / "Paste-Grasp-Inpaint_seed0").symlink_to(src / "artifacts/models/graspseg/table2/Paste-Grasp-Inpaint_seed0")
    params = load_profile("smoke")
    params["graspseg_table2"]["rows"] = []
    status = "not trained at this profile (graspseg_table2.rows: [])"
    nb, _ = run_stage("graspseg_table2", out=tmp_path, params=params)
    assert "Table II is not trained at profile smoke" in nb.read_text()
    stages = yaml.safe_load((paths.root() / "dvc.yaml").read_text())["stages"]
    for stage in ("graspseg_table2",):
        outs = stages[stage]
        declared = [next(iter(o)) if isinstance(o, dict) else o for o in outs["outs"] + outs["metrics"]]
        missing = [d for d in declared if not (tmp_path / d).exists()]
        assert not missing, missing
    for name in ("table2", "table2_training"):
        t = pd.read_csv(tmp_path / f"reports/tables/graspseg/{name}.csv")
        assert not_trained.is_placeholder(t) and t.status[0] == status, name
    claims = pd.read_csv(tmp_path / "reports/tables/graspseg/table2_claims.csv")
    assert list(claims.id) == [c["id"] for c in load_spec(CLAIMS / "claims_table2.yaml")["claims"]]
    assert (claims.verdict == "not evaluated").all() and (claims.caveat == f"table2 {status}").all()
    for fig in ("table2_curves", "table2_ap", "table2_examples"):
        assert (tmp_path / f"reports/figures/graspseg/{fig}.png").stat().st_size > 0
    m = read_metrics(tmp_path / "reports/metrics/graspseg/table2.json", paper="graspseg", stage="graspseg_table2")
    assert set(m["claims"]["verdicts"].values()) == {"not evaluated"}

    nb3, _ = run_stage("graspseg_table3", out=tmp_path, params=params)
    outs = stages["graspseg_table3"]
    declared = [next(iter(o)) if isinstance(o, dict) else o for o in outs["outs"] + outs["metrics"]]
    assert not [d for d in declared if not (tmp_path / d).exists()]
    table = pd.read_csv(tmp_path / "reports/tables/graspseg/table3.csv")
    assert list(table.method) == [ORACLE] and (table.trials == 4).all()  # the stale model above is not used
    claims3 = pd.read_csv(tmp_path / "reports/tables/graspseg/table3_claims.csv").set_index("id")
    assert list(claims3.index) == [c["id"] for c in load_spec(CLAIMS / "claims_table3.yaml")["claims"]]
    assert (claims3.verdict == "not evaluated").all()  # every Table III claim compares Table II's models
    assert claims3.caveat.str.contains(f"table2 {status}", regex=False).all()
    assert "Table II is not trained at profile smoke" in nb3.read_text()
