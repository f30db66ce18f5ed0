"""§III-A augmentations keep correspondences on their surface point; §III-C/§IV-C losses and the network; §IV-D PCK."""

import numpy as np
import pytest
import torch

from robopercept.don.augment import AUGMENTATIONS, GEOMETRIC, augment
from robopercept.don.losses import cross_object, hinge_terms, nt_xent, pick, pixelwise_contrastive
from robopercept.don.metrics import best_match, pck, pck_auc
from robopercept.don.model import DenseDescriptorNet


def ramps(h=64, w=96):
    """Red = u / W, green = v / H at pixel centres: a pixel's colour says where it came from (bilinear resampling
    of a linear ramp is exact)."""
    v, u = np.mgrid[0:h, 0:w] + 0.5
    return torch.from_numpy(np.stack([u / w, v / h, np.full((h, w), 0.5)])).float()


@pytest.mark.parametrize("seed", range(6))
def test_geometric_augmentations_keep_each_correspondence_on_its_surface_point(seed):
    h, w = 64, 96
    img = ramps(h, w)
    vv, uu = np.mgrid[2:h - 2:3, 2:w - 2:3]
    uv = np.stack([uu.ravel(), vv.ravel()], 1)
    out, new, valid = augment(img, uv, GEOMETRIC, seed=seed, p=0.7)
    assert valid.sum() > 0.3 * len(uv)
    src = np.stack([out[0, new[valid, 1], new[valid, 0]].numpy() * w - 0.5,
                    out[1, new[valid, 1], new[valid, 0]].numpy() * h - 0.5], 1)  # where the moved pixel came from
    inside = (out[2, new[valid, 1], new[valid, 0]].numpy() > 0.4)  # not the transform's fill
    d = (src - uv[valid])[inside]
    err = np.linalg.norm(d, axis=1)
    # no systematic offset (a convention error shows as a whole pixel), and every point within rounding and
    # resampling error: the moved point is rounded to a pixel, and each warp resamples the ramps again
    assert np.abs(d.mean(0)).max() < 0.15 and np.quantile(err, 0.95) < 1.5, (d.mean(0), np.quantile(err, 0.95))
    again = augment(img, uv, GEOMETRIC, seed=seed, p=0.7)
    assert np.array_equal(again[1], new) and torch.equal(again[0], out)


def test_colour_augmentations_move_no_pixel_and_unknown_names_are_refused():
    img = ramps()
    uv = np.array([[5, 5], [50, 30]])
    _, new, valid = augment(img, uv, ("blur", "color_jitter", "grayscale"), seed=0, p=1.0)
    assert valid.all() and np.array_equal(new, uv)
    with pytest.raises(ValueError, match="unknown augmentation"):
        augment(img, uv, ("warp",), seed=0)
    assert set(GEOMETRIC) < set(AUGMENTATIONS)


def test_network_is_stride_8_upsampled_to_the_input_with_d_channels():
    torch.manual_seed(0)
    net = DenseDescriptorNet(descriptor_dim=16, backbone="resnet18").eval()
    with torch.no_grad():
        out = net(torch.rand(1, 3, 48, 64))
        assert net.body(torch.rand(1, 3, 48, 64)).shape[-2:] == (6, 8)  # output stride 8
    assert out.shape == (1, 16, 48, 64)


def test_nt_xent_is_low_for_matching_pairs_and_high_for_swapped_ones():
    torch.manual_seed(0)
    da = torch.randn(32, 16)
    good = nt_xent(da, da + 0.01 * torch.randn_like(da))
    bad = nt_xent(da, da[torch.randperm(32)])
    assert good < bad and good > 0
    # the loss sums 2N terms: twice the pairs, twice the loss for identical statistics
    assert nt_xent(torch.cat([da, da]), torch.cat([da, da])) > nt_xent(da, da)
    with pytest.raises(ValueError):
        nt_xent(da, da[:3])


def test_nt_xent_equals_eqs_1_and_2_worked_by_hand():
    """Two pairs in 2-D, worked on paper. d1 = (1, 0), d2 = (0, 1) in A; their partners d3 = (1, 0), d4 = (1, 1)/√2 in
    B (scale does not matter: D is the cosine). Cosines: D(1,2) = 0, D(1,3) = 1, D(1,4) = D(2,4) = D(3,4) = 1/√2,
    D(2,3) = 0. With τ = 0.1, l_ij = −log exp(D_ij/τ) / Σ_{k≠i} exp(D_ik/τ) for the four ordered pairs (1,3), (3,1),
    (2,4), (4,2), summed."""
    import math

    e = lambda c: math.exp(c / 0.1)  # noqa: E731 - the paper's exp(D/τ)
    r = 1 / math.sqrt(2)
    l13 = -math.log(e(1) / (e(0) + e(1) + e(r)))  # i = 1: k ∈ {2, 3, 4}
    l31 = -math.log(e(1) / (e(1) + e(0) + e(r)))  # i = 3: k ∈ {1, 2, 4}
    l24 = -math.log(e(r) / (e(0) + e(0) + e(r)))  # i = 2: k ∈ {1, 3, 4}
    l42 = -math.log(e(r) / (e(r) + e(r) + e(r)))  # i = 4: k ∈ {1, 2, 3}, all at cosine 1/√2
    da = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    db = torch.tensor([[3.0, 0.0], [2.0, 2.0]], dtype=torch.float64)
    assert nt_xent(da, db, temperature=0.1).item() == pytest.approx(l13 + l31 + l24 + l42, rel=1e-12)
    assert l42 == pytest.approx(math.log(3))  # a partner no closer than the negatives: chance among 3


def test_pixelwise_loss_follows_the_reference_margins_and_hard_negative_scaling():
    a = torch.zeros(4, 2)
    far = torch.tensor([[1.0, 0.0]] * 4)  # 1.0 apart: beyond the 0.5 margin, no hard negative
    near = torch.tensor([[0.2, 0.0]] * 4)  # 0.2 apart: each contributes (0.5 - 0.2)^2
    s, h = hinge_terms(a, near, 0.5)
    assert h == 4 and s.item() == pytest.approx(4 * 0.09)
    out = pixelwise_contrastive(a, a + 0.1, (a, near), (a, far))
    assert out["match"].item() == pytest.approx(0.02)  # squared L2: 0.1^2 + 0.1^2
    assert out["non_match"].item() == pytest.approx(0.09)  # the far pairs neither add nor count
    assert cross_object(a, far).item() == 0


def test_pick_best_match_and_pck():
    desc = torch.zeros(2, 4, 5)
    desc[0, 2, 3], desc[1, 1, 1] = 1.0, 1.0
    q = pick(desc, torch.tensor([[3, 2], [1, 1]]))
    assert torch.equal(q, torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    assert best_match(q, desc, "cosine").tolist() == [[3, 2], [1, 1]]
    assert best_match(q, desc, "l2").tolist() == [[3, 2], [1, 1]]
    p = pck(np.array([[0, 0], [0, 10]]), np.array([[0, 0], [0, 0]]), ks=[1, 9, 10])
    assert p.tolist() == [0.5, 0.5, 1.0]
    assert pck_auc(np.zeros((3, 2)), np.zeros((3, 2))) == 1.0


def test_a_network_started_from_the_stand_in_takes_unnormalised_images_and_its_checkpoint_says_so(tmp_path):
    """The stand-in backbone was trained on RGB in [0, 1]: normalising its input by the DON dataset's mean and std
    feeds its batch-norm statistics inputs several times larger than they saw (latentmrcnn's detector went to NaN that
    way). The flag travels with the checkpoint."""
    import torch

    from robopercept.common import checkpoints
    from robopercept.don.model import DenseDescriptorNet, load_trained

    torch.manual_seed(0)
    raw = DenseDescriptorNet(4, "resnet18", normalize=False).eval()
    img = torch.rand(1, 3, 48, 64)
    norm = DenseDescriptorNet(4, "resnet18").eval()
    norm.load_state_dict(raw.state_dict())
    assert not torch.allclose(raw(img), norm(img))
    checkpoints.save({"model": raw.state_dict(), "variant": {"loss": "ntxent", "descriptor_dim": 4},
                      "backbone": "resnet18", "normalize": False}, tmp_path / "model.pt")
    back, metric = load_trained(tmp_path / "model.pt")
    assert metric == "cosine" and back.normalize is False and torch.allclose(back(img), raw(img))
