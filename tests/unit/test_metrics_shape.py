"""The one metrics shape every paper's stages write (reporting.tables.metrics_document)."""

import math

import pandas as pd
import pytest

from robopercept.reporting.tables import metrics_document


def test_tables_claims_and_values_in_one_shape():
    table = pd.DataFrame({"method": ["A", "B"], "mIOU": [80.0, 70.5]})
    claims = pd.DataFrame({"id": ["c1", "c2", "c3"], "holds": [True, False, None]})
    doc = metrics_document(paper="p", stage="s", profile="cpu", values={"n": 3}, tables={"table1": table},
                           claims=claims)
    assert doc["tables"] == {"table1": {"A": {"mIOU": 80.0}, "B": {"mIOU": 70.5}}}
    assert doc["claims"]["verdicts"] == {"c1": "held", "c2": "missed", "c3": "not evaluated"}
    assert doc["claims"]["count"] == {"held": 1, "missed": 1, "inconclusive": 0, "not evaluated": 1, "total": 3}
    assert doc["values"] == {"n": 3} and (doc["paper"], doc["stage"], doc["profile"]) == ("p", "s", "cpu")


def test_verdict_strings_pass_and_unknown_ones_are_refused():
    doc = metrics_document(paper="p", stage="s", profile="cpu",
                           claims={"a": "inconclusive", "b": math.nan})
    assert doc["claims"]["verdicts"] == {"a": "inconclusive", "b": "not evaluated"}
    with pytest.raises(ValueError, match="unknown claim verdict 'maybe'"):
        metrics_document(paper="p", stage="s", profile="cpu", claims={"a": "maybe"})


def test_absent_sections_are_left_out():
    assert metrics_document(paper="p", stage="s", profile="smoke") == {"paper": "p", "stage": "s", "profile": "smoke"}
