"""The untrained control of the don evaluation: which network a row is compared with, and the rule that counts a
seed as not having learned (its AUC not above its starting network's beyond the noise of the test pairs)."""

import numpy as np
import pytest

from robopercept.don import control as C
from robopercept.don.experiments import Variant


def test_a_row_is_compared_with_the_network_of_its_dimension_and_matching():
    nt = Variant("ntxent", "multi", descriptor_dim=16)
    assert C.matching(nt) == "cosine"
    assert C.matching(Variant("pixelwise", "single")) == C.matching(Variant("pixelwise_cross_object", "single")) == "l2"
    keys = {C.control_key(v) for v in (nt, Variant("ntxent", "multi", ("hflip",), descriptor_dim=16, batch_size=4),
                                        Variant("ntxent", "multi", descriptor_dim=3),
                                        Variant("pixelwise", "multi", descriptor_dim=16))}
    # augmentations and batch size do not change the start; D and the matching do
    assert keys == {"untrained_D16_cosine", "untrained_D3_cosine", "untrained_D16_l2"}


def _setup(n_pairs=60, seed=0):
    rng = np.random.default_rng(seed)
    weight = rng.integers(20, 100, n_pairs).astype(float)
    start = rng.uniform(0.05, 0.2, size=(2, n_pairs))  # the untrained network of each seed, per pair
    return rng, weight, start


def test_clearly_better_seeds_have_learned_and_noise_has_not():
    rng, weight, start = _setup()
    learned = Variant("ntxent", "multi")
    noise = Variant("ntxent", "multi", batch_size=2)
    mixed = Variant("ntxent", "multi", batch_size=4)
    trained = {learned.key(): start + 0.2,  # every pair better by 0.2
               noise.key(): start + rng.normal(0, 0.05, start.shape),  # no better on average
               mixed.key(): np.stack([start[0] + 0.2, start[1] - 0.01])}  # seed 0 learned, seed 1 below its start
    out = C.untrained_seeds(trained, [learned, noise, mixed], {"untrained_D16_cosine": start}, weight, 500, 1)
    assert out == {learned.key(): 0, noise.key(): 2, mixed.key(): 1}


def test_a_seed_equal_to_its_start_has_not_learned():
    _, weight, start = _setup()
    v = Variant("pixelwise", "multi")
    assert C.untrained_seeds({v.key(): start.copy()}, [v], {"untrained_D16_l2": start}, weight, 200, 0) == {v.key(): 2}


def test_the_rule_is_deterministic_under_its_seed_and_refuses_what_it_cannot_compare():
    rng, weight, start = _setup()
    v = Variant("ntxent", "multi")
    trained = {v.key(): start + rng.normal(0.01, 0.05, start.shape)}
    control = {"untrained_D16_cosine": start}
    assert C.untrained_seeds(trained, [v], control, weight, 300, 7) == C.untrained_seeds(trained, [v], control, weight,
                                                                                          300, 7)
    with pytest.raises(ValueError, match="untrained_D16_l2"):
        C.untrained_seeds({Variant("pixelwise", "multi").key(): start}, [Variant("pixelwise", "multi")], control,
                          weight, 10, 0)
    with pytest.raises(ValueError, match="no test pairs"):
        C.untrained_seeds(trained, [v], control, np.zeros(0), 10, 0)
    with pytest.raises(ValueError, match="3 seeds"):
        C.untrained_seeds({v.key(): np.vstack([start, start[:1]])}, [v], control, weight, 10, 0)


def test_weighted_auc_pools_queries_over_pairs_as_the_tables_do():
    assert C.weighted_auc(np.array([[0.1, 0.5], [0.2, 0.2]]), np.array([3.0, 1.0])).tolist() == pytest.approx([0.2, 0.2])


class _Stop(Exception):
    pass


@pytest.mark.parametrize("dim", [3, 16])
def test_the_control_is_the_network_don_train_starts_from(monkeypatch, tmp_path, dim):
    """start_network draws what don_train's shard function builds before its first update (seed k, dimension D): the
    training is stopped at its start and the two state dicts compared tensor for tensor."""
    import dataclasses
    from types import SimpleNamespace

    import torch

    from robopercept.don import sweep
    from robopercept.don import train as T
    from robopercept.don.config import DonTrainConfig
    from robopercept.seed import derive_seed
    from robopercept.world.shards import Shard

    cfg = DonTrainConfig(backbone="resnet18")
    v, k = Variant("pixelwise", "multi", descriptor_dim=dim), 1
    seen = {}

    def stop_at_start(model, *args, **kwargs):
        seen.update({n: t.clone() for n, t in model.state_dict().items()})
        raise _Stop

    monkeypatch.setattr(T, "train", stop_at_start)
    monkeypatch.setattr(sweep, "DonLogs", lambda *a, **kw: SimpleNamespace(scene=lambda name: SimpleNamespace(
        height=48, width=64)))
    monkeypatch.setattr(sweep, "splits", lambda logs: {"test": ["scene"], "single_train": []})
    monkeypatch.setattr(sweep, "settings", lambda *a, **kw: None)
    monkeypatch.setattr(sweep, "training_scenes", lambda sp, variant: [])
    monkeypatch.setattr(sweep, "validation_pairs", lambda *a, **kw: [])
    shard = Shard(sweep.model_key(v, k), 1, derive_seed(0, "don_train", k),
                  (("variant", tuple(dataclasses.asdict(v).items())), ("seed_index", k)))
    with pytest.raises(_Stop):
        sweep._train_shard(shard, tmp_path, cfg=cfg, logs_root="unused", pretrained=None, val_seed=0)
    mine = C.start_network(cfg, dim, None, 0, k).state_dict()
    assert seen.keys() == mine.keys() and all(torch.equal(seen[n], mine[n]) for n in mine)
    other = C.start_network(cfg, dim, None, 0, 0).state_dict()  # another seed: another head
    assert not all(torch.equal(other[n], mine[n]) for n in mine)


def test_a_seed_with_an_unscored_pair_is_not_counted_as_learned():
    _, weight, start = _setup()
    v = Variant("ntxent", "multi")
    trained = start + 0.2  # clearly better, but one pair has no score: the rule does not guess
    trained[:, 0] = np.nan
    assert C.untrained_seeds({v.key(): trained}, [v], {"untrained_D16_cosine": start}, weight, 50, 0) == {v.key(): 2}
    with pytest.raises(ValueError, match="n_boot"):
        C.untrained_seeds({v.key(): start}, [v], {"untrained_D16_cosine": start}, weight, 0, 0)
