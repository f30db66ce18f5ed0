"""Claims that compare a row with a seed that never learned are flagged, whatever their verdict."""

import pandas as pd
import pytest

from robopercept.reporting import claims, untrained

SPEC = """
row_key: method
metrics: {AP: AP, failed: untrained_seeds}
claims:
  - {id: b_beats_a, section: s1, quote: q, claim: c, expr: "AP('B') > AP('A')"}
  - {id: c_beats_b, section: s2, quote: q, claim: c, expr: "AP('C') > max(AP('B'), AP('D'))"}
  - {id: d_beats_c, section: s3, quote: q, claim: c, expr: "AP('D') > AP('C')"}
"""


def test_claims_naming_an_untrained_row_are_flagged_held_or_missed(tmp_path):
    f = tmp_path / "claims.yaml"
    f.write_text(SPEC)
    # A never learned (AP 0): "B beats A" holds only because of it; "D beats C" is untouched
    table = pd.DataFrame({"method": ["A", "B", "C", "D"], "AP": [0.0, 10.0, 12.0, 15.0],
                          "untrained_seeds": [2, 0, 0, 0]})
    v = untrained.flag(claims.evaluate_claims(f, table), f, table, "untrained_seeds")
    assert list(v.untrained_rows) == ["A", "", ""]
    assert list(v.verdict) == ["held", "missed", "held"]  # the verdicts themselves are left as computed
    assert untrained.count(v) == 1
    row = v.iloc[0]
    assert "never learned" in untrained.sentence(row) and untrained.sentence(v.iloc[2]) == ""
    # a missed claim is flagged too: B and D both failed a seed
    table["untrained_seeds"] = [0, 1, 0, 1]
    v = untrained.flag(claims.evaluate_claims(f, table), f, table, "untrained_seeds")
    assert list(v.untrained_rows) == ["B", "B, D", "D"]


def test_rows_named_reads_metric_call_arguments_once_each():
    assert untrained.rows_named("AP('X') > max(AP('Y'), AP50('X')) and AP('Z') < 3") == ["X", "Y", "Z"]


def test_a_table_without_the_count_column_is_named(tmp_path):
    f = tmp_path / "claims.yaml"
    f.write_text(SPEC)
    table = pd.DataFrame({"method": ["A", "B", "C", "D"], "AP": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(claims.ClaimError, match="untrained_seeds"):
        untrained.flag(claims.evaluate_claims(f, table), f, table, "untrained_seeds")


def test_flag_can_be_limited_to_the_metrics_a_failed_head_spoils(tmp_path):
    f = tmp_path / "claims.yaml"
    f.write_text(SPEC.replace("metrics: {AP: AP, failed: untrained_seeds}", "metrics: {AP: AP, IoU: IoU}")
                 + """  - {id: iou_close, section: s4, quote: q, claim: c, expr: "abs(IoU('A') - IoU('B')) < 2"}\n""")
    table = pd.DataFrame({"method": ["A", "B", "C", "D"], "AP": [0.0, 10.0, 12.0, 15.0],
                          "IoU": [30.0, 31.0, 29.0, 28.0], "untrained_seeds": [2, 0, 0, 0]})
    verdict = claims.evaluate_claims(f, table)
    # A's instance head failed: the AP claim on A is flagged, the IoU claim on A is not
    v = untrained.flag(verdict, f, table, "untrained_seeds", metrics=["AP"])
    assert list(v.untrained_rows) == ["A", "", "", ""]
    assert list(untrained.flag(verdict, f, table, "untrained_seeds").untrained_rows) == ["A", "", "", "A"]
    assert untrained.metrics_called("AP50('X') > max(AP('Y'), 3)") == {"AP50", "AP", "max"}
    with pytest.raises(claims.ClaimError, match="mAP"):  # a metric the claims file does not define
        untrained.flag(verdict, f, table, "untrained_seeds", metrics=["mAP"])
