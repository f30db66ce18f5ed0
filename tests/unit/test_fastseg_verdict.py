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
