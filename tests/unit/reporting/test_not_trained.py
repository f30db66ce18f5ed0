"""Experiments a profile does not train: the one definition of a placeholder table, and why a claim on their rows
is not evaluated (in its caveat, where claims.csv and the site show it)."""

import pandas as pd
import pytest

from robopercept.reporting import claims, not_trained

SPEC = """
row_key: row
metrics: {AUC: AUC}
claims:
  - {id: on_a, section: s1, quote: q, claim: c, expr: "AUC('a: x') > AUC('a: y')"}
  - {id: on_b, section: s2, quote: q, claim: c, expr: "AUC('b: x') > AUC('a: x')"}
  - {id: on_b_c, section: s3, quote: q, claim: c, expr: "AUC('b: x') > AUC('c: x')"}
  - {id: on_a_cut, section: s4, quote: q, claim: c, expr: "AUC('a: z') > AUC('a: x')"}
"""
KNOWN = {"a: x": "a", "a: y": "a", "a: z": "a", "b: x": "b", "c: x": "c"}  # every row of the full design
SETTING = "train.experiments: a"


def test_a_placeholder_is_what_placeholder_writes_and_nothing_with_numbers():
    df = not_trained.placeholder("table2", SETTING)
    assert list(df.columns) == ["experiment", "status"]
    assert df.status[0] == "not trained at this profile (train.experiments: a)" == not_trained.status(SETTING)
    assert not_trained.is_placeholder(df) and not_trained.reason(df) == df.status[0]
    assert not not_trained.is_placeholder(df.assign(AUC=[0.5]))  # numbers of ours: a results table
    assert not not_trained.is_placeholder(df.assign(status=["failed"]))  # a status, but not the marker
    assert not not_trained.is_placeholder(df.iloc[:0])
    with pytest.raises(ValueError, match="not a placeholder"):
        not_trained.reason(pd.DataFrame({"row": ["x"], "AUC": [0.5]}))


def test_claims_on_untrained_experiments_say_why_in_their_caveat(tmp_path):
    f = tmp_path / "claims.yaml"
    f.write_text(SPEC)
    table = pd.DataFrame({"row": ["a: x", "a: y"], "AUC": [0.6, 0.5]})  # trains a, not z (a point its sweep leaves out)
    v = not_trained.explain_claims(claims.evaluate_claims(f, table), f, list(table.row), KNOWN, ["b", "c"], SETTING)
    assert list(v.verdict) == ["held", "not evaluated", "not evaluated", "not evaluated"]
    assert list(v.caveat) == ["", "b not trained at this profile (train.experiments: a)",
                              "b, c not trained at this profile (train.experiments: a)",
                              "not in this profile's sweep: 'a: z'"]


def test_a_typo_or_a_trained_claim_left_unevaluated_is_an_error(tmp_path):
    f = tmp_path / "claims.yaml"
    f.write_text(SPEC.replace("AUC('a: y')", "AUC('a: yy')"))  # a row no experiment has
    table = pd.DataFrame({"row": ["a: x", "a: y"], "AUC": [0.6, 0.5]})
    with pytest.raises(claims.ClaimError, match=r"no experiment has .*a: yy"):
        not_trained.explain_claims(claims.evaluate_claims(f, table), f, list(table.row), KNOWN, ["b", "c"], SETTING)
    f.write_text(SPEC)
    v = claims.evaluate_claims(f, table)
    v.loc[v.id == "on_a", "verdict"] = "not evaluated"  # e.g. a NaN cell: its rows were trained
    with pytest.raises(claims.ClaimError, match="'on_a': every row it names was trained"):
        not_trained.explain_claims(v, f, list(table.row), KNOWN, ["b", "c"], SETTING)


def test_a_caveat_from_the_claims_file_is_kept(tmp_path):
    f = tmp_path / "claims.yaml"
    f.write_text(SPEC)
    table = pd.DataFrame({"row": ["a: x", "a: y"], "AUC": [0.6, 0.5]})
    v = claims.evaluate_claims(f, table)
    v["caveat"] = ["given.", "given.", "", ""]
    v = not_trained.explain_claims(v, f, list(table.row), KNOWN, ["b", "c"], SETTING)
    assert list(v.caveat)[:2] == ["given.", "given. b not trained at this profile (train.experiments: a)"]
