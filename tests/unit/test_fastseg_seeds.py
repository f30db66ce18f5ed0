"""fastseg's seeds: each seed's models ranked alone (never pooled into one AP ranking), a row is the seed mean, the
bootstrap resamples frames paired across seeds and rows, and a claim the seeds do not all share is inconclusive."""

import numpy as np
import pandas as pd
import pytest

from robopercept import paths
from robopercept.common.cityscapes_eval import ap_from_matches, match_instances
from robopercept.fastseg import evaluate as E
from robopercept.fastseg import verdict as V
from robopercept.formats import cityscapes as C

H, W = 64, 128
CLAIMS = paths.root() / "src/robopercept/fastseg/claims.yaml"


@pytest.fixture()
def val(tmp_path):
    ids = C.label_ids()
    rng = np.random.default_rng(0)
    for i in range(4):
        labels = np.full((H, W), ids["road"], np.int64)
        inst = labels.copy()
        for k in range(1 + i % 2):
            x = 10 + 50 * k
            labels[30:50, x:x + 30] = ids["car"]
            inst[30:50, x:x + 30] = ids["car"] * 1000 + k
        C.write_frame(tmp_path / "cs", "val", C.stem("simtown", 0, i), rng.integers(0, 255, (H, W, 3), np.uint8),
                      labels, inst)
    return C.CityscapesSet(tmp_path / "cs", "val")


def _row(ds, tmp_path, seeds) -> E.RowResult:
    """A row whose seed j predicts ``seeds[j](frame)`` on every frame (as evaluate_row keys and orders them)."""
    matches, keys, confs, counts = {}, [], [], []
    for j, predict in enumerate(seeds):
        preds = [predict(f) for f in ds]
        counts.append(sum(len(p[0]) for p in preds))
        m, args = match_instances(ds, preds, tmp_path / f"s{j}")
        for name, v in m.items():
            matches[f"{name}#s{j}"] = v
            keys.append(f"{name}#s{j}")
        confs += [np.eye(E.NUM_CLASSES, dtype=np.int64) * (j + 1) for _ in ds]
    return E.RowResult(np.stack(confs), matches, args, keys, counts)


def perfect(f):
    masks, lab = f.instance_masks()
    return masks, lab, np.ones(len(lab))


def confident_junk_plus_truth(f):
    """The true masks at score 0.5 and, above them, a false car of score 0.9."""
    masks, lab = f.instance_masks()
    junk = np.zeros((1, H, W), bool)
    junk[0, 2:20, 2:40] = True
    return np.concatenate([junk, masks]), np.concatenate([lab[:1], lab]), np.r_[0.9, np.full(len(lab), 0.5)]


def test_each_seed_is_ranked_alone_and_the_row_is_the_seed_mean(val, tmp_path):
    r = _row(val, tmp_path, [perfect, confident_junk_plus_truth])
    per = E.seed_scores(r)
    assert per[0]["mAP"] == pytest.approx(100)
    assert per[1]["mAP"] < 100
    row = E.row_scores(r)
    assert row["mAP"] == pytest.approx((per[0]["mAP"] + per[1]["mAP"]) / 2)
    # pooling both seeds into one ranking (the old rule) puts seed 1's confident junk above seed 0's true masks
    pooled = ap_from_matches(r.matches, r.args, r.keys)["AP"]
    assert pooled != pytest.approx(row["mAP"])
    assert E.n_frames(r) == len(val)


def test_bootstrap_resamples_the_same_frames_for_every_seed_and_row(val, tmp_path):
    rows = {"a": _row(val, tmp_path / "a", [perfect, confident_junk_plus_truth]),
            "b": _row(val, tmp_path / "b", [confident_junk_plus_truth, perfect])}
    reps = E.bootstrap(rows, 4, seed=7)
    rng = np.random.default_rng(7)
    for rep in reps:
        pos = rng.integers(0, len(val), len(val))
        for name, r in rows.items():
            assert rep[name]["mAP"] == pytest.approx(E.row_scores(r, pos)["mAP"])
        # the two rows are the same two seeds swapped: paired frames give them equal seed means
        assert rep["a"]["mAP"] == pytest.approx(rep["b"]["mAP"])


def test_rows_of_different_sizes_and_bad_frame_indices_are_refused(val, tmp_path):
    one = _row(val, tmp_path / "one", [perfect])
    two = _row(val, tmp_path / "two", [perfect, perfect])
    with pytest.raises(ValueError, match="frames or seeds"):
        E.bootstrap({"one": one, "two": two}, 2, 0)
    with pytest.raises(ValueError, match="frame indices"):
        E.seed_scores(two, np.array([len(val)]))


def _table(ours_os1: float, baseline: float) -> pd.DataFrame:
    rows = [("Baseline", baseline, baseline / 2, 60.0), ("Ours MNv2 OS1", ours_os1, ours_os1 / 2, 58.0),
            ("Ours MNv2 OSk", ours_os1, ours_os1 / 2, 57.5)]
    return pd.DataFrame(rows, columns=["method", *V.METRICS])


def test_a_verdict_the_seeds_do_not_share_is_inconclusive():
    mean = _table(ours_os1=10.0, baseline=12.0).assign(untrained_seeds=0)
    reps = [{r["method"]: {m: r[m] for m in V.METRICS}
             for _, r in mean.iterrows()} for _ in range(20)]
    agree = [_table(10.0, 12.0), _table(9.0, 13.0)]
    split = [_table(6.0, 14.0), _table(14.0, 10.0)]  # same mean, seeds point opposite ways
    v_agree = V.claims_verdict(mean, reps, CLAIMS, "MNv2 OS1", tuned_rows=False, seed_tables=agree).set_index("id")
    v_split = V.claims_verdict(mean, reps, CLAIMS, "MNv2 OS1", tuned_rows=False, seed_tables=split).set_index("id")
    v_none = V.claims_verdict(mean, reps, CLAIMS, "MNv2 OS1", tuned_rows=False).set_index("id")
    cid = "baseline_slightly_better"
    assert v_none.loc[cid, "verdict"] == "held" and v_agree.loc[cid, "verdict"] == "held"
    assert "held on 2 of 2 seeds" in v_agree.loc[cid, "caveat"]
    assert v_split.loc[cid, "verdict"] == "inconclusive"
    assert "held on 1 of 2 seeds" in v_split.loc[cid, "caveat"] and "not on every seed" in v_split.loc[cid, "caveat"]


def test_the_per_seed_table_splits_back_into_the_tables_the_claims_read(val, tmp_path):
    r = _row(val, tmp_path, [perfect, confident_junk_plus_truth])
    per = {"Baseline": E.seed_scores(r), "Ours MNv2 OS1": E.seed_scores(r)}
    t = V.seed_table(per, {"Baseline": r.instances, "Ours MNv2 OS1": [0, 5]})
    assert list(t.columns) == ["method", "seed", *V.METRICS, "instances"] and len(t) == 4
    assert t.loc[(t.method == "Ours MNv2 OS1") & (t.seed == 1), "instances"].item() == 5
    split = V.seed_tables(t)
    assert len(split) == 2 and list(split[1].columns) == ["method", *V.METRICS]
    assert split[1].set_index("method").loc["Baseline", "mAP"] == pytest.approx(per["Baseline"][1]["mAP"])
    # the row's cell is the mean of the per-seed rows (one scoring pass serves both tables)
    assert E.seed_mean(per["Baseline"])["mAP"] == pytest.approx(t[t.method == "Baseline"].mAP.mean())
    with pytest.raises(ValueError, match="instance counts"):
        V.seed_table(per, {"Baseline": [1], "Ours MNv2 OS1": [0, 5]})
    with pytest.raises(ValueError, match="no seeds"):
        E.seed_mean([])


def test_the_metrics_flags_carry_the_flagged_claims_and_the_tuned_reading():
    v = pd.DataFrame({"id": ["a", "b"], "verdict": ["held", "missed"], "untrained_rows": ["Ours MNv2 OSk", ""]})
    tuned = v.assign(verdict=["inconclusive", "held"], untrained_rows=["", ""])
    assert V.metrics_flags(v, None) == {"flagged_untrained": {"a": "Ours MNv2 OSk"}}
    both = V.metrics_flags(v, tuned)
    assert both["tuned_verdicts"] == {"a": "inconclusive", "b": "held"} and both["tuned_flagged_untrained"] == {}


def test_rows_sharing_a_network_run_it_once_a_frame_and_score_as_rows_evaluated_alone(val, tmp_path):
    import torch

    from robopercept.fastseg.dataset import FrameSet

    ds = FrameSet(val.root, "val", n=2)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the stage's workers; two threads per xdist worker oversubscribe 2 cores
    try:
        _shared_rows_check(E, ds, tmp_path)
    finally:
        torch.set_num_threads(threads)


def _shared_rows_check(E, ds, tmp_path):
    """Four rows on two networks' seeds (OS1 shared by three rows): see the test above."""
    import torch

    from robopercept.fastseg.model import FastSeg, ModelSettings
    from robopercept.fastseg.postprocess import PostSettings

    torch.manual_seed(0)
    os1 = [FastSeg(ModelSettings(decoder_width=8, dec_os=1)).eval() for _ in range(2)]  # two seeds
    os4 = [FastSeg(ModelSettings(decoder_width=8, dec_os=4)).eval() for _ in range(2)]
    calls = {}
    for n in os1 + os4:
        n.register_forward_hook(lambda mod, i, o: calls.__setitem__(id(mod), calls.get(id(mod), 0) + 1))
    loose, strict = PostSettings(centre_threshold=0.05), PostSettings(centre_threshold=0.5)
    wide = PostSettings(cluster_distance=5.0)  # random embeddings: a few wide clusters, not thousands of tiny ones
    rows = {"Baseline": (os1, "all_to_all", wide), "Ours OS1": (os1, "ours", strict),
            "Ours OS1, loose": (os1, "ours", loose), "Ours OS4": (os4, "ours", loose)}
    together = E.evaluate_rows(rows, ds, tmp_path / "together")
    assert list(together) == list(rows)
    assert calls == {id(n): len(ds) for n in os1 + os4}  # one pass a network and frame for all four rows
    assert sum(sum(r.instances) for r in together.values()) > 0  # the rows compared are not all empty
    for name, (models, mode, post) in rows.items():
        alone = E.evaluate_row(models, ds, mode, post, tmp_path / "alone" / name.replace(" ", "_").replace(",", ""))
        r = together[name]
        np.testing.assert_array_equal(r.confusions, alone.confusions)
        assert r.keys == alone.keys and r.instances == alone.instances
        np.testing.assert_equal(E.seed_scores(r), E.seed_scores(alone))  # NaN for classes absent from both
    with pytest.raises(ValueError, match="decoder stride of 1"):
        E.evaluate_rows({"bad": (os4, "all_to_all", loose)}, ds, tmp_path / "bad")


def test_an_inconclusive_verdict_still_carries_its_per_seed_reading():
    # the seed mean's interval straddles the claim's bound, so it is inconclusive before the seeds are read;
    # the caveat still says what each seed shows (both agree here, so the interval alone is why)
    mean = _table(ours_os1=10.0, baseline=12.0).assign(untrained_seeds=0)
    reps = []
    for k in range(20):
        t = _table(ours_os1=10.0, baseline=(6.0 if k % 2 else 18.0))
        reps.append({r["method"]: {m: r[m] for m in V.METRICS} for _, r in t.iterrows()})
    v = V.claims_verdict(mean, reps, CLAIMS, "MNv2 OS1", tuned_rows=False,
                         seed_tables=[_table(10.0, 12.0), _table(9.0, 13.0)]).set_index("id")
    cid = "baseline_slightly_better"
    assert v.loc[cid, "verdict"] == "inconclusive"
    assert "held on 2 of 2 seeds" in v.loc[cid, "caveat"] and "not on every seed" not in v.loc[cid, "caveat"]
