"""fastseg.verdict: the claims read on the paper-threshold rows or on the tuned rows, never a mix."""

import pandas as pd
import pytest

from robopercept import paths
from robopercept.fastseg import verdict as V

CLAIMS = paths.root() / "src/robopercept/fastseg/claims.yaml"


def table(untrained_tuned: int = 0) -> pd.DataFrame:
    rows = [("Baseline", 10.0, 5.0, 60.0, 0),
            ("Ours MNv2 OS1", 0.0, 0.0, 58.0, 2), ("Ours MNv2 OSk", 0.0, 0.0, 57.0, 2),
            ("Ours MNv2 OS1, tuned threshold", 12.0, 6.0, 58.0, untrained_tuned),
            ("Ours MNv2 OSk, tuned threshold", 11.0, 5.5, 57.0, untrained_tuned)]
    return pd.DataFrame(rows, columns=["method", "mAP@50", "mAP", "IoU", "untrained_seeds"])


def test_rows_are_renamed_as_the_papers():
    paper = V.as_paper_rows(table(), tuned_rows=False, baseline_model="MNv2 OS1")
    tuned = V.as_paper_rows(table(), tuned_rows=True, baseline_model="MNv2 OS1")
    for t in (paper, tuned):
        assert sorted(t.method) == sorted(["Baseline", "Ours MNv2 OS1", "Ours MNv2 OSk", "Ours, baseline network"])
    assert paper.set_index("method").loc["Ours MNv2 OSk", "mAP@50"] == 0.0
    assert tuned.set_index("method").loc["Ours MNv2 OSk", "mAP@50"] == 11.0
    assert tuned.set_index("method").loc["Ours, baseline network", "mAP@50"] == 12.0  # the tuned OS1 row
    assert tuned.set_index("method").loc["Baseline", "mAP@50"] == 10.0  # the same baseline in both readings


def test_claims_flag_untrained_rows_only_in_the_reading_that_has_them():
    t = table()
    reps = [{r["method"]: {m: r[m] for m in V.METRICS} for _, r in t.iterrows()} for _ in range(20)]
    paper = V.claims_verdict(t, reps, CLAIMS, "MNv2 OS1", tuned_rows=False).set_index("id")
    tuned = V.claims_verdict(t, reps, CLAIMS, "MNv2 OS1", tuned_rows=True).set_index("id")
    # AP claim on a row whose seeds never learned: flagged at the paper's threshold, not on the tuned rows
    assert "Ours, baseline network" in paper.loc["baseline_slightly_better", "untrained_rows"]
    assert tuned.loc["baseline_slightly_better", "untrained_rows"] == ""
    # a claim on semantic IoU alone is never flagged
    assert paper.loc["superpixel_grid_similar_iou_mnv2", "untrained_rows"] == ""
    # on the tuned rows the baseline (mAP 5.0) is below our OS1 (6.0): the claim is missed there
    assert tuned.loc["baseline_slightly_better", "verdict"] == "missed"
    # at the paper's threshold the comparison holds (5.0 > 0.0) but rests on a row that never learned: inconclusive
    assert paper.loc["baseline_slightly_better", "verdict"] == "inconclusive"
    assert "says 'held'" in paper.loc["baseline_slightly_better", "caveat"]


def test_the_papers_own_table_holds_every_claim_it_makes():
    from robopercept.fastseg import paper as P
    from robopercept.reporting import claims

    rows = [{"method": n, **{m: r[m] for m in V.METRICS}} for n, r in P.TABLE1.items()]
    rows.append({**rows[1], "method": "Ours, baseline network"})  # the paper's baseline network is DN53
    v = claims.evaluate_claims(CLAIMS, pd.DataFrame(rows)).set_index("id")
    assert (v.verdict == "held").all(), v[v.verdict != "held"][["expr", "margin", "note"]]


def test_a_similar_reading_is_relative_so_two_near_zero_scores_are_not_similar():
    rows = [("Baseline", 1.0, 0.5, 30.0, 0), ("Ours MNv2 OS1", 0.36, 0.1, 24.0, 0),
            ("Ours MNv2 OSk", 0.14, 0.05, 28.0, 0)]
    t = pd.DataFrame(rows, columns=["method", "mAP@50", "mAP", "IoU", "untrained_seeds"])
    from robopercept.reporting import claims

    v = claims.evaluate_claims(CLAIMS, V.as_paper_rows(t, False, "MNv2 OS1")).set_index("id")
    assert v.loc["superpixel_grid_similar_map50_mnv2", "verdict"] == "missed"  # 0.14 is not "similar" to 0.36
    assert v.loc["superpixel_grid_similar_iou_mnv2", "verdict"] == "held"  # a better grid model does not miss it
    assert v.loc["baseline_slightly_better", "verdict"] == "held"  # 0 < 0.5 - 0.1 <= 5


def test_missing_baseline_network_row_is_named():
    with pytest.raises(ValueError, match="Ours DN53 OS1"):
        V.as_paper_rows(table(), tuned_rows=False, baseline_model="DN53 OS1")


def test_a_seed_without_instances_or_far_below_the_papers_map50_did_not_learn():
    from robopercept.fastseg.verdict import unlearned_seeds

    # paper 46.2 mAP@50, share 0.1: the floor is 4.62
    assert unlearned_seeds([0, 12], [0.0, 30.0], 46.2, 0.1) == 1  # no instance at all
    assert unlearned_seeds([40, 12], [0.3, 4.0], 46.2, 0.1) == 2  # instances, but near zero AP
    assert unlearned_seeds([40, 12], [5.0, 30.0], 46.2, 0.1) == 0
    assert unlearned_seeds([40, 0], [0.3, 0.0], float("nan"), 0.1) == 1  # no paper value: only "no instance" counts
    assert unlearned_seeds([40], [0.3], 46.2, 0.0) == 0  # share 0: the rule of old
    with pytest.raises(ValueError, match="instance counts"):
        unlearned_seeds([1, 2], [0.5], 46.2, 0.1)



def test_every_claim_quotes_the_paper_verbatim():
    from paper_quotes import assert_quotes_verbatim

    assert_quotes_verbatim(CLAIMS, "fastseg")


def test_min_pixels_zero_is_the_evaluators_own_minimum_region():
    from robopercept.fastseg.evaluate import min_pixels_at

    assert min_pixels_at(0, 128, 256) == 2  # 100 px at 2048 x 1024, scaled to 256 x 128
    assert min_pixels_at(0, 512, 1024) == 25
    assert min_pixels_at(7, 128, 256) == 7  # an explicit size is kept
    with pytest.raises(ValueError, match="min_pixels"):
        min_pixels_at(-1, 128, 256)


def test_sentences_listed_as_not_evaluated_are_counted_with_their_reason():
    t = table()
    reps = [{r["method"]: {m: r[m] for m in V.METRICS} for _, r in t.iterrows()} for _ in range(5)]
    out = V.claims_verdict(t, reps, CLAIMS, "MNv2 OS1", tuned_rows=True).set_index("id")
    listed = V.not_evaluated(CLAIMS)
    assert {"baseline_costs_3x", "superpixel_grid_faster", "semantic_on_par_with_realtime",
            "instances_better_than_sota"} <= set(listed.id)
    for i in listed.id:
        assert out.loc[i, "verdict"] == "not evaluated" and out.loc[i, "note"], i
    # the claims proper keep their verdicts beside them
    assert out.loc["superpixel_grid_similar_iou_mnv2", "verdict"] != "not evaluated"
    from robopercept.reporting import verdicts
    assert "Not evaluated here: we train none of the other methods" in verdicts.sentences(out.reset_index())


def test_a_malformed_not_evaluated_entry_is_refused(tmp_path):
    import yaml

    from robopercept.reporting.claims import ClaimError

    spec = yaml.safe_load(CLAIMS.read_text())
    bad = dict(spec, not_evaluated=[{k: v for k, v in spec["not_evaluated"][0].items() if k != "reason"}])
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(bad))
    with pytest.raises(ClaimError, match="lacks reason"):
        V.not_evaluated(tmp_path / "a.yaml")
    dup = dict(spec, not_evaluated=[dict(spec["not_evaluated"][0], id=spec["claims"][0]["id"])])
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(dup))
    with pytest.raises(ClaimError, match="duplicate claim id"):
        V.not_evaluated(tmp_path / "b.yaml")


def test_speed_claims_read_the_measured_time_per_frame_with_a_frame_bootstrap():
    import numpy as np

    from robopercept.fastseg.benchmark import SPEED_CLAIMS, speed_verdict

    rng = np.random.default_rng(1)
    noisy = lambda ms: list(ms * (1 + 0.05 * rng.standard_normal(20)))  # noqa: E731
    per_frame = {"Baseline": noisy(300.0), "Ours MNv2 OS1": noisy(100.0), "Ours MNv2 OSk": noisy(30.0),
                 "Ours MNv2 OS1, tuned threshold": noisy(290.0), "Ours MNv2 OSk, tuned threshold": noisy(98.0)}
    paper = speed_verdict(per_frame, "MNv2 OS1", tuned_rows=False, n_boot=200).set_index("id")
    assert paper.loc["baseline_costs_3x", "verdict"] == "held"  # 300 / 100 = 3 >= 2
    assert paper.loc["superpixel_grid_3x_faster_mnv2", "verdict"] == "held"  # 3.3 >= 2
    assert paper.loc["baseline_costs_3x", "margin"] == pytest.approx(1.0, abs=0.2)  # the ratio's margin above 2
    assert paper.loc["superpixel_grid_2x_faster_dn53", "verdict"] == "not evaluated"  # no Darknet-53 row timed
    tuned = speed_verdict(per_frame, "MNv2 OS1", tuned_rows=True, n_boot=200).set_index("id")
    # timed at the tuned thresholds the post-processing has centres to cluster: 300 / 290 and 290 / 98
    assert tuned.loc["baseline_costs_3x", "verdict"] == "missed"
    assert tuned.loc["superpixel_grid_3x_faster_mnv2", "verdict"] == "held"
    with pytest.raises(ValueError, match="same non-zero number of frames"):
        speed_verdict({"Baseline": [1.0, 2.0], "Ours MNv2 OS1": [1.0]}, "MNv2 OS1", tuned_rows=False)
    from paper_quotes import assert_quotes_verbatim
    assert_quotes_verbatim(SPEED_CLAIMS, "fastseg")


def test_an_inconclusive_claim_on_a_row_that_did_not_learn_says_so():
    row = {"id": "c", "verdict": "inconclusive", "untrained_rows": "Baseline", "caveat": ""}
    kept = {"id": "d", "verdict": "inconclusive", "untrained_rows": "", "caveat": ""}
    out = V.untrained_inconclusive(pd.DataFrame([row, kept])).set_index("id")
    assert out.loc["c", "verdict"] == "inconclusive" and out.loc["c", "caveat"] == "Baseline did not learn instances"
    assert out.loc["d", "caveat"] == ""
