"""don §IV-F.4's temperature study: its rows are don_train's default model with only τ changed, the shard trains at
its own τ (the stage test reads it back from every checkpoint), the weight comparison, the config's checks, and the
claims."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from paper_quotes import assert_quotes_verbatim
from robopercept import paths
from robopercept.config import ConfigError
from robopercept.don.config import DonTrainConfig
from robopercept.don.config_temperature import DonTemperatureConfig
from robopercept.don.experiments import experiments
from robopercept.don.sweep import model_key
from robopercept.world.shards import Shard

CLAIMS = paths.root() / "src/robopercept/don/claims_temperature.yaml"


def test_rows_are_the_table1_default_model_with_only_tau_changed():
    from robopercept.don.temperature import EXPERIMENT, rows

    train = DonTrainConfig(experiments=["table2"])  # which rows don_train trains does not matter
    grid = rows(train, DonTemperatureConfig(temperatures=[0.01, 0.1, 1.0]))[EXPERIMENT]
    default = dict(experiments(DonTrainConfig(), 15)["table1"])["NT-Xent + Multi-Object + Augmentations"]
    assert [lab for lab, _ in grid] == ["τ = 0.01", "τ = 0.1", "τ = 1"]
    assert all(v.base() == default for _, v in grid)
    assert [v.temperature for _, v in grid] == [0.01, 0.1, 1.0]
    keys = [v.key() for _, v in grid]
    assert len(set(keys)) == 3 and keys[1] == default.key() + "_t0.1"  # never don_train's folder name
    assert model_key(grid[0][1], 1) == default.key() + "_t0.01_seed1"


def test_the_shard_trains_at_its_own_tau_and_names_its_row(monkeypatch, tmp_path):
    from robopercept.don import temperature

    seen = {}

    def fake_train_shard(shard, folder, *, cfg, **kw):
        seen.update(temperature=cfg.temperature, pairs=cfg.pairs, variant=dict(shard.get("variant")), kw=kw)
        return {"key": "from the base variant", "seed": shard.get("seed_index")}

    monkeypatch.setattr(temperature, "_train_shard", fake_train_shard)
    train = DonTrainConfig(pairs=7, validate_every_pairs=7, temperature=0.1)
    v = temperature.rows(train, DonTemperatureConfig(temperatures=[0.3]))[temperature.EXPERIMENT][0][1]
    shard = Shard(model_key(v, 0), 1, 123, (("variant", tuple(dataclasses.asdict(v.base()).items())),
                                           ("seed_index", 0), ("temperature", 0.3)))
    stats = temperature._temperature_shard(shard, tmp_path, cfg=train, logs_root="x", pretrained=None, val_seed=5)
    assert seen["temperature"] == 0.3 and seen["pairs"] == 7  # τ replaced, every other setting don_train's
    assert "temperature" not in seen["variant"]  # the shard function rebuilds a plain Variant from it
    assert stats == {"key": v.key(), "seed": 0, "temperature": 0.3}


def test_same_weights_is_exact(tmp_path):
    from robopercept.common import checkpoints
    from robopercept.don.temperature import same_weights

    torch.manual_seed(0)
    net = torch.nn.Linear(3, 2)
    a = checkpoints.save({"model": net.state_dict()}, tmp_path / "a" / "model.pt")
    b = checkpoints.save({"model": {k: t.clone() for k, t in net.state_dict().items()}}, tmp_path / "b" / "model.pt")
    assert same_weights(a, b)
    changed = {k: t.clone() for k, t in net.state_dict().items()}
    changed["bias"][0] = torch.nextafter(changed["bias"][0], torch.tensor(1e9))  # one ulp
    c = checkpoints.save({"model": changed}, tmp_path / "c" / "model.pt")
    assert not same_weights(a, c)
    with pytest.raises(checkpoints.CheckpointError, match="missing.pt"):
        same_weights(a, tmp_path / "missing.pt")


@pytest.mark.parametrize("kw, key", [({"temperatures": []}, "temperatures"), ({"temperatures": [0.1, 0.0]}, "temperatures"),
                                     ({"temperatures": [0.1, 0.1]}, "temperatures"),
                                     ({"temperatures": [0.1, 0.1000001]}, "temperatures"),  # one row name, f"{t:g}"
                                     ({"seeds": 0}, "seeds"),
                                     ({"n_boot": 5}, "n_boot"), ({"workers": 0}, "workers")])
def test_config_refuses_bad_values_naming_the_key(kw, key):
    with pytest.raises(ConfigError, match=f"don_temperature.{key}"):
        DonTemperatureConfig(**kw)


def test_claims_quote_the_paper_verbatim():
    assert_quotes_verbatim(CLAIMS, "don")


def _table(aucs: dict[float, float]) -> pd.DataFrame:
    return pd.DataFrame([{"row": f"temperature: τ = {t:g}", "AUC": a} for t, a in aucs.items()])


def test_claims_hold_on_a_curve_as_the_paper_describes_it_and_miss_on_a_falling_one():
    """A curve flat within 0.03 over 0.01-0.3, peaking at 0.1 and lower at 0.7-1.0 (the paper's sentence) holds every
    claim; one that falls all the way from 0.01 misses the optimum and the stability claims."""
    from robopercept.reporting.claims import evaluate_claims

    paper_like = {0.01: 0.60, 0.03: 0.61, 0.1: 0.62, 0.3: 0.60, 0.7: 0.52, 1.0: 0.48}
    res = evaluate_claims(CLAIMS, _table(paper_like)).set_index("id")
    assert (res.verdict == "held").all(), res.verdict
    falling = dict(zip(paper_like, np.linspace(0.7, 0.3, 6)))
    res = evaluate_claims(CLAIMS, _table(falling)).set_index("id")
    assert res.loc["stable_0_01_to_0_3", "verdict"] == "missed" and res.loc["optimum_around_0_1", "verdict"] == "missed"
    assert res.loc["drops_at_0_7_to_1", "verdict"] == "held"
    res = evaluate_claims(CLAIMS, _table({0.1: 0.5, 1.0: 0.4})).set_index("id")  # 0.7 not trained
    assert (res.verdict == "not evaluated").all()


def test_seed_aucs_put_each_seed_beside_its_own_untrained_network():
    from types import SimpleNamespace

    from robopercept.don.temperature import EXPERIMENT, rows, seed_aucs

    variants = [v for _, v in rows(DonTrainConfig(), DonTemperatureConfig(temperatures=[0.01, 0.1]))[EXPERIMENT]]
    weight = np.array([1.0, 3.0])  # pair weights: the AUC is their weighted mean
    ev = SimpleNamespace(weight=weight, auc={variants[0].key(): [np.array([0.1, 0.2]), np.array([0.5, 0.5])],
                                             variants[1].key(): [np.array([0.4, 0.4]), np.array([0.6, 0.8])]})
    per = seed_aucs(variants, ev, [0.3, 0.5], 2)
    assert per.AUC.tolist() == pytest.approx([0.175, 0.5, 0.4, 0.75])
    assert per.untrained_AUC.tolist() == [0.3, 0.5, 0.3, 0.5]
    with pytest.raises(ValueError, match="untrained AUCs"):
        seed_aucs(variants, ev, [0.3], 2)
