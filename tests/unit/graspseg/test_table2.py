"""Table II assembly: rows, splits, results files read back, the paired bootstrap."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from robopercept.formats.coco import CocoWriter
from robopercept.graspseg.config_instances import TABLE2_ROWS, Table2Config
from robopercept.graspseg.instance_eval import area_ranges, class_agnostic_gt, match_images, write_results
from robopercept.graspseg import table2 as T2
from robopercept.graspseg.table2 import read_results, table2
from robopercept.graspseg.table2_train import ROWS, crop_folder, split_files

H, W = 24, 32


def test_rows_follow_the_paper():
    assert tuple(ROWS) == TABLE2_ROWS
    assert ROWS["Paste-Grasp-Robust"].paste_from == "Grasp-100-Filter" and ROWS["Paste-Grasp-Robust"].robust
    assert ROWS["Paste-Grasp-Inpaint"].inpaint and not ROWS["Paste-Grasp-Inpaint"].filtered
    assert ROWS["Mask2Former-1000"].labeled == "large"
    assert str(crop_folder("c", "Grasp-100", 3, 2)).endswith("Grasp-100_seed1")
    assert str(crop_folder("c", "Subtract", 3, 2)).endswith("Subtract")


def test_split_is_graspseg_tables(tmp_path):
    (tmp_path / "labeled_train").mkdir()
    files = [f"shard_00000/{i:06d}/before.png" for i in range(10)]
    (tmp_path / "labeled_train" / "annotations.coco.json").write_text(json.dumps({"images": [
        {"id": i + 1, "file_name": f} for i, f in enumerate(files)]}))
    cfg = Table2Config(n_small=3, n_large=1000, n_val=4)
    s = split_files(tmp_path, cfg)
    assert s["small"] == files[:3] and s["large"] == files[:6] and s["val"] == files[6:]
    with pytest.raises(ValueError, match="needs n_small \\+ n_val"):
        split_files(tmp_path, Table2Config(n_small=8, n_val=4))


def _scenes(rng, n):
    out = []
    for _ in range(n):
        gt = np.zeros((2, H, W), bool)
        gt[0, 2:10, 2:12] = True
        gt[1, 12:22, 15:30] = True
        out.append(gt)
    return out


def test_results_round_trip_and_paired_bootstrap(tmp_path):
    rng = np.random.default_rng(0)
    gts = _scenes(rng, 12)
    w = CocoWriter(["object"])
    for i, g in enumerate(gts):
        iid = w.add_image(f"{i}.png", H, W)
        for m in g:
            w.add_instance(iid, 1, m)
    gt = class_agnostic_gt({"images": w.images, "annotations": w.annotations})
    good = [(g, np.array([0.9, 0.8])) for g in gts]
    half = [(g[:1], np.array([0.9])) if i % 2 else (g, np.array([0.9, 0.8])) for i, g in enumerate(gts)]
    write_results(tmp_path / "r.json", [im["id"] for im in gt["images"]], half)
    back = read_results(tmp_path / "r.json", gt)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(back, half))
    ranges = area_ranges(H * 8, W * 8)
    matches = {("Paste-Grasp", 0): match_images(good, gts, ranges), ("Paste-Grasp", 1): match_images(good, gts, ranges),
               ("Mask2Former-100", 0): match_images(half, gts, ranges)}
    table, reps = table2(matches, n_boot=50, seed=0)
    assert list(table["method"]) == ["Paste-Grasp", "Mask2Former-100"] and list(table["seeds"]) == [2, 1]
    a, b = table.set_index("method").loc["Paste-Grasp", "AP"], table.set_index("method").loc["Mask2Former-100", "AP"]
    assert a == pytest.approx(100) and b < a
    assert len(reps) == 50 and all(list(r["method"]) == ["Paste-Grasp", "Mask2Former-100"] for r in reps)
    assert all(r.set_index("method").loc["Paste-Grasp", "AP"] == pytest.approx(100) for r in reps)
    with pytest.raises(FileNotFoundError, match="graspseg_table2"):
        read_results(tmp_path / "missing.json", gt)


def test_rows_whose_crop_source_is_empty_are_named_not_trained(tmp_path):
    from robopercept.graspseg.table2_train import crop_pool_problem

    def index(folder, records):
        folder.mkdir(parents=True)
        (folder / "index.json").write_text(json.dumps({"records": records}))

    index(tmp_path / "c" / "Grasp-100_seed0", [{"file": "000000.png", "kept": False}, {"file": None, "kept": False}])
    index(tmp_path / "c" / "Subtract", [{"file": None, "kept": False}])
    index(tmp_path / "t" / "Train Objects", [{"file": "000000.png", "kept": True}])
    args = (tmp_path / "c", tmp_path / "t", 1)
    assert crop_pool_problem("Mask2Former-100", 0, *args) is None
    assert crop_pool_problem("Paste-Grasp", 0, *args) is None  # unfiltered: one non-empty crop
    assert "kept by the filters" in crop_pool_problem("Paste-Grasp-Filter", 0, *args)
    assert crop_pool_problem("Single-Object-100", 0, *args) is None  # single-object: every non-empty mask
    assert "Subtract" in crop_pool_problem("Paste-Subtract", 0, *args)
    assert crop_pool_problem("Paste-Train", 0, *args) is None


def test_untrained_rows_have_empty_cells():
    gts = _scenes(np.random.default_rng(0), 4)
    ranges = area_ranges(H * 8, W * 8)
    matches = {("Mask2Former-100", 0): match_images([(g, np.array([0.9, 0.8])) for g in gts], gts, ranges)}
    table, reps = table2(matches, n_boot=5, seed=0, rows=["Mask2Former-100", "Paste-Grasp-Filter"])
    t = table.set_index("method")
    assert t.loc["Paste-Grasp-Filter", "seeds"] == 0 and np.isnan(t.loc["Paste-Grasp-Filter", "AP"])
    assert all(np.isnan(r.set_index("method").loc["Paste-Grasp-Filter", "AP"]) for r in reps)


def test_claims_evidence_lists_the_runs_of_each_claim_not_held(monkeypatch):
    monkeypatch.setattr(T2, "table2_metrics", lambda m: {"AP": float(len(m))})  # a run's "AP": its image count
    verdict = pd.DataFrame([
        {"id": "held_one", "verdict": "held", "expr": "AP('A') > AP('B')"},
        {"id": "missed_one", "verdict": "missed", "expr": "AP('A') > AP('C')"},  # C never trained
        {"id": "open_one", "verdict": "not evaluated", "expr": "AP('B') > AP('A')"}])
    summary = pd.DataFrame({"row": ["A", "A", "B"], "seed": [0, 1, 0], "val_AP": [10.0, 12.0, 8.0],
                            "best_step": [450, 300, 200], "steps": [500, 500, 350], "unconverged": [True, False, False]})
    matches = {("A", 0): [None] * 3, ("A", 1): [None] * 4, ("B", 0): [None] * 5}
    ev = T2.claims_evidence(verdict, summary, matches)
    assert list(ev.columns) == T2.EVIDENCE_COLUMNS
    assert ev[["claim", "row", "seed"]].values.tolist() == [["missed_one", "A", 0], ["missed_one", "A", 1]]
    assert ev.unconverged.tolist() == [True, False] and ev.test_AP.tolist() == [3.0, 4.0]
    assert T2.claims_evidence(verdict.iloc[:1], summary, matches).empty


def test_paired_difference_is_over_differences_of_the_same_replicate():
    import pandas as pd

    from robopercept.graspseg.table2 import paired_difference

    table = pd.DataFrame({"method": ["A", "B"], "AP": [12.0, 10.0]})
    # the rows move together across replicates: their difference is steady although each row spreads widely
    reps = [pd.DataFrame({"method": ["A", "B"], "AP": [12.0 + s, 10.0 + s]}) for s in (-5.0, 0.0, 5.0)]
    d, lo, hi = paired_difference(table, reps, "A", "B")
    assert (d, lo, hi) == (2.0, 2.0, 2.0)
    with pytest.raises(ValueError, match="no bootstrap replicates"):
        paired_difference(table, [], "A", "B")


def test_claims_by_seed_evaluates_each_claim_on_each_seeds_own_table(tmp_path):
    gts = _scenes(np.random.default_rng(0), 6)
    ranges = area_ranges(H * 8, W * 8)
    good = match_images([(g, np.array([0.9, 0.8])) for g in gts], gts, ranges)
    half = match_images([(g[:1], np.array([0.9])) for g in gts], gts, ranges)
    # seed 0: Single-Object-100 worse than Mask2Former-100 (the paper's claim); seed 1: the other way round
    matches = {("Mask2Former-100", 0): good, ("Single-Object-100", 0): half,
               ("Mask2Former-100", 1): half, ("Single-Object-100", 1): good}
    claims = tmp_path / "claims.yaml"
    claims.write_text("row_key: method\nmetrics: {ap: AP, n: labeled_images}\nclaims:\n"
                      "  - {id: worse, section: x, quote: q, claim: c, expr: \"ap('Single-Object-100') < ap('Mask2Former-100')\"}\n"
                      "  - {id: labels, section: x, quote: q, claim: c, expr: \"n('Mask2Former-100') >= 100\"}\n"
                      "  - {id: absent, section: x, quote: q, claim: c, expr: \"ap('Paste-Grasp') > 0\"}\n")
    by_seed = T2.claims_by_seed(claims, matches, ["Mask2Former-100", "Single-Object-100", "Paste-Grasp"],
                                {"labeled_images": {"Mask2Former-100": 100, "Single-Object-100": 100}}).set_index("id")
    assert by_seed.loc["worse", "held_by_seed"] == "held, missed" and by_seed.loc["worse", "seeds_held"] == 1
    assert by_seed.loc["labels", "seeds_held"] == 2 and by_seed.loc["labels", "seeds"] == 2
    # a row with no trained model cannot be evaluated on any seed
    assert by_seed.loc["absent", "seeds"] == 0 and by_seed.loc["absent", "held_by_seed"] == "—, —"


def test_ap_replicates_round_trip_for_table3(tmp_path):
    reps = [pd.DataFrame({"method": ["A", "B"], "AP": [10.0 + i, float("nan")]}) for i in range(3)]
    path = T2.write_ap_replicates(reps, tmp_path / "sub" / "reps.csv")
    back = T2.read_ap_replicates(path)
    assert len(back) == 3 and [b["A"] for b in back] == [10.0, 11.0, 12.0] and np.isnan(back[0]["B"])
    with pytest.raises(FileNotFoundError, match="graspseg_table2"):
        T2.read_ap_replicates(tmp_path / "missing.csv")
    (tmp_path / "bad.csv").write_text("method,AP\nA,1\n")
    with pytest.raises(ValueError, match="replicate"):
        T2.read_ap_replicates(tmp_path / "bad.csv")


def test_a_corrupt_results_file_is_named_with_the_stage_that_makes_it(tmp_path):
    bad = tmp_path / "results.coco.json"
    bad.write_text('[{"image_id": 1, "segm')  # truncated
    with pytest.raises(ValueError, match=r"cannot read COCO results .*results\.coco\.json.*graspseg_table2"):
        read_results(bad, {"images": [{"id": 1, "height": 4, "width": 4}]})


def test_training_closure_leaves_out_the_table_and_table_one():
    """Editing the table, its claims, the bootstrap, the crop collection or Table I's code must not retrain Table
    II's 33 models: none of them is in the training module's import closure (what its plan identity hashes)."""
    from robopercept.codedeps import closure, module_path
    from robopercept.graspseg import table2_train

    hashed = set()
    for m in table2_train.CODE_MODULES:
        hashed.update(closure(m))
    assert module_path("robopercept.graspseg.table2_train") in hashed
    for needed in ("instance_train", "instance_model", "instance_losses", "paste", "inpaint", "crops"):
        assert module_path(f"robopercept.graspseg.{needed}") in hashed, needed
    for outside in ("robopercept.graspseg.table2", "robopercept.graspseg.table1", "robopercept.graspseg.train",
                    "robopercept.graspseg.crop_collection", "robopercept.reporting.claims",
                    "robopercept.reporting.uncertainty"):
        assert module_path(outside) not in hashed, outside


def test_training_fields_leave_out_what_only_plans_or_tabulates():
    from robopercept.graspseg.table2_train import PLAN_ONLY_FIELDS, training_fields

    cfg = Table2Config()
    fields = training_fields(cfg)
    assert set(fields) == {f.name for f in dataclasses.fields(cfg)} - PLAN_ONLY_FIELDS
    assert PLAN_ONLY_FIELDS == {"rows", "n_seeds", "n_boot", "workers"}
    assert fields["robust_targets"] == "pasted" and "lr" in fields


def test_sweep_identity_depends_on_training_not_on_the_plan(tmp_path):
    from robopercept.graspseg.table2_train import sweep_identity

    folders = {}
    for name in ("dataset", "crops", "train_crops", "inpainter"):
        folders[name] = tmp_path / name
        folders[name].mkdir()
        (folders[name] / "x.txt").write_text(name)
    pretrained = tmp_path / "backbone.pt"
    pretrained.write_bytes(b"weights")

    def ident(cfg, inpainter=folders["inpainter"]):
        return sweep_identity(cfg, folders["dataset"], folders["crops"], folders["train_crops"], inpainter,
                              pretrained, seed=0, grasp_seeds=3)

    base = ident(Table2Config())
    # one row, fewer seeds, another bootstrap or worker count: the same models
    assert ident(Table2Config(rows=["Mask2Former-100"], n_seeds=1, n_boot=10, workers=1)) == base
    # what a model learns: other models
    assert ident(Table2Config(lr=0.001)) != base
    assert ident(Table2Config(robust_targets="all")) != base
    # the inpainter enters whenever given (whether or not an inpainting row is planned), its bytes too
    assert ident(Table2Config(), inpainter=None) != base
    (folders["inpainter"] / "x.txt").write_text("other weights")
    assert ident(Table2Config()) != base
    (folders["inpainter"] / "x.txt").write_text("inpainter")
    (folders["dataset"] / "plan.json").write_text('{"code_md5": "another generator edit"}')  # the same data files
    assert ident(Table2Config()) == base
    (folders["dataset"] / "x.txt").write_text("other data")
    assert ident(Table2Config()) != base


def test_a_profile_may_train_no_row_and_each_profile_says_which():
    """rows: [] is the cpu profile's (Table II not trained there, README "Profiles"); the paper and smoke profiles
    train every row; an unknown or repeated row is still refused."""
    from robopercept.config import ConfigError, load_profile

    assert Table2Config(rows=[]).rows == []
    with pytest.raises(ConfigError, match="rows"):
        Table2Config(rows=["Paste-Grasp", "Paste-Grasp"])
    with pytest.raises(ConfigError, match="unknown row"):
        Table2Config(rows=["Paste-Everything"])
    assert load_profile("cpu")["graspseg_table2"]["rows"] == []
    for profile in ("smoke", "paper"):
        assert load_profile(profile)["graspseg_table2"]["rows"] == list(TABLE2_ROWS), profile


def test_no_trained_row_leaves_every_claim_not_evaluated_with_the_reason(tmp_path):
    from robopercept import paths
    from robopercept.reporting import not_trained

    claims_file = paths.root() / "src/robopercept/graspseg/claims_table2.yaml"
    v = T2.not_trained_claims(claims_file, T2.NO_ROWS_SETTING)
    assert len(v) >= 10 and (v.verdict == "not evaluated").all()
    assert (v.caveat == "table2 not trained at this profile (graspseg_table2.rows: [])").all()
    out = tmp_path / "reports"
    T2.write_not_trained(out / "tables", out / "figures", tmp_path / "training", tmp_path / "models",
                         tmp_path / "models.csv", claims_file, T2.NO_ROWS_SETTING)
    for name in T2.NOT_TRAINED_TABLES:
        assert not_trained.is_placeholder(pd.read_csv(out / "tables" / f"{name}.csv"))
    assert all((out / "figures" / f"{n}.png").stat().st_size > 0 for n in T2.NOT_TRAINED_FIGURES)
    assert T2.read_ap_replicates(tmp_path / "models.csv", empty_ok=True) == []
    with pytest.raises(ValueError, match="expected rows"):  # an empty file is refused where Table II trained rows
        T2.read_ap_replicates(tmp_path / "models.csv")
