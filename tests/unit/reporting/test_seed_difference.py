"""reporting.uncertainty.seed_difference: a difference of per-seed results read against its seed noise."""

import numpy as np
import pytest

from robopercept.reporting.uncertainty import seed_difference


def test_two_sided_standard_error_of_the_difference_of_means():
    a, b = [80.0, 82.0, 84.0], [70.0, 71.0, 72.0]  # variances 4 and 1
    r = seed_difference(a, b)
    assert r["diff"] == pytest.approx(11.0)
    assert r["se"] == pytest.approx(np.sqrt(4 / 3 + 1 / 3))
    assert r["verdict"] == "beyond" and (r["n_a"], r["n_b"]) == (3, 3)
    close = seed_difference([80.0, 82.0, 84.0], [81.0, 83.0, 79.0])
    assert close["verdict"] == "inside"


def test_one_run_is_read_against_the_other_sides_spread():
    r = seed_difference([80.0, 82.0, 84.0], [77.0])
    assert r["diff"] == pytest.approx(5.0)
    assert r["se"] == pytest.approx(2.0 * np.sqrt(1 + 1 / 3))  # s = 2 (std of 80, 82, 84)
    assert r["verdict"] == "beyond"  # 5 > 2 x 2.31
    assert seed_difference([77.0], [80.0, 82.0, 84.0], k=3)["verdict"] == "inside"  # 5 < 3 x 2.31


def test_no_spread_and_bad_input_are_named():
    r = seed_difference([80.0], [70.0])
    assert r["verdict"] == "no seed spread" and np.isnan(r["se"])
    assert seed_difference([80.0, np.nan, 82.0], [70.0, 71.0])["n_a"] == 2  # NaN seeds ignored
    with pytest.raises(ValueError, match=">= 1 seed on each side"):
        seed_difference([], [1.0])
