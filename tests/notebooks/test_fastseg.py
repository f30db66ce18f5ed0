"""fastseg's stages on the smoke profile, and their outputs' contracts."""

import json

import pandas as pd
import pytest

from conftest import read_metrics
from robopercept.formats.cityscapes import CityscapesSet

pytestmark = pytest.mark.notebook


def test_data_stage_writes_a_cityscapes_folder(fastseg_pipeline):
    out = fastseg_pipeline
    root = out / "artifacts/datasets/fastseg_cityscapes"
    assert len(CityscapesSet(root, "train", size=(64, 128))) == 4 and len(CityscapesSet(root, "val")) == 2
    stats = pd.read_csv(out / "reports/tables/fastseg/dataset_statistics.csv")
    assert list(stats.split) == ["train", "val"] and stats.instances.gt(0).all()
    m = read_metrics(out / "reports/metrics/fastseg/dataset.json", paper="fastseg", stage="fastseg_data")
    assert m["values"]["train_frames"] == 4


def test_superpixel_stage_chooses_a_size_by_undersegmentation_error(fastseg_pipeline):
    out = fastseg_pipeline
    ue = pd.read_csv(out / "reports/tables/fastseg/superpixel_sizes.csv")
    assert set(ue.k) == {2, 4} and set(ue.method) == {"grid SLIC (one step)", "scikit-image slic", "plain grid"}
    chosen = json.loads((out / "artifacts/models/fastseg_superpixels.json").read_text())["k"]
    grid = ue[ue.method == "grid SLIC (one step)"].set_index("k").undersegmentation_pct
    assert chosen == max(k for k, v in grid.items() if v <= 50.0)
    assert (out / "reports/timings/fastseg/superpixels.json").exists()  # wall-clock kept apart
    for fig in ("superpixel_sizes", "fig4_downsampling"):
        assert (out / f"reports/figures/fastseg/{fig}.png").exists()


def test_train_and_eval_stages_write_tables_i_to_iii_with_paper_columns_and_claims(fastseg_pipeline):
    out = fastseg_pipeline
    runs = pd.read_csv(out / "reports/tables/fastseg/training_runs.csv")
    assert set(runs.model) == {"MNv2 OS1", "MNv2 OSk"} and (runs.steps == 2).all()
    # every model's dvclive log, kept in its shard and published after the plan (common.live)
    logs = sorted(p.parents[3].name for p in (out / "reports/training/fastseg").glob("*/plots/metrics/train/total.tsv"))
    assert logs == sorted(f"{m.replace(' ', '_')}_seed{s}" for m, s in zip(runs.model, runs.seed)), logs
    t1 = pd.read_csv(out / "reports/tables/fastseg/table1.csv")
    tuned = ["Ours MNv2 OS1, tuned threshold", "Ours MNv2 OSk, tuned threshold"]
    assert list(t1.method) == ["Baseline", "Baseline, matched radius", "Ours MNv2 OS1", "Ours MNv2 OSk", *tuned]
    assert t1.set_index("method").loc["Ours MNv2 OSk", "paper_mAP@50"] == 45.2
    # the departure rows: a threshold from the profile's grid, chosen on training frames; the paper's row beside it
    thr = t1.set_index("method").centre_threshold
    assert thr["Ours MNv2 OS1"] == 0.7 and thr[tuned].isin([0.1, 0.5]).all() and pd.isna(thr["Baseline"])
    assert t1.set_index("method").loc[tuned[1], "paper_mAP@50"] == 45.2
    tuning = pd.read_csv(out / "reports/tables/fastseg/centre_threshold_tuning.csv")
    assert len(tuning) == 4 and tuning.groupby("model").chosen.sum().eq(1).all()
    assert set(tuning.loc[tuning.chosen, "threshold"]) == set(thr[tuned])
    cert = pd.read_csv(out / "reports/tables/fastseg/centre_certainty.csv").set_index("output p")
    assert cert.loc[0.7, "alpha 0.01"] > 0.998  # the paper's loss and threshold, computed
    assert (out / "reports/figures/fastseg/centre_threshold_tuning.png").exists()
    ct = pd.read_csv(out / "reports/tables/fastseg/table1_claims_tuned.csv")
    assert list(ct.id) == list(pd.read_csv(out / "reports/tables/fastseg/table1_claims.csv").id)
    assert t1.set_index("method").loc["Baseline", "paper_network"] == "DN53 OS1"  # the paper's baseline encoder
    for c in ("mAP@50", "mAP", "IoU"):
        ok = t1[c].notna()
        assert (t1.loc[ok, c].between(0, 100)).all()
    t2 = pd.read_csv(out / "reports/tables/fastseg/table2.csv")
    assert {"ours", "paper"} == set(t2.source) and t2[t2.source == "paper"].method.str.endswith("(paper)").all()
    c = pd.read_csv(out / "reports/tables/fastseg/table1_claims.csv")
    assert len(c) == 8 and set(c.verdict) <= {"held", "missed", "inconclusive", "not evaluated"}
    listed = c.set_index("id").loc[["baseline_costs_3x", "superpixel_grid_faster", "semantic_on_par_with_realtime",
                                     "instances_better_than_sota"]]  # the sentences we cannot test, counted as such
    assert (listed.verdict == "not evaluated").all()
    assert c.set_index("id").loc["superpixel_grid_similar_map50_dn53", "verdict"] == "not evaluated"  # no DN53 here
    # smoke models (2 steps) find no instance: every seed is counted as untrained, and the claims on them flagged
    assert t1.untrained_seeds.between(0, 1).all() and "untrained_rows" in c.columns
    failed = set(t1.method[t1.untrained_seeds > 0]) | {"Ours, baseline network"}  # the alias of a failed row
    flags = c.set_index("id").untrained_rows.fillna("")
    for cid, rows in flags.items():
        named = [r for r in failed if r in rows]  # the flag lists failed rows only
        assert bool(rows) == bool(named), cid
    if t1.set_index("method").loc["Ours MNv2 OS1", "untrained_seeds"]:  # an instance claim on a failed row: flagged
        assert "Ours, baseline network" in flags["baseline_slightly_better"]
        assert c.set_index("id").loc["baseline_slightly_better", "verdict"] == "inconclusive"  # never "held"
    assert flags["superpixel_grid_similar_iou_mnv2"] == ""  # semantic IoU: never flagged for missing instances
    m = read_metrics(out / "reports/metrics/fastseg/evaluation.json", paper="fastseg", stage="fastseg_eval")
    assert len(m["claims"]["verdicts"]) == 8 and m["claims"]["count"]["not evaluated"] >= 4
    # the flags travel with the verdicts into the metrics file, for both readings
    assert m["values"]["flagged_untrained"] == {cid: rows for cid, rows in flags.items() if rows}
    assert set(m["values"]["tuned_verdicts"]) == set(ct.id)
    # Table I's cells are the mean of each seed's models scored alone (table1_seeds)
    ts = pd.read_csv(out / "reports/tables/fastseg/table1_seeds.csv")
    assert len(ts) == len(t1) * ts.seed.nunique() and set(ts.method) == set(t1.method)
    means = ts.groupby("method")[["mAP@50", "IoU"]].mean()
    for name, r in t1.set_index("method").iterrows():
        assert means.loc[name, "IoU"] == pytest.approx(r["IoU"])
    assert (out / "reports/figures/fastseg/fig3_fig5_examples.png").exists()


def test_benchmark_times_every_row_and_both_superpixel_methods(fastseg_pipeline, monkeypatch):
    from robopercept.config import load_profile
    from robopercept.fastseg import sweep
    from robopercept.fastseg.benchmark import run

    calls, load = [], sweep.load_model

    class Recorded:  # the network of a row, noting each forward pass: (model, heads asked for)
        def __init__(self, model, name):
            self.model, self.name, self.settings = model, name, model.settings

        def __call__(self, x, heads):
            calls.append((self.name, len(heads)))
            return self.model(x, heads=heads)

    monkeypatch.setattr(sweep, "load_model", lambda d, r, s: (Recorded(load(d, r, s)[0], r), *load(d, r, s)[1:]))
    rec = run(frames=2, root=fastseg_pipeline, params=load_profile("smoke"))
    rows = {r["method"]: r for r in rec["table1_speed"]}
    # interleaved: frame 0 through every row in order, frame 1 from the second row on (each pass: warm-up + timed)
    order = [("MNv2 OS1", 2), ("MNv2 OS1", 3), ("MNv2 OSk", 3), ("MNv2 OS1", 3), ("MNv2 OSk", 3)]
    assert calls[::2] == calls[1::2] == order + order[1:] + order[:1]
    assert rec["frames"] == 2 and rec["order"].startswith("interleaved")
    # the smoke evaluation tunes thresholds, so each of our rows is timed again at its chosen threshold
    assert set(rows) == {"Baseline", "Ours MNv2 OS1", "Ours MNv2 OSk", "Ours MNv2 OS1, tuned threshold",
                         "Ours MNv2 OSk, tuned threshold"}
    assert all(r["instances_per_frame"] >= 0 for r in rows.values())
    assert rows["Ours MNv2 OSk"]["centre_threshold"] == 0.7
    assert rows["Ours MNv2 OSk"]["spix_ms"] > 0 and rows["Baseline"]["spix_ms"] == 0
    assert all(r["fps"] > 0 and r["cnn_ms"] > 0 for r in rows.values())
    assert rows["Baseline"]["speedup_vs_baseline"] == 1 and "mAP_gap_vs_baseline" in rows["Ours MNv2 OSk"]
    assert rec["superpixels"]["grid_slic_ms"] > 0 and 0 <= rec["superpixels"]["grid_slic_ue_pct"] <= 100


def test_centre_probe_reports_the_centre_heads_calibration(fastseg_pipeline):
    from robopercept.fastseg.centre_probe import probe

    rows = probe(fastseg_pipeline / "artifacts/datasets/fastseg_cityscapes", (64, 128), steps=3, every=2, stride=4,
                 n_val=2)
    assert [r["step"] for r in rows] == [2, 3]  # every 2 steps, and the last
    for r in rows:
        assert 0 < r["max_p_median"] < 1 and 0 <= r["elements_above"] <= 1 and r["loss_total"] > 0
        assert 0 <= r["emb_within_delta_a"] <= 1 and 0 <= r["emb_nearest_own"] <= 1
        assert 0 <= r["emb_true_centre_iou"] <= 1
    with pytest.raises(ValueError, match="must be >= 1"):
        probe(fastseg_pipeline / "artifacts/datasets/fastseg_cityscapes", (64, 128), steps=0, every=1, stride=4,
              n_val=1)
