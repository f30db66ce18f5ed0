"""The bootstrap behind every interval and the three-way claim verdicts, on hand-made tables."""

import math

import numpy as np
import pandas as pd
import pytest

from robopercept.reporting.claims import ClaimError, evaluate_claims, load_spec, render, tally
from robopercept.reporting.uncertainty import Ratio, bootstrap, interval, wilson_interval


def _units(rows: dict[str, list[list[float]]]) -> pd.DataFrame:
    """rows: method -> per seed, the per-image hits."""
    out = []
    for m, seeds in rows.items():
        for s, hits in enumerate(seeds):
            out += [{"method": m, "seed": s, "group": "test", "unit": i, "hit": h} for i, h in enumerate(hits)]
    return pd.DataFrame(out)


def test_point_estimate_is_the_mean_over_seeds_of_each_seeds_ratio():
    units = _units({"A": [[1, 1, 0, 0], [1, 1, 1, 0]], "B": [[0, 0, 0, 1]]})
    point, reps = bootstrap(units, {"top1": Ratio("test", "hit")}, n_boot=5, seed=0)
    assert point.set_index("method").top1.to_dict() == {"A": pytest.approx(62.5), "B": pytest.approx(25.0)}
    assert len(reps) == 5 and all(list(r.method) == ["A", "B"] for r in reps)


def test_ratio_of_sums_over_kept_units():
    # mIOU over kept predictions = Σ iou·kept / Σ kept
    df = pd.DataFrame({"method": "M", "seed": 0, "group": "test", "unit": [0, 1, 2],
                       "iou_kept": [0.8, 0.0, 0.6], "kept": [1.0, 0.0, 1.0]})
    point, _ = bootstrap(df, {"mIOU": Ratio("test", "iou_kept", "kept")}, n_boot=1)
    assert point.mIOU[0] == pytest.approx(70.0)


def test_bootstrap_is_deterministic_and_paired():
    rng = np.random.default_rng(1)
    hits = rng.integers(0, 2, 50).astype(float)
    units = _units({"A": [hits.tolist()], "B": [hits.tolist()]})  # identical methods
    _, reps1 = bootstrap(units, {"top1": Ratio("test", "hit")}, n_boot=50, seed=3)
    _, reps2 = bootstrap(units, {"top1": Ratio("test", "hit")}, n_boot=50, seed=3)
    assert all(a.equals(b) for a, b in zip(reps1, reps2))
    # the same resampled images for every row: identical methods stay identical in every replicate
    assert all(r.top1[0] == r.top1[1] for r in reps1)
    ci = interval(reps1, "top1")
    assert (ci.top1_lo < ci.top1_hi).all()


def test_seed_noise_widens_the_interval():
    same = [[1.0] * 10 + [0.0] * 10] * 3
    spread = [[1.0] * 2 + [0.0] * 18, [1.0] * 10 + [0.0] * 10, [1.0] * 18 + [0.0] * 2]
    _, r1 = bootstrap(_units({"A": same}), {"top1": Ratio("test", "hit")}, n_boot=300, seed=0)
    _, r2 = bootstrap(_units({"A": spread}), {"top1": Ratio("test", "hit")}, n_boot=300, seed=0)
    w1 = np.subtract(*interval(r1, "top1")[["top1_hi", "top1_lo"]].iloc[0])
    w2 = np.subtract(*interval(r2, "top1")[["top1_hi", "top1_lo"]].iloc[0])
    assert w2 > w1


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="empty"):
        bootstrap(pd.DataFrame(), {"top1": Ratio("test", "hit")})
    with pytest.raises(ValueError, match="unit group 'clutter'"):
        bootstrap(_units({"A": [[1, 0]]}), {"x": Ratio("clutter", "hit")})


def test_wilson_interval_by_hand():
    lo, hi = wilson_interval(98, 108)  # the paper's 98/108
    assert 0.83 < lo < 0.85 and 0.94 < hi < 0.96
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


SPEC = """
row_key: method
metrics: {top1: top1}
claims:
  - {id: clear_win, section: "§1", quote: "B beats A.", claim: "B > A", expr: "top1('B') > top1('A')"}
  - {id: clear_loss, section: "§1", quote: "A beats B.", claim: "A > B", expr: "top1('A') > top1('B')"}
  - {id: within_noise, section: "§2", quote: "C beats A.", claim: "C > A", expr: "top1('C') > top1('A')"}
  - {id: collapsed, section: "§3", quote: "B beats Z.", claim: "B > Z", expr: "top1('B') > top1('Z')",
     collapse: "top1('Z') < 5", caveat: "Z is at {top1('Z')|.1f} %."}
  - {id: within_five, section: "§4", quote: "C is like A.", claim: "|C - A| <= 5",
     expr: "top1('C') >= top1('A') - 5 and top1('C') <= top1('A') + 5"}
"""


def _hits(p, n, rng):
    return (rng.random(n) < p).astype(float).tolist()


def test_three_verdicts_from_the_bootstrap(tmp_path):
    spec = tmp_path / "claims.yaml"
    spec.write_text(SPEC)
    rng = np.random.default_rng(0)
    n = 200
    base = rng.random(n)
    units = _units({"A": [(base < 0.5).astype(float).tolist() for _ in range(3)],
                    "B": [(base < 0.8).astype(float).tolist() for _ in range(3)],
                    "C": [(base < 0.51).astype(float).tolist(), (base < 0.49).astype(float).tolist(),
                          (base < 0.52).astype(float).tolist()],
                    "Z": [[0.0] * n for _ in range(3)]})
    point, reps = bootstrap(units, {"top1": Ratio("test", "hit")}, n_boot=400, seed=0)
    res = evaluate_claims(spec, point, reps).set_index("id")
    assert res.loc["clear_win", "verdict"] == "held" and res.loc["clear_win", "margin_lo"] > 0
    assert res.loc["clear_loss", "verdict"] == "missed" and res.loc["clear_loss", "margin_hi"] < 0
    assert res.loc["within_noise", "verdict"] == "inconclusive"
    assert res.loc["within_noise", "margin_lo"] < 0 < res.loc["within_noise", "margin_hi"]
    assert res.loc["collapsed", "verdict"] == "held" and bool(res.loc["collapsed", "baseline_collapsed"])
    assert res.loc["collapsed", "caveat"] == "Z is at 0.0 %."
    assert res.loc["within_five", "verdict"] == "held"
    # margin of "C >= A - 5 and C <= A + 5" is the smaller of the two sides, in points
    c, a = point.set_index("method").top1["C"], point.set_index("method").top1["A"]
    assert res.loc["within_five", "margin"] == pytest.approx(min(c - a + 5, a + 5 - c))
    assert tally(res.reset_index()) == {"held": 3, "missed": 1, "inconclusive": 1, "not evaluated": 0}


def test_without_replicates_the_point_decides(tmp_path):
    spec = tmp_path / "claims.yaml"
    spec.write_text(SPEC)
    table = pd.DataFrame({"method": list("ABCZ"), "top1": [50.0, 80.0, 50.5, 0.0]})
    res = evaluate_claims(spec, table).set_index("id")
    assert res.loc["clear_win", "verdict"] == "held" and math.isnan(res.loc["clear_win", "share_held"])
    assert res.loc["clear_loss", "verdict"] == "missed"


def test_claims_file_is_checked(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("row_key: method\nmetrics: {top1: top1}\nclaims:\n  - {id: a, claim: x, expr: \"top1('A') > 1\"}\n")
    with pytest.raises(ClaimError, match="lacks section, quote"):
        load_spec(bad)
    with pytest.raises(ClaimError, match="missing top-level key"):
        bad.write_text("claims: []\n")
        load_spec(bad)
    with pytest.raises(ClaimError, match="cannot read"):
        load_spec(tmp_path / "nope.yaml")


def test_expressions_cannot_run_code(tmp_path):
    spec = tmp_path / "claims.yaml"
    spec.write_text(SPEC.replace("top1('B') > top1('A')", "__import__('os').system('true')"))
    res = evaluate_claims(spec, pd.DataFrame({"method": list("ABCZ"), "top1": [1.0, 2, 3, 4]})).set_index("id")
    assert res.loc["clear_win", "verdict"] == "not evaluated" and "not allowed" in res.loc["clear_win", "note"]
    with pytest.raises(ClaimError):
        render("{__import__('os')}", pd.DataFrame({"method": ["A"], "top1": [1.0]}), "method", {"top1": "top1"})


def test_seeds_must_be_numbered_and_units_unique():
    units = _units({"A": [[1, 0], [0, 1]]})
    with pytest.raises(ValueError, match="numbered 0..n-1"):
        bootstrap(units.assign(seed=units.seed * 2), {"top1": Ratio("test", "hit")})
    with pytest.raises(ValueError, match="duplicate result"):
        bootstrap(pd.concat([units, units.iloc[:1]]), {"top1": Ratio("test", "hit")})


def test_division_by_zero_is_a_claim_error_not_a_crash(tmp_path):
    spec = tmp_path / "claims.yaml"
    spec.write_text("row_key: method\nmetrics: {top1: top1}\nclaims:\n"
                    "  - {id: r, section: s, quote: q, claim: c, expr: \"top1('A') / top1('B') >= 2\"}\n")
    res = evaluate_claims(spec, pd.DataFrame({"method": ["A", "B"], "top1": [1.0, 0.0]}))
    assert res.verdict[0] == "not evaluated" and "division by zero" in res.note[0]


def test_verdict_sentences_give_small_margins_their_digits():
    import math

    from robopercept.reporting.claims import margin_decimals, verdict_sentence

    assert margin_decimals(9.53, 6.6, 12.4) == 1 and margin_decimals(0.0734, -0.07, 0.0) == 3
    assert margin_decimals(0.003) == 4 and margin_decimals(0.0, math.nan) == 1 and margin_decimals(250.0) == 1
    row = {"verdict": "inconclusive", "margin": -0.0734, "margin_lo": -0.0712, "margin_hi": 0.0021,
           "baseline_collapsed": False}
    assert verdict_sentence(row) == "**inconclusive** (margin -0.073, 95 % interval [-0.071, +0.002])"
    row |= {"margin": 9.53, "margin_lo": 6.61, "margin_hi": 12.44, "verdict": "held"}
    assert verdict_sentence(row) == "**held** (margin +9.5, 95 % interval [+6.6, +12.4])"
