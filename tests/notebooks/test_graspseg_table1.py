import json
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import torch

from conftest import read_metrics
from robopercept import paths
from robopercept.graspseg.table1 import PAPER_TABLE1
from robopercept.reporting.claims import load_spec
from robopercept.graspseg.variants import VARIANTS

pytestmark = pytest.mark.notebook


def test_pretrain_stage_writes_a_mask_rcnn_layout_checkpoint(graspseg_pipeline):
    ckpt = torch.load(graspseg_pipeline / "artifacts/models/pretrain/backbone.pt", weights_only=True)
    assert any(k.startswith("backbone.body.layer1") for k in ckpt["model"])
    assert any(k.startswith("backbone.fpn.") for k in ckpt["model"])
    assert len(ckpt["history"]) == 2  # smoke: 2 steps
    assert (graspseg_pipeline / "reports/figures/pretrain/pretrain_curves.png").exists()


def test_train_stage_writes_every_variant(graspseg_pipeline):
    for name in VARIANTS:  # smoke: one seed each
        ckpt = torch.load(graspseg_pipeline / f"artifacts/models/graspseg/variants/{name}_seed0/model.pt",
                          weights_only=True)
        assert ckpt["variant"] == name and ckpt["history"]
        assert (ckpt["init"] == "scratch") == name.endswith("Scratch")
        assert ckpt["settings"]["normalization"] == ("pixels" if name.endswith("LiteralLoss") else "weights")
        assert (graspseg_pipeline / f"reports/training/graspseg/variants/{name}_seed0/metrics.json").exists()
    summary = pd.read_csv(graspseg_pipeline / "reports/tables/graspseg/grasp_model_training.csv")
    assert list(summary.variant) == list(VARIANTS) and (summary.seed == 0).all()
    conv = pd.read_csv(graspseg_pipeline / "reports/tables/graspseg/grasp_model_convergence.csv")
    assert list(conv.variant) == list(VARIANTS)
    # our ablations stop at ablation_max_steps (smoke: 1), the paper's variants at max_steps (smoke: 2)
    caps = dict(zip(summary.variant, summary.max_steps))
    assert caps["Grasp-100-Scratch"] == caps["Grasp-100-LiteralLoss"] == 1 and caps["Grasp-100"] == 2
    ablations = pd.read_csv(graspseg_pipeline / "reports/tables/graspseg/grasp_model_ablations.csv")
    assert len(ablations) == 3 and ablations.val_mIOU.between(0, 100).all()
    # the timing record (kept apart from the DVC outputs): every model this run trained, its seconds and steps
    timing = json.loads((graspseg_pipeline / "reports/timings/graspseg/graspseg_train.json").read_text())
    assert set(timing["models"]) == {f"{v}_seed0" for v in VARIANTS}
    assert timing["models_trained_now"] == len(VARIANTS) and timing["models_resumed"] == 0
    assert all(m["seconds"] >= 0 and m["steps"] == dict(zip(summary.variant, summary.steps))[k[:-len("_seed0")]]
               for k, m in timing["models"].items())


def test_table1_stage(graspseg_pipeline):
    out = graspseg_pipeline
    table = pd.read_csv(out / "reports/tables/graspseg/table1.csv")
    assert list(table.method[: len(PAPER_TABLE1)]) == list(PAPER_TABLE1)  # all 14 paper rows, paper order
    assert {"Grasp-100-Scratch", "Grasp-100-Scratch-Filter"} <= set(table.method)
    paper = table.set_index("method").loc["Grasp-200-Filter", ["paper_mIOU", "paper_error_pct", "paper_recall_pct"]]
    assert list(paper) == [92.6, 7.63, 63.9]
    assert table.recall_pct.between(0, 100).all()
    assert {"Grasp-100-LiteralLoss", "Grasp-100-LiteralLoss-Filter"} <= set(table.method)
    ok = table.dropna(subset=["mIOU"])  # a -Filter row that keeps nothing has no mIOU (smoke: 4 test grasps)
    for m in ("mIOU", "error_pct"):  # every metric has its interval
        assert (ok[f"{m}_lo"] <= ok[m] + 1e-9).all() and (ok[m] <= ok[f"{m}_hi"] + 1e-9).all(), m
    assert (table.recall_pct_lo <= table.recall_pct + 1e-9).all()
    claims = pd.read_csv(out / "reports/tables/graspseg/table1_claims.csv")
    spec = load_spec(paths.root() / "src/robopercept/graspseg/claims_table1.yaml")
    assert list(claims.id) == [c["id"] for c in spec["claims"]]
    assert set(claims.verdict) <= {"held", "missed", "inconclusive", "not evaluated"}
    assert claims.quote.str.len().gt(10).all()
    # each claim on each seed's own table (smoke: 1 seed): "held", "missed" or "—" per seed
    assert claims.held_by_seed.fillna("—").isin(["held", "missed", "—"]).all()
    assert (out / "reports/tables/graspseg/table1_entropy_thresholds.csv").exists()
    calib = pd.read_csv(out / "reports/tables/graspseg/table1_calibrations.csv")
    assert set(calib.calibration) == {"F1 (ours)", "recall-matched", "paper"}
    by_cal = pd.read_csv(out / "reports/tables/graspseg/table1_claims_by_calibration.csv")
    assert list(by_cal.id) == list(claims.id)
    nuis = pd.read_csv(out / "reports/tables/graspseg/table1_baselines_by_nuisance.csv")
    assert {"Subtract", "MOG", "MOG2", "LSBP", "Subtract-Filter", "LSBP-Filter"} <= set(nuis.method)
    defaults = pd.read_csv(out / "reports/tables/graspseg/table1_baselines_defaults.csv")
    assert set(defaults.method) == {"MOG", "MOG2", "LSBP", "MOG-Filter", "MOG2-Filter", "LSBP-Filter"}
    metrics = read_metrics(out / "reports/metrics/graspseg/table1.json", paper="graspseg", stage="graspseg_table1")
    assert metrics["values"]["test_grasps"] == 4 and set(metrics["claims"]["verdicts"]) == set(claims.id)
    assert set(metrics["tables"]["table1"]) == set(table.method)
    for fig in ("fig2_hard_cases", "table1_per_object"):
        assert (out / f"reports/figures/graspseg/{fig}.png").read_bytes()[:4] == b"\x89PNG"


def test_a_resumed_train_stage_publishes_every_models_log(graspseg_pipeline, tmp_path):
    """Session 24's defect: a resumed graspseg_train published only the logs of the models trained in its last
    invocation. Logs now live in each model's shard (common.live): a second invocation that resumes every model (no
    training) publishes all of them again."""
    from robopercept.config import load_profile
    from robopercept.graspseg.config import GraspModelConfig
    from robopercept.graspseg.variants import train_variants, trained_models

    out = graspseg_pipeline
    models_dir = tmp_path / "variants"  # a copy: the session's pipeline is shared with other tests (read-only)
    shutil.copytree(out / "artifacts/models/graspseg/variants", models_dir)
    before = {p: p.stat().st_mtime_ns for p in models_dir.glob("*/model.pt")}
    cfg = GraspModelConfig(**load_profile("smoke")["graspseg_model"])
    summary = train_variants(cfg, out / "artifacts/datasets/graspseg_grasps", out / "artifacts/models/pretrain/backbone.pt",
                             models_dir, tmp_path / "live", load_profile("smoke")["seed"], progress=False)
    assert {p: p.stat().st_mtime_ns for p in models_dir.glob("*/model.pt")} == before  # resumed, not retrained
    assert summary.attrs["timings"] == {}  # nothing trained by this call: no seconds to record
    published = sorted(d.name for d in (tmp_path / "live").iterdir())
    assert published == sorted(f"{n}_seed{k}" for n, k in trained_models(cfg))
    for key in published:
        assert (tmp_path / "live" / key / "metrics.json").read_bytes() == \
            (out / f"reports/training/graspseg/variants/{key}/metrics.json").read_bytes()


def test_table1_without_calibration_uses_the_papers_threshold(graspseg_pipeline):
    """``graspseg_table1.calibrate_t_ent: false``: Table I's -Filter rows use the paper's t_ent, and no calibration
    is labeled as ours (session 34's review: the F1 label used to name the paper's threshold in that case)."""
    from robopercept.formats.grasp_pairs import iter_grasp_folders, read_sample
    from robopercept.graspseg.data import GraspSegDataset
    from robopercept.graspseg.filters import FilterConfig
    from robopercept.graspseg.table1 import evaluate_models

    dataset = graspseg_pipeline / "artifacts/datasets/graspseg_grasps"
    test_folders = list(iter_grasp_folders(dataset, "labeled_test"))
    val_folders = list(iter_grasp_folders(dataset, "labeled_train"))[:3]
    gts = [read_sample(f).visible for f in test_folders]
    fcfg = FilterConfig(t_ent=0.1)
    out = evaluate_models([("Grasp-100", 0)], graspseg_pipeline / "artifacts/models/graspseg/variants",
                          GraspSegDataset(test_folders), GraspSegDataset(val_folders), gts, fcfg, calibrate=False,
                          good_iou=0.5)
    assert out.table_calibration == "paper" and set(out.calibrations) == {"recall-matched", "paper"}
    assert out.t_used == 0.1 and out.calibrations["paper"] == 0.1
    assert [(r.name, r.seed) for r in out.results] == [("Grasp-100", 0)]
    assert all(a.filtered_keep.tolist() == b.filtered_keep.tolist()
               for a, b in zip(out.results, out.results_at["paper"]))


def test_table1_predictions_are_the_same_bytes_in_this_process_and_on_two_workers(graspseg_pipeline):
    """``evaluate_models(workers=2)`` predicts on one-thread pool workers, ``workers=1`` here on one thread, whatever
    this process's torch thread count: the probabilities and every derived number are the same bytes (a prediction's
    float rounding otherwise follows the machine's core count)."""
    import numpy as np

    from robopercept.formats.grasp_pairs import iter_grasp_folders, read_sample
    from robopercept.graspseg.data import GraspSegDataset
    from robopercept.graspseg.filters import FilterConfig
    from robopercept.graspseg.table1 import evaluate_models

    dataset = graspseg_pipeline / "artifacts/datasets/graspseg_grasps"
    test_folders = list(iter_grasp_folders(dataset, "labeled_test"))[:6]
    val_folders = list(iter_grasp_folders(dataset, "labeled_train"))[:4]
    gts = [read_sample(f).visible for f in test_folders]
    models = [("Grasp-100", 0), ("Grasp-200", 0)]
    outs = []
    threads = torch.get_num_threads()
    try:
        for workers, torch_threads in ((1, 2), (2, 1)):
            torch.set_num_threads(torch_threads)  # the caller's setting does not reach the predictions
            outs.append(evaluate_models(models, graspseg_pipeline / "artifacts/models/graspseg/variants",
                                        GraspSegDataset(test_folders), GraspSegDataset(val_folders), gts,
                                        FilterConfig(t_ent=0.1), calibrate=True, good_iou=0.5, workers=workers))
    finally:
        torch.set_num_threads(threads)
    one, two = outs
    assert list(one.probs) == models == list(two.probs)
    assert all(one.probs[k].tobytes() == two.probs[k].tobytes() for k in models)
    assert one.calibrations == two.calibrations and one.thresholds == two.thresholds
    for a, b in zip(one.results, two.results):
        assert (a.name, a.seed) == (b.name, b.seed)
        assert all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("iou", "error", "nonempty", "filtered_keep"))
    with pytest.raises(ValueError, match="workers must be >= 1"):
        evaluate_models(models, graspseg_pipeline / "artifacts/models/graspseg/variants", GraspSegDataset(test_folders),
                        GraspSegDataset(val_folders), gts, FilterConfig(), calibrate=False, good_iou=0.5, workers=0)


def test_a_truncated_checkpoint_stops_table1_in_its_first_cell(graspseg_pipeline, run_stage, tmp_path):
    """Issue #10 item 6: the notebook reads every model's checkpoint before it tunes the baselines (minutes on the
    cpu profile), so a truncated Grasp-200 checkpoint stops the stage in its first own cell, naming the file and the
    stage that makes it."""
    from robopercept.stage import StageFailed

    artifacts = tmp_path / "artifacts"  # the pipeline's datasets, a copy of its models (the session's stay intact)
    (artifacts / "models" / "graspseg").mkdir(parents=True)
    (artifacts / "datasets").symlink_to(graspseg_pipeline / "artifacts" / "datasets")
    shutil.copytree(graspseg_pipeline / "artifacts/models/graspseg/variants", artifacts / "models/graspseg/variants")
    bad = artifacts / "models/graspseg/variants/Grasp-200_seed0/model.pt"
    bad.write_bytes(bad.read_bytes()[:1000])
    with pytest.raises(StageFailed) as err:
        run_stage("graspseg_table1", out=tmp_path)
    msg = str(err.value)
    assert "Grasp-200_seed0/model.pt" in msg and "truncated or corrupt" in msg and "graspseg_train" in msg, msg
    executed = Path(msg.split("kept at ")[1].split(";")[0])
    try:
        code = [c for c in nbformat.read(executed, as_version=4).cells if c.cell_type == "code"]
        own = [k for k, c in enumerate(code)
               if not {"parameters", "injected-parameters"} & set(c.metadata.get("tags", []))]
        failed = [k for k, c in enumerate(code) if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
        assert failed == [own[0]] and "read_checkpoints" in code[own[0]].source, (failed, own)
    finally:
        shutil.rmtree(executed.parent)  # a test leaves nothing in the system temp folder
    assert not (tmp_path / "reports" / "tables").exists()  # nothing published
