"""§III-A: the network's heads and strides, the grid targets of Fig. 4, and the three losses."""

import math

import numpy as np
import pytest
import torch

from robopercept.fastseg.losses import LossSettings, centre_loss, embedding_loss, semantic_loss, total_loss
from robopercept.fastseg.model import FastSeg, ModelSettings
from robopercept.fastseg.superpixels import grid_slic
from robopercept.fastseg.targets import class_index_map, class_weights, grid_targets
from robopercept.formats.cityscapes import label_ids


@pytest.mark.parametrize("encoder", ["mobilenetv2", "darknet53"])
@pytest.mark.parametrize("dec_os", [1, 4])
def test_heads_have_the_decoder_stride_and_the_centre_bias_prior(encoder, dec_os):
    torch.manual_seed(0)
    m = FastSeg(ModelSettings(encoder=encoder, dec_os=dec_os, decoder_width=16)).eval()
    with torch.no_grad():
        out = m(torch.rand(1, 3, 64, 96))
    h, w = 64 // dec_os, 96 // dec_os
    assert out["semantic"].shape == (1, 9, h, w) and out["centre"].shape == (1, 1, h, w)
    assert out["embedding"].shape == (1, 32, h, w)
    assert m.centre.head.bias.item() == pytest.approx(-math.log(0.9 / 0.1))
    with pytest.raises(ValueError, match="multiple of 16"):
        m(torch.rand(1, 3, 60, 96))


def test_model_settings_reject_unknown_encoders():
    with pytest.raises(ValueError, match="encoder"):
        ModelSettings(encoder="resnet")


def scene():
    ids = label_ids()
    labels = np.full((32, 48), ids["road"], np.int64)
    inst = labels.copy()
    labels[4:20, 4:20], inst[4:20, 4:20] = ids["car"], ids["car"] * 1000
    labels[4:20, 28:44], inst[4:20, 28:44] = ids["car"], ids["car"] * 1000 + 1
    labels[24:28, 4:5], inst[24:28, 4:5] = ids["person"], ids["person"] * 1000  # 1 px wide, off-centre: lost at k = 4
    rgb = np.zeros((32, 48, 3), np.uint8)
    rgb[labels == ids["car"]] = (200, 30, 30)
    return rgb, labels, inst


def test_grid_targets_mark_one_centre_per_instance_on_the_instance_and_count_the_lost():
    rgb, labels, inst = scene()
    full = grid_targets(labels, inst, None, 1)
    assert full.centre.sum() == 3 and full.lost == 0 and sorted(full.instance_class.tolist()) == [1, 3, 3]
    t = grid_targets(labels, inst, grid_slic(rgb, 4).numpy(), 4)
    assert t.semantic.shape == (8, 12) and t.centre.sum() == len(t.instance_class) == 2 and t.lost == 1
    assert (t.instance[t.centre > 0] > 0).all()  # every centre lies on its instance
    assert set(np.unique(class_index_map(labels)).tolist()) == {0, 1, 3}


def test_centre_blobs_are_discs_of_the_radius_around_each_centre_clipped_to_the_instance():
    rgb, labels, inst = scene()
    one = grid_targets(labels, inst, None, 1)
    assert np.array_equal(one.centre_blob, one.centre)  # radius 0: our reading before the departure
    t = grid_targets(labels, inst, None, 1, centre_radius_px=3)
    assert (t.centre_blob >= t.centre).all() and (t.instance[t.centre_blob > 0] > 0).all()
    for n in range(1, len(t.instance_class) + 1):
        m = t.instance == n
        (cr,), (cc,) = np.nonzero(m & (t.centre > 0))
        rr, cols = np.nonzero(m)
        inside = (rr - cr) ** 2 + (cols - cc) ** 2 <= 9
        assert t.centre_blob[rr[inside], cols[inside]].all() and not t.centre_blob[rr[~inside], cols[~inside]].any()
    assert t.centre_blob.sum() == 2 * 29 + 4  # two 16 x 16 cars: a full disc of radius 3 (29 px); the 1 px person: 4
    k4 = grid_targets(labels, inst, grid_slic(rgb, 4).numpy(), 4, centre_radius_px=4)  # 1 element on the grid
    assert k4.centre_blob.sum() == 2 * 5 and np.array_equal(k4.centre, grid_targets(
        labels, inst, grid_slic(rgb, 4).numpy(), 4).centre)  # the embedding's centres do not move
    with pytest.raises(ValueError, match="centre_radius_px"):
        grid_targets(labels, inst, None, 1, centre_radius_px=-1)


def test_the_centre_loss_reads_the_blobs_and_the_embedding_loss_the_centres():
    torch.manual_seed(0)
    m = FastSeg(ModelSettings(decoder_width=8, dec_os=1))
    rgb, labels, inst = scene()
    t = grid_targets(labels, inst, None, 1, centre_radius_px=3)
    out = m(torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255)
    args = (out, torch.from_numpy(t.semantic)[None], torch.from_numpy(t.instance)[None],
            torch.from_numpy(t.centre)[None], torch.ones(9))
    one, blob = total_loss(*args), total_loss(*args, centre_target=torch.from_numpy(t.centre_blob)[None])
    one, blob = ({n: float(v) for n, v in terms.items()} for terms in (one, blob))
    assert blob["centre"] == pytest.approx(float(centre_loss(out["centre"], torch.from_numpy(t.centre_blob)[None])))
    assert one["centre"] != pytest.approx(blob["centre"])
    assert blob["embedding"] == one["embedding"] and blob["semantic"] == one["semantic"]


def test_class_weights_follow_eq_2():
    w = class_weights(np.array([90, 10]))
    assert w == pytest.approx([1 / np.log(0.9 + 1.02), 1 / np.log(0.1 + 1.02)])
    assert w[1] > w[0]  # the rare class weighs more


def test_embedding_loss_is_zero_for_tight_instances_with_far_centres_and_positive_otherwise():
    inst = torch.tensor([[[1, 1, 2, 2]]])
    centre = torch.tensor([[[1.0, 0, 1, 0]]])
    good = torch.zeros(1, 2, 1, 4)
    good[0, 0, 0, 2:] = 2.0  # instance 2 sits 2.0 away from instance 1, every element on its centre
    terms = embedding_loss(good, inst, centre, LossSettings(gamma_reg=0))
    assert terms["attract"] == 0 and terms["repel"] == 0
    bad = torch.zeros(1, 2, 1, 4, requires_grad=True)  # everything on one point: repulsion at full strength
    terms = embedding_loss(bad, inst, centre)
    assert terms["repel"].item() == pytest.approx(1.0)
    terms["embedding"].backward()
    assert bad.grad is not None
    spread = good.clone()
    spread[0, 1, 0, 1] = 0.5  # one element 0.5 from its centre: attraction (0.5 - 0.1) / 2 elements / 2 instances
    assert embedding_loss(spread, inst, centre)["attract"].item() == pytest.approx(0.4 / 2 / 2)


def test_focal_centre_loss_is_small_for_confident_correct_and_large_for_wrong():
    target = torch.zeros(1, 4, 4)
    target[0, 1, 1] = 1
    right = torch.full((1, 1, 4, 4), -8.0)
    right[0, 0, 1, 1] = 8.0
    assert centre_loss(right, target) < 1e-4 < centre_loss(-right, target)


def test_total_loss_backpropagates_through_every_head():
    torch.manual_seed(0)
    m = FastSeg(ModelSettings(decoder_width=8))
    rgb, labels, inst = scene()
    t = grid_targets(labels, inst, grid_slic(rgb, 4).numpy(), 4)
    out = m(torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255)
    terms = total_loss(out, torch.from_numpy(t.semantic)[None], torch.from_numpy(t.instance)[None],
                       torch.from_numpy(t.centre)[None], torch.ones(9))
    terms["total"].backward()
    for head in (m.semantic, m.centre, m.embedding):
        assert head.head.weight.grad is not None and head.head.weight.grad.abs().sum() > 0
    assert semantic_loss(out["semantic"].detach(), torch.from_numpy(t.semantic)[None], torch.ones(9)) > 0
