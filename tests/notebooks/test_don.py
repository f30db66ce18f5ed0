"""don's stages on the smoke profile, and their outputs' contracts."""

import json

import pandas as pd
import pytest

from conftest import read_metrics
from robopercept.formats.don_logs import DonLogs

pytestmark = pytest.mark.notebook


def test_data_stage_writes_logs_the_reader_accepts(don_pipeline):
    out = don_pipeline
    logs = DonLogs(out / "artifacts/datasets/don_logs", "robopercept_don")
    logs.check()
    assert logs.scenes("train", "single") == ["single_train_000", "single_train_001"]
    summary = pd.read_csv(out / "reports/tables/don/scene_logs.csv")
    assert set(zip(summary.kind, summary.split)) == {("single", "train"), ("single", "val"), ("multi", "train"),
                                                     ("multi", "val"), ("multi", "test")}
    assert len(pd.read_csv(out / "reports/tables/don/known_objects.csv")) == 8
    m = read_metrics(out / "reports/metrics/don/scene_logs.json", paper="don", stage="don_data")
    assert m["values"]["scenes"] == 7 and m["values"]["frames"] > 0  # smoke: 2 test scenes, all 8 known objects
    assert set(m["tables"]["scene_logs"]) == {f"{k}_{s}" for k, s in zip(summary.kind, summary.split)}  # every row
    for fig in ("scene_examples", "arc"):
        assert (out / f"reports/figures/don/{fig}.png").exists()


def test_training_stage_trains_every_configuration_once_per_seed(don_pipeline):
    from robopercept.config import load_profile, validate_params
    from robopercept.don.experiments import unique_variants

    out = don_pipeline
    summary = pd.read_csv(out / "reports/tables/don/training.csv")
    cfg = validate_params(load_profile("smoke"))["don_train"]
    keys = {v.key() for v in unique_variants(cfg, 1)}  # smoke: one multi-object training scene
    assert set(summary.key) == keys and len(summary) == len(keys) * cfg.seeds  # shared rows trained once
    assert summary.val_pck80.between(0, 1).all() and (summary.best_step <= summary.steps).all()
    for k in keys:
        assert (out / f"artifacts/models/don/{k}_seed0/model.pt").is_file()
    m = read_metrics(out / "reports/metrics/don/training.json", paper="don", stage="don_train")
    assert m["values"]["models"] == len(summary)
    assert summary.columns[0] == "model"
    assert list(summary.model) == [f"{k}_seed{s}" for k, s in zip(summary.key, summary.seed)]
    assert set(m["tables"]["training"]) == set(summary.model)  # one row a model (keyed by best_step, rows overwrote)


def test_eval_stage_writes_every_table_with_paper_columns_and_claims(don_pipeline):
    out = don_pipeline
    t1 = pd.read_csv(out / "reports/tables/don/table1.csv")
    assert len(t1) == 7 and t1.paper_AUC.notna().all()
    assert t1.AUC.between(0, 1).all() and (t1.AUC_lo <= t1.AUC + 1e-9).all() and (t1.AUC <= t1.AUC_hi + 1e-9).all()
    assert t1.set_index("table1").loc["NT-Xent + Multi-Object + Augmentations", "paper_AUC"] == 0.621
    # the untrained control: each row beside the network it starts from (its D, its matching), seeds not above it
    assert t1.untrained_AUC.between(0, 1).all() and t1.untrained_seeds.between(0, 1).all()  # smoke: 1 seed
    starts = pd.read_csv(out / "reports/tables/don/untrained_control.csv")
    assert set(starts.control) == {"untrained_D3_cosine", "untrained_D16_cosine", "untrained_D3_l2", "untrained_D16_l2"}
    assert (t1.steps >= 1).all() and (t1.steps * t1.batch_size <= t1.steps.max()).all()  # same pairs, 1/B updates
    for name in ("fig5_scenes", "fig6_augmentations", "table2", "table3", "table4", "fig4_tracking_quartiles"):
        assert len(pd.read_csv(out / f"reports/tables/don/{name}.csv")) > 0, name
    fig6 = pd.read_csv(out / "reports/tables/don/fig6_augmentations.csv")
    assert list(fig6.fig6)[:2] == ["none", "+ resize_crop"] and len(fig6) == 10
    claims = pd.read_csv(out / "reports/tables/don/claims.csv")
    assert len(claims) == 17 and set(claims.verdict) <= {"held", "missed", "inconclusive", "not evaluated"}
    assert "untrained_rows" in claims.columns  # claims comparing a row that never left its start are flagged
    # smoke's sweeps are cut (1 scene, D 3/16, batch 1/2, the default counts): claims on rows it did not train are
    # "not evaluated" (naming the row), those on Table I and Fig. 6 (every row trained) are evaluated
    evaluated = set(claims.id[claims.verdict != "not evaluated"])
    assert evaluated == {"multi_beats_single", "ntxent_beats_pixelwise", "augmentations_hurt_single", "ntxent_multi_aug_best",
                         "long_tails",
                         "perspective_affine_most_beneficial", "flips_rotations_no_benefit",
                         "color_augmentations_small_decrease"}
    # every experiment is trained here: a claim is "not evaluated" only for a point smoke's sweep leaves out, and
    # its caveat names the row (an experiment left out of don_train.experiments: the next test)
    caveats = claims.set_index("id").caveat.fillna("")
    assert all(caveats[i].startswith("not in this profile's sweep: ") for i in set(claims.id) - evaluated)
    assert not any("not trained at this profile" in c for c in caveats)
    assert (caveats[sorted(evaluated)] == "").all()
    pairs = json.loads((out / "artifacts/models/don_eval_inputs/pairs.json").read_text())
    assert len({p["object"] for p in pairs}) == 8  # every known object (notebook 3 stops otherwise)
    for fig in ("fig4_tracking", "fig5_scenes", "fig6_augmentations", "fig1_descriptors"):
        assert (out / f"reports/figures/don/{fig}.png").stat().st_size > 1000
    m = read_metrics(out / "reports/metrics/don/correspondence.json", paper="don", stage="don_eval")
    assert set(m["claims"]["verdicts"]) == set(claims.id)


DROPPED_CLAIMS = {"perspective_affine_most_beneficial": "fig6", "flips_rotations_no_benefit": "fig6",
                  "color_augmentations_small_decrease": "fig6", "dimensions_help": "table2",
                  "ntxent_batch_invariant": "table3", "pixelwise_batch_hurts": "table3",
                  "ntxent_less_sensitive": "table3, table4", "pixelwise_needs_20k": "table4",
                  "both_robust_to_correspondences": "table4"}  # the claims on Fig. 6 and Tables II-IV: their experiments


def test_eval_stage_writes_every_declared_output_when_experiments_are_left_out(don_pipeline, run_stage, tmp_path):
    """The cpu profile trains Table I and Fig. 5 only: don_eval still writes every output dvc.yaml declares (the
    left-out experiments' tables and figures say so) and the claims on their rows read "not evaluated". Scores the
    smoke pipeline's models (a superset) from a fresh folder, so the shared pipeline's outputs are left alone."""
    import yaml

    from robopercept import paths
    from robopercept.config import load_profile

    for sub in ("datasets", "models/don"):  # don_eval's inputs: the scene logs and don_train's models
        (tmp_path / "artifacts" / sub).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "artifacts" / sub).symlink_to(don_pipeline / "artifacts" / sub)
    params = load_profile("smoke")
    params["don_train"]["experiments"] = ["table1", "fig5"]
    nb, _ = run_stage("don_eval", out=tmp_path, params=params)
    text = nb.read_text()
    assert "Not trained at this profile: fig6, table2, table3, table4." in text
    assert "Not evaluated here: row 'fig6: + affine' is not in the table" in text  # the claim names its missing row
    assert "*fig6 not trained at this profile (don_train.experiments: table1, fig5)*" in text  # and why: its caveat
    outs = yaml.safe_load((paths.root() / "dvc.yaml").read_text())["stages"]["don_eval"]
    declared = [next(iter(o)) if isinstance(o, dict) else o for o in outs["outs"] + outs["metrics"]]
    missing = [d for d in declared if not (tmp_path / d).exists()]
    assert not missing, missing
    from robopercept.reporting import not_trained

    for name in ("fig6_augmentations", "table2", "table3", "table4"):
        t = pd.read_csv(tmp_path / f"reports/tables/don/{name}.csv")
        assert list(t.columns) == ["experiment", "status"] and len(t) == 1, name
        assert t.status[0] == "not trained at this profile (don_train.experiments: table1, fig5)", name
        assert not_trained.is_placeholder(t), name  # what the site shows as not trained and does not count
    assert (tmp_path / "reports/figures/don/fig6_augmentations.png").stat().st_size > 0
    assert len(pd.read_csv(tmp_path / "reports/tables/don/table1.csv")) == 7  # the trained ones as before
    assert "NT-Xent, 1 scene, augmentations" in set(pd.read_csv(tmp_path / "reports/tables/don/fig5_scenes.csv").fig5)
    claims = pd.read_csv(tmp_path / "reports/tables/don/claims.csv").set_index("id")
    claims["caveat"] = claims.caveat.fillna("")
    assert set(DROPPED_CLAIMS) <= set(claims.index)
    assert (claims.loc[sorted(DROPPED_CLAIMS), "verdict"] == "not evaluated").all()
    # claims.csv says why, for each of the 9 (their experiment; at smoke's full run the same claims are "not
    # evaluated" for a point smoke's sweep leaves out, a caveat of another text: the test above)
    assert {i: claims.caveat[i] for i in DROPPED_CLAIMS} == {
        i: f"{e} not trained at this profile (don_train.experiments: table1, fig5)" for i, e in DROPPED_CLAIMS.items()}
    # the trained experiments' claims: every Table I claim evaluated; Fig. 5's read 3 and 15 scenes, which smoke's
    # 1 multi-object training scene cannot give (tests/unit/test_don_claim_rows.py finds them at the cpu profile)
    table1 = {"multi_beats_single", "ntxent_beats_pixelwise", "augmentations_hurt_single", "ntxent_multi_aug_best",
              "long_tails"}
    fig5 = {"three_scenes_match_cross_object", "more_scenes_help", "augmentations_help_more_with_less_data"}
    assert set(claims.index) == set(DROPPED_CLAIMS) | table1 | fig5
    assert set(claims.index[claims.verdict != "not evaluated"]) == table1
    assert (claims.caveat[sorted(table1)] == "").all()
    assert all(claims.caveat[i].startswith("not in this profile's sweep: 'fig5: NT-Xent, ") for i in fig5)
    m = read_metrics(tmp_path / "reports/metrics/don/correspondence.json", paper="don", stage="don_eval")
    assert {m["claims"]["verdicts"][c] for c in DROPPED_CLAIMS} == {"not evaluated"}
    assert not any(r.startswith(("fig6:", "table2:", "table3:", "table4:")) for r in m["tables"]["auc"])


def test_grasp_stage_writes_table5_with_oracle_control_paper_columns_and_claims(don_pipeline):
    out = don_pipeline
    t5 = pd.read_csv(out / "reports/tables/don/table5.csv")
    assert list(t5.method) == ["Oracle (ground-truth correspondences)", "Pixelwise Cross-Object", "Ours",
                               "Untrained network (control)"]
    # smoke: one attempt per object: 8 trials per setting for each method and seed
    assert (t5.trials == 24).all() and set(t5.columns) >= {"Singulated", "Multi-Object, Packed", "Overall",
                                                            "paper_Singulated", "paper_Overall", "keypoint_err_pct"}
    assert t5.set_index("method").loc["Ours", "paper_Overall"] == 83.3
    assert t5.Overall.between(0, 100).all() and (t5.Overall_lo <= t5.Overall + 1e-9).all()
    assert t5.set_index("method").loc["Oracle (ground-truth correspondences)", "keypoint_err_pct"] < 1.0
    outcomes = pd.read_csv(out / "reports/tables/don/table5_outcomes.csv")
    assert set(outcomes.columns) - {"method", "setting"} <= {"lifted", "wrong_object", "collision", "dropped", "missed",
                                                            "too_wide", "no_depth", "not_in_view"}
    claims = pd.read_csv(out / "reports/tables/don/table5_claims.csv")
    assert list(claims.id) == ["ours_better_in_all_tasks", "ours_doubles_multi_object", "singulated_below_isolated"]
    assert set(claims.verdict) <= {"held", "missed", "inconclusive"}  # every setting ran: every claim evaluated
    assert claims.baseline_collapsed.isin([True, False]).all()
    for fig in ("table5_settings", "table5_success"):
        assert (out / f"reports/figures/don/{fig}.png").stat().st_size > 1000
    m = read_metrics(out / "reports/metrics/don/grasping.json", paper="don", stage="don_grasp")
    assert set(m["claims"]["verdicts"]) == set(claims.id)


def test_temperature_stage_trains_each_tau_scores_it_and_retrains_the_default_model_bit_for_bit(don_pipeline):
    out = don_pipeline
    t = pd.read_csv(out / "reports/tables/don/temperature.csv")
    assert list(t.tau) == [0.1, 0.7, 1.0] and list(t.label) == ["τ = 0.1", "τ = 0.7", "τ = 1"]  # smoke's grid
    assert t.AUC.between(0, 1).all() and (t.AUC_lo <= t.AUC + 1e-9).all() and (t.AUC <= t.AUC_hi + 1e-9).all()
    training = pd.read_csv(out / "reports/tables/don/temperature_training.csv")
    assert sorted(training.temperature) == [0.1, 0.7, 1.0] and training.key.str.endswith(("_t0.1", "_t0.7", "_t1")).all()
    from robopercept.common import checkpoints

    for key, tau in zip(training.key, training.temperature):  # each model was trained at its own τ
        ck = checkpoints.load(out / f"artifacts/models/don_temperature/{key}_seed0/model.pt", stage="don_temperature")
        assert ck["settings"]["temperature"] == tau and ck["settings"]["loss"] == "ntxent"
    assert t.untrained_seeds.isin([0, 1]).all()  # seeds not above the untrained network's AUC (smoke: 1 seed)
    m = read_metrics(out / "reports/metrics/don/temperature.json", paper="don", stage="don_temperature")
    assert 0 <= m["values"]["untrained_AUC"] <= 1
    # τ = 0.1 is don_train's default model trained again in this stage: the same weights, tensor for tensor
    assert m["values"]["default_models_compared"] == 1 and m["values"]["default_models_equal"] == 1
    claims = pd.read_csv(out / "reports/tables/don/temperature_claims.csv")
    assert list(claims.id) == ["stable_0_01_to_0_3", "optimum_around_0_1", "drops_at_0_7_to_1"]
    # smoke trains τ = 0.1, 0.7 and 1 only: the claim on exactly those is evaluated, the others name a missing row
    assert dict(zip(claims.id, claims.verdict != "not evaluated")) == {
        "stable_0_01_to_0_3": False, "optimum_around_0_1": False, "drops_at_0_7_to_1": True}
    assert set(m["claims"]["verdicts"]) == set(claims.id)
    for fig in ("temperature", "temperature_curves"):
        assert (out / f"reports/figures/don/{fig}.png").stat().st_size > 1000
