"""The claims report a notebook shows: written table, short view, one sentence per claim."""

import pandas as pd

from robopercept.reporting.verdicts import COLUMNS, claims_report


def test_report_writes_the_table_and_says_why_a_claim_was_not_evaluated_or_missed(tmp_path):
    base = {"section": "§1", "quote": "q", "claim": "c", "holds": None, "margin": 1.0, "margin_lo": 0.5,
            "margin_hi": 1.5, "share_held": 1.0, "caveat": "", "baseline_collapsed": False}
    verdict = pd.DataFrame([
        {**base, "id": "a", "verdict": "held", "holds": True, "if_missed": "x", "note": ""},
        {**base, "id": "b", "verdict": "missed", "holds": False, "if_missed": "too few steps", "note": ""},
        {**base, "id": "c", "verdict": "not evaluated", "if_missed": "", "note": "row 'DN53' is not in the table"},
    ])
    short, text = claims_report(verdict, tmp_path, "claims", caption="test")
    written = pd.read_csv(tmp_path / "claims.csv")
    assert list(written.columns) == COLUMNS and list(short.id) == ["a", "b", "c"]
    lines = text.splitlines()
    assert "Where to look" not in lines[0] and "Where to look: too few steps" in lines[1] and "row 'DN53'" in lines[2]


def test_a_cause_for_a_miss_shows_only_where_the_comparison_went_against_the_paper():
    from robopercept.reporting.claims import shows_cause

    base = {"if_missed": "why", "verdict": "inconclusive"}
    assert shows_cause({**base, "holds": False})  # inconclusive, comparison against the paper: a miss to explain
    assert not shows_cause({**base, "holds": True})  # inconclusive only by its interval or an untrained row
    assert not shows_cause({**base, "holds": True, "verdict": "held"})
    assert not shows_cause({**base, "holds": False, "if_missed": ""})
    assert shows_cause({**base, "verdict": "missed", "holds": False})
    assert shows_cause({**base, "verdict": "not evaluated", "holds": float("nan")})  # NaN is not "held"
    row = pd.DataFrame([{**base, "holds": True}]).itertuples().__next__()  # namedtuple rows, as notebooks iterate
    assert not shows_cause(row)
    import numpy as np

    assert not shows_cause({**base, "holds": np.bool_(True)})


def test_a_caveat_reaches_the_sentence_and_an_empty_one_leaves_no_trace():
    from robopercept.reporting.verdicts import sentence, sentences

    base = {"section": "§V-B", "quote": "Paste-Grasp-Inpaint is best", "claim": "c", "margin": 0.4, "margin_lo": -0.2,
            "margin_hi": 1.1, "share_held": 0.8, "baseline_collapsed": False, "if_missed": "compare X with Y",
            "note": ""}
    held = {**base, "id": "five_fold", "verdict": "held", "holds": True,
            "caveat": "Holds at 8.0x because our Subtract-Filter errs 171 %."}
    line = sentence(held)
    assert line.startswith('* **five_fold** (§V-B): "Paste-Grasp-Inpaint is best" — **held** (margin +0.4')
    assert line.endswith(". *Holds at 8.0x because our Subtract-Filter errs 171 %.*")
    # an inconclusive claim whose comparison went against the paper: caveat, then where to look
    against = {**base, "id": "inpaint_best", "verdict": "inconclusive", "holds": False, "caveat": "Two seeds."}
    assert sentence(against).endswith("*Two seeds.* Where to look: compare X with Y")
    # a claims table read back from CSV has NaN in empty text cells: no "*nan*"
    plain = {**base, "id": "p", "verdict": "held", "holds": True, "caveat": float("nan"), "note": float("nan")}
    assert "nan" not in sentence(plain) and sentence(plain).endswith("]).")
    text = sentences(pd.DataFrame([held, against, plain]))
    assert text.splitlines() == [sentence(held), sentence(against), sentence(plain)]
