"""The four mlgsl stages end to end on the smoke profile, and their outputs' contracts."""

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from conftest import read_metrics
from robopercept.formats import jacquard
from robopercept.mlgsl import results as R
from robopercept.mlgsl.train import RUNS

pytestmark = pytest.mark.notebook


def test_data_stage_writes_jacquard_format(mlgsl_pipeline):
    root = mlgsl_pipeline / "artifacts/datasets/mlgsl_jacquard"
    train = jacquard.list_samples(root / "train")
    test = jacquard.list_samples(root / "test")
    assert len(train) == 12 and len(test) == 6
    s = jacquard.read_sample(*test[0])
    assert s.rgb.shape == (64, 64, 3) and s.perfect_depth.dtype.name == "float32"
    assert len(s.grasps) >= 4 and s.scene["objects"][0]["object_id"] >= 0
    train_objects = {jacquard.read_sample(*t).scene["objects"][0]["object_id"] for t in train}
    test_objects = {jacquard.read_sample(*t).scene["objects"][0]["object_id"] for t in test}
    assert not train_objects & test_objects  # disjoint objects
    data = read_metrics(mlgsl_pipeline / "reports/metrics/mlgsl/datasets.json", paper="mlgsl", stage="mlgsl_data")
    assert data["values"]["train_samples"] == 12
    clutter = jacquard.list_samples(mlgsl_pipeline / "artifacts/datasets/mlgsl_clutter/train")
    assert len(clutter) == 8 and jacquard.read_sample(*clutter[0]).instances is not None
    stats = pd.read_csv(mlgsl_pipeline / "reports/tables/mlgsl/dataset_statistics.csv")
    assert set(stats.split) == {"train", "test"} and not any("per_s" in c for c in stats.columns)  # no timings
    timing = json.loads((mlgsl_pipeline / "reports/timings/mlgsl/mlgsl_data.json").read_text())
    assert timing["samples_generated_now"] == 18


def test_train_stage_trains_every_run(mlgsl_pipeline):
    runs = pd.read_csv(mlgsl_pipeline / "reports/tables/mlgsl/training_runs.csv")
    assert list(runs.run) == [r.name for r in RUNS]  # smoke: one seed
    ckpt = torch.load(mlgsl_pipeline / f"artifacts/models/mlgsl/{RUNS[0].slug}_seed0/model.pt", weights_only=True)
    assert ckpt["run"]["loss"] == "MLGSL" and ckpt["history"][0]["epoch"] == 1
    # curves live in each shard and are published after the sweep (common.live), so a resumed run publishes all
    for r in RUNS:
        assert (mlgsl_pipeline / f"artifacts/models/mlgsl/{r.slug}_seed0/live/metrics.json").is_file()
        logged = json.loads((mlgsl_pipeline / f"reports/training/mlgsl/{r.slug}_seed0/metrics.json").read_text())
        assert {"train_loss", "val_top1", "test_top1"} <= set(logged)
    for fig in ("fig4_losses", "fig6_labels_per_image"):
        assert (mlgsl_pipeline / f"reports/figures/mlgsl/{fig}.png").read_bytes()[:4] == b"\x89PNG"


def test_results_stage_table1_and_claims(mlgsl_pipeline):
    out = mlgsl_pipeline / "reports"
    t1 = pd.read_csv(out / "tables/mlgsl/table1.csv")
    assert list(t1.method) == list(R.TABLE1_RUNS)
    assert list(t1["Top-1 (paper)"]) == [82.8, 81.6, 82.5, 42.4]  # the paper's, in their own columns
    assert t1[["Top-1", "Top-5", "Accuracy", "Recall"]].apply(lambda c: c.dropna().between(0, 100).all()).all()
    assert (t1["Top-5"] >= t1["Top-1"]).all()
    claims = pd.read_csv(out / "tables/mlgsl/claims.csv")
    spec = yaml.safe_load(Path(R.__file__).with_name("claims.yaml").read_text())
    assert list(claims.id) == [c["id"] for c in spec["claims"]]
    assert set(claims.verdict) <= {"held", "missed", "inconclusive", "not evaluated"}
    assert claims.quote.str.len().gt(10).all() and claims.section.notna().all()
    runs = pd.read_csv(out / "tables/mlgsl/runs.csv")
    assert (runs.top1_lo <= runs.top1 + 1e-9).all() and (runs.top1 <= runs.top1_hi + 1e-9).all()
    metrics = read_metrics(out / "metrics/mlgsl/training_results.json", paper="mlgsl", stage="mlgsl_results")
    assert metrics["claims"]["count"]["total"] == len(spec["claims"])
    assert set(metrics["tables"]["table1"]) == set(R.TABLE1_RUNS)
    for fig in ("fig3_maps", "fig5_mlgsl_vs_imgmse"):
        assert (out / f"figures/mlgsl/{fig}.png").read_bytes()[:4] == b"\x89PNG"


def test_robot_stage_table2(mlgsl_pipeline):
    out = mlgsl_pipeline / "reports/tables/mlgsl"
    t2 = pd.read_csv(out / "table2.csv")
    assert len(t2) == 6 and (t2.trials == 2).all()  # smoke: 2 objects x 1 drop; oracle + 5 planners
    assert t2.method[0].startswith("oracle")  # the simulator's reference comes first
    assert (t2.successes <= t2.trials).all() and t2["SR 95% CI (%)"].str.match(r"^\d+\.\d-\d+\.\d$").all()
    split = t2[["failures: perception", "failures: execution", "lucky (incorrect, lifted)", "drops without a label"]]
    # every trial lands in exactly one cell of the split (success & correct is the rest)
    assert (split.sum(axis=1) <= t2.trials).all()
    assert not any("ms" in c for c in t2.columns)  # CTPG is a timing: kept apart
    ctpg = json.loads((mlgsl_pipeline / "reports/timings/mlgsl/ctpg.json").read_text())
    assert len(ctpg["planners_ms_at_image_size"]) == 5 and all(v > 0 for v in ctpg["planners_ms_at_image_size"].values())
    paper = pd.read_csv(out / "table2_paper.csv")
    assert "GQCNN [2]" in set(paper["method (paper)"])  # reference rows only in the paper's table
    assert not set(paper["method (paper)"]) & set(t2.method)
    removal = pd.read_csv(out / "clutter_removal.csv")
    assert (removal.removed <= removal.placed).all() and len(removal) == 2
    robot = read_metrics(mlgsl_pipeline / "reports/metrics/mlgsl/robot.json", paper="mlgsl", stage="mlgsl_robot")
    assert set(robot["tables"]["table2"]) == set(t2.method) and len(robot["tables"]["clutter_removal"]) == 2
    assert len(ctpg["planners_ms_at_image_size"]) == 5  # the oracle plans nothing: no CTPG
    seeds = pd.read_csv(out / "table2_seeds.csv")  # every seed of the 4 methods, on Table II's drops
    assert len(seeds) == 4 and (seeds.seeds == 1).all() and (seeds.drops == 2).all()  # smoke: one seed
    by_method = t2.set_index("method")["SR (%)"]  # with one seed, the seed mean is the deployed row
    assert all(abs(r["SR mean over seeds (%)"] - by_method[r.method]) < 1e-9 for _, r in seeds.iterrows())
    assert len(pd.read_csv(out / "table2_seed_pairs.csv")) == 6
    width = pd.read_csv(out / "table2_width.csv")  # the oracle's point and angle at each deployed network's Ŵ
    assert len(width) == 4 and set(width["network (its Ŵ)"]) == set(t2.method[1:5])
    assert (width["drops with a label"] <= 2).all() and not set(width["network (its Ŵ)"]) & {t2.method[0], t2.method[5]}
