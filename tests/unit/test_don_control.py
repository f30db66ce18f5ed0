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
