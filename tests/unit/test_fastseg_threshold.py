"""The centre threshold: the focal loss's optimum (checked by brute force) and the choice on training frames."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from robopercept.fastseg import threshold as T
from robopercept.fastseg.postprocess import PostSettings


def _expected_loss(p, q, alpha, gamma):
    return q * alpha * (1 - p) ** gamma * -np.log(p) + (1 - q) * (1 - alpha) * p ** gamma * -np.log(1 - p)


@pytest.mark.parametrize("alpha,gamma", [(0.01, 2.0), (0.25, 2.0), (0.5, 0.0)])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.7])
def test_certainty_for_is_where_the_expected_focal_loss_is_smallest(p, alpha, gamma):
    q = T.certainty_for(p, alpha, gamma)
    grid = np.linspace(1e-4, 1 - 1e-4, 200001)
    assert grid[np.argmin(_expected_loss(grid, q, alpha, gamma))] == pytest.approx(p, abs=2e-4)


def test_the_papers_loss_needs_near_certainty_for_its_threshold():
    assert T.certainty_for(0.7, 0.01, 2.0) > 0.998  # alpha = 0.01: 0.7 only for an all-but-certain centre
    assert T.certainty_for(0.5, 0.5, 0.0) == pytest.approx(0.5)  # plain cross-entropy is calibrated
    with pytest.raises(ValueError, match="0 < p < 1"):
        T.certainty_for(1.0, 0.01, 2.0)


def test_match_counts_one_centre_per_instance_of_its_class():
    instance = np.array([[1, 1, 0], [2, 2, 0]])
    classes = np.array([3, 5])  # instance 1 is class 3, instance 2 class 5
    found = [(3, 0.9, 0), (3, 0.8, 1), (5, 0.7, 2), (5, 0.6, 3)]  # a duplicate on 1, a miss on background, a hit on 2
    assert T._match(found, instance, classes) == (2, 2, 0)
    assert T._match([(5, 0.9, 0)], instance, classes) == (0, 1, 2)  # the wrong class is a false positive


def test_choose_threshold_pools_seeds_and_breaks_ties_upwards():
    counts = pd.DataFrame({"threshold": [0.1, 0.1, 0.5, 0.5, 0.7, 0.7], "seed": [0, 1] * 3,
                           "tp": [4, 4, 4, 2, 4, 2], "fp": [6, 6, 0, 2, 0, 2], "fn": [0, 0, 0, 2, 0, 2]})
    t, pooled = T.choose_threshold(counts)
    assert t == 0.7 and list(pooled.f1.round(3)) == [0.571, 0.75, 0.75]


def test_centre_detection_runs_each_seed_over_the_grid_and_refuses_empty_input():
    h, w = 4, 6
    inst = np.zeros((h, w), np.int64)
    inst[1:3, 1:3] = 1
    targets = SimpleNamespace(instance=inst, instance_class=np.array([2]))
    frames = [SimpleNamespace(image=torch.zeros(3, h, w), targets=targets)]

    class DS:
        def __len__(self):
            return len(frames)

        def sample(self, i, k):
            return frames[i]

    class Model:
        settings = SimpleNamespace(dec_os=1)

        def __call__(self, x):
            sem = torch.zeros(1, 3, h, w)
            sem[0, 2, 1:3, 1:3] = 5.0  # class 2 on the instance
            cen = torch.full((1, 1, h, w), -5.0)
            cen[0, 0, 1, 1] = 0.0  # 0.5 at one element of the instance
            return {"semantic": sem, "centre": cen, "embedding": torch.zeros(1, 4, h, w)}

    counts = T.centre_detection([Model(), Model()], DS(), [0.3, 0.7], PostSettings())
    assert len(counts) == 4 and set(counts.seed) == {0, 1}
    by_t = counts.groupby("threshold")[["tp", "fp", "fn"]].sum()
    assert list(by_t.loc[0.3]) == [2, 0, 0] and list(by_t.loc[0.7]) == [0, 0, 2]
    assert T.choose_threshold(counts)[0] == 0.3
    frames.clear()
    with pytest.raises(ValueError, match="empty"):
        T.centre_detection([Model()], DS(), [0.3], PostSettings())


def test_centre_probe_refuses_an_alpha_outside_0_1_before_reading_data(tmp_path):
    import pytest

    from robopercept.fastseg.centre_probe import probe

    for bad in (0.0, 1.0, -0.5):
        with pytest.raises(ValueError, match="focal_alpha"):
            probe(tmp_path / "missing", (128, 256), steps=1, every=1, stride=4, n_val=1, focal_alpha=bad)


def test_centre_probe_saves_a_network_the_mask_probe_and_load_model_read(tmp_path):
    import numpy as np

    from robopercept.fastseg.centre_probe import probe
    from robopercept.fastseg.sweep import load_model
    from robopercept.formats import cityscapes as C

    ids = C.label_ids()
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for i in range(2):
            labels = np.full((64, 128), ids["road"], np.int64)
            inst = labels.copy()
            labels[20:50, 10:60], inst[20:50, 10:60] = ids["car"], ids["car"] * 1000
            C.write_frame(tmp_path / "cs", split, C.stem("simtown", 0, i),
                          rng.integers(0, 255, (64, 128, 3), np.uint8), labels, inst)
    rows = probe(tmp_path / "cs", (64, 128), steps=1, every=1, stride=4, n_val=1, decoder_width=8,
                 centre_radius_px=8, save=tmp_path / "models")
    assert [r["step"] for r in rows] == [1] and {"centre_f1", "max_p_median"} <= set(rows[0])
    model, ckpt = load_model(tmp_path / "models", "MNv2 OSk", 0)
    assert model.settings.dec_os == 4 and ckpt["history"] == rows
