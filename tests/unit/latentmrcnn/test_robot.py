"""§V-E Table II as a simulated robot: paired, reproducible trials, the oracle's ceiling, the table and its bootstrap."""

import numpy as np
import pandas as pd
import pytest

from robopercept.latentmrcnn import robot as R
from robopercept.latentmrcnn.config import LatentDataConfig, LatentEvalConfig, LatentRobotConfig

DATA = LatentDataConfig(height=96, width=144, families_per_split=3, families_per_bin=2, min_items=3, max_items=6,
                        settle_steps=120)
CFG = LatentRobotConfig(n_trials=3)


def test_trials_are_paired_reproducible_and_the_oracle_picks():
    def nothing(rgb, t):
        return np.zeros((0, *rgb.shape[:2]), bool), np.zeros(0)

    def everything(rgb, t):  # one mask over the whole image: cups land on whatever is under the grid
        return np.ones((1, *rgb.shape[:2]), bool), np.ones(1)

    segs = {"nothing": nothing, "everything": everything, R.ORACLE: None}
    mins = {"nothing": 0.5, "everything": 0.5, R.ORACLE: 0.0}
    rows, images = R.run_trials([0, 1, 2], segs, mins, CFG, DATA, data_seed=0, trial_seed=5, keep_images=[2])
    assert len(rows) == 9 and {r["method"] for r in rows} == set(segs)
    assert all(r["outcome"] == "no_mask" for r in rows if r["method"] == "nothing")
    assert all(r["outcome"] in R.OUTCOMES for r in rows)
    oracle = [r for r in rows if r["method"] == R.ORACLE]
    assert any(r["outcome"] == "single" for r in oracle), "the oracle never picked one item: the ceiling is broken"
    assert all(r["objects_sealed"] <= 1 for r in oracle)  # ground-truth masks never span two items
    # a method's outcome does not depend on which methods picked before it from the same bin, nor on the other trials
    alone, _ = R.run_trials([2], {R.ORACLE: None}, mins, CFG, DATA, data_seed=0, trial_seed=5)
    assert alone == [r for r in oracle if r["trial"] == 2]
    assert set(images) == {2} and set(images[2]["methods"]) == set(segs)


def _trials(outcomes: dict[str, list[str]], sealed: dict[str, list[int]], on: dict[str, list[int]]) -> pd.DataFrame:
    rows = []
    for m in outcomes:
        for t, (o, s, n) in enumerate(zip(outcomes[m], sealed[m], on[m])):
            rows.append({"trial": t, "method": m, "outcome": o, "sealed_cups": s, "objects_sealed": n})
    return pd.DataFrame(rows)


def test_table_counts_double_picks_by_cause_and_sealed_cups_over_held_items():
    trials = _trials({"a": ["single", "double", "double", "no_seal"], "b": ["single", "single", "dropped", "single"]},
                     {"a": [9, 6, 9, 0], "b": [8, 7, 9, 5]}, {"a": [1, 2, 1, 0], "b": [1, 1, 1, 1]})
    t = R.table2(trials, ["a", "b"]).set_index("method")
    assert t.loc["a", "double_pick_pct"] == 50 and t.loc["a", "double_sealed_on_two"] == 1
    assert t.loc["a", "double_dragged_along"] == 1
    assert t.loc["a", "avg_sealed_cups"] == pytest.approx(8.0)  # (9 + 6 + 9) / 3 held; the no-seal pick is not held
    assert t.loc["b", "avg_sealed_cups"] == pytest.approx((8 + 7 + 9 + 5) / 4)  # a drop sealed on the item too
    assert t.loc["b", "avg_sealed_cups_single"] == pytest.approx((8 + 7 + 5) / 3)
    assert t.loc["b", "double_pick_pct"] == 0 and t.loc["b", "double_pick_lo"] == 0 < t.loc["b", "double_pick_hi"]
    assert t.loc["a", ["n_single", "n_double", "n_no_seal"]].tolist() == [1, 2, 1]
    reps = R.paired_replicates(trials, ["a", "b"], 50, seed=1)
    assert len(reps) == 50 and all(list(r.method) == ["a", "b"] for r in reps)
    again = R.paired_replicates(trials, ["a", "b"], 50, seed=1)
    assert all(x.equals(y) for x, y in zip(reps, again))
    withci = R.add_intervals(t.reset_index(), reps, "avg_sealed_cups")
    assert (withci.avg_sealed_cups_lo <= withci.avg_sealed_cups_hi).all()


def test_table_refuses_unpaired_trials():
    trials = _trials({"a": ["single", "single"], "b": ["single"]}, {"a": [9, 9], "b": [9]}, {"a": [1, 1], "b": [1]})
    with pytest.raises(ValueError, match="every method must pick from every bin"):
        R.table2(trials, ["a", "b"])


def test_run_robot_names_the_missing_model_before_any_trial(tmp_path):
    with pytest.raises(FileNotFoundError, match="apparel_maskrcnn_seed0"):
        R.run_robot(CFG, LatentEvalConfig(), DATA, 1, tmp_path / "models", tmp_path / "trials", seed=0)


def test_trials_read_back_name_a_cut_short_shard_and_its_stage(tmp_path):
    (tmp_path / "trials_00000").mkdir()
    (tmp_path / "trials_00000" / "trials.json").write_text('[{"trial": 0, "method": "latent"}]\n')
    assert R.read_trials(tmp_path, ["trials_00000"]).method.tolist() == ["latent"]
    (tmp_path / "trials_00000" / "trials.json").write_text('[{"trial": 0, "meth')
    with pytest.raises(ValueError, match=r"Table II robot trials .*trials_00000/trials.json.*truncated or corrupt.*"
                                         r"dvc repro -f -s latentmrcnn_table2"):
        R.read_trials(tmp_path, ["trials_00000"])


@pytest.mark.parametrize("field, value", [("n_trials", 0), ("cup_radius_m", 0.02), ("min_sealed_cups", 12),
                                          ("inside_fraction", 1.5)])
def test_robot_config_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=field):
        LatentRobotConfig(**{field: value})


def test_rates_and_the_seed_then_trial_bootstrap():
    trials = _trials({"a": ["single", "double", "dropped", "no_mask"], "b": ["single"] * 4},
                     {"a": [9, 6, 3, 0], "b": [8] * 4}, {"a": [1, 2, 1, 0], "b": [1] * 4})
    trials["seed"] = trials.trial % 2
    t = R.table2(trials, ["a", "b"]).set_index("method")
    assert t.loc["a", "lifted_pct"] == 50 and t.loc["a", "double_of_lifted_pct"] == 50
    assert t.loc["a", "avg_sealed_cups"] == pytest.approx(6.0)  # single 9, double 6, dropped 3: all gripped an item
    assert t.loc["a", "avg_sealed_cups_single"] == 9
    reps = R.paired_replicates(trials, ["a", "b"], 200, seed=0)
    # a replicate draws seeds with replacement: all trials of one seed twice is possible, so the no_mask trial (seed 1)
    # can be absent and the lifted share can reach 100 % or fall to 0 %
    lifted = {float(r.set_index("method").loc["a", "lifted_pct"]) for r in reps}
    assert min(lifted) == 0 and max(lifted) == 100
