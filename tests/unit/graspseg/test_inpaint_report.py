import numpy as np
import pandas as pd
import pytest

from robopercept.graspseg.inpaint_report import summarize_inpainters


def _scores(shift, n=40, seed=0):
    """Two inpainters on the same ``n`` images; ``cand`` errs ``shift`` more than ``ref`` on every image, and the
    images' difficulty varies a lot (what a paired comparison cancels)."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(5, 60, n)
    rows = [{"inpainter": name, "image": i, "mae": base[i] + d, "psnr_db": 30.0 - (base[i] + d) / 10}
            for name, d in (("cand", shift), ("ref", 0.0)) for i in range(n)]
    return pd.DataFrame(rows)


def test_a_constant_per_image_difference_is_found_exactly_despite_varied_images():
    agg, d = summarize_inpainters(_scores(2.0), "cand", "ref", n_boot=200, seed=1)
    assert list(agg.inpainter) == ["cand", "ref"] and (agg.images == 40).all()
    assert agg.MAE.iloc[0] - agg.MAE.iloc[1] == pytest.approx(2.0)
    # the unpaired intervals overlap (image difficulty dominates); the paired one is the difference itself
    assert agg.MAE_lo.iloc[0] < agg.MAE_hi.iloc[1]
    assert (d.mean, d.lo, d.hi, d.images) == (pytest.approx(2.0), pytest.approx(2.0), pytest.approx(2.0), 40)
    assert d.verdict == "higher"
    assert summarize_inpainters(_scores(-2.0), "cand", "ref", n_boot=50)[1].verdict == "lower"


def test_intervals_bracket_the_means_and_noise_makes_the_comparison_unclear():
    s = _scores(0.0)
    s.loc[s.inpainter == "cand", "mae"] += np.random.default_rng(3).normal(0, 5, 40)
    agg, d = summarize_inpainters(s, "cand", "ref", n_boot=300, seed=0)
    assert ((agg.MAE_lo <= agg.MAE) & (agg.MAE <= agg.MAE_hi)).all()
    assert d.lo <= d.mean <= d.hi and d.verdict == "unclear"


def test_the_same_seed_gives_the_same_numbers_and_another_seed_other_intervals():
    s = _scores(1.0, seed=5)
    s.loc[s.inpainter == "cand", "mae"] += np.random.default_rng(4).normal(0, 3, 40)
    a1, d1 = summarize_inpainters(s, "cand", "ref", n_boot=100, seed=7)
    a2, d2 = summarize_inpainters(s, "cand", "ref", n_boot=100, seed=7)
    pd.testing.assert_frame_equal(a1, a2)
    assert d1 == d2
    assert summarize_inpainters(s, "cand", "ref", n_boot=100, seed=8)[1].lo != d1.lo


def test_only_images_both_inpainters_filled_are_paired():
    s = _scores(1.0)
    s = s[~((s.inpainter == "ref") & (s.image < 10))]
    agg, d = summarize_inpainters(s, "cand", "ref", n_boot=20)
    assert list(agg.images) == [40, 30] and d.images == 30


@pytest.mark.parametrize("kwargs, message", [
    ({"candidate": "diffusion"}, "candidate 'diffusion' has no scores"),
    ({"reference": "telea"}, "reference 'telea' has no scores"),
    ({"n_boot": 0}, "n_boot must be >= 1"),
])
def test_bad_arguments_are_named(kwargs, message):
    args = {"candidate": "cand", "reference": "ref", **kwargs}
    with pytest.raises(ValueError, match=message):
        summarize_inpainters(_scores(1.0), **args)
    with pytest.raises(ValueError, match="lack the column"):
        summarize_inpainters(_scores(1.0).drop(columns="psnr_db"), "cand", "ref")
