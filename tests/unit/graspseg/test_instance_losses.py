"""§V-A baselines' losses: the robust set loss's target refinement, and the single-object criterion."""

import numpy as np
import pytest
import torch

from robopercept.graspseg.instance_losses import _iou, no_object_term, robust_criterion, robust_targets
from robopercept.graspseg.instance_model import InstanceModelSettings, build, targets

TINY = InstanceModelSettings(backbone="resnet18", num_queries=4, hidden_dim=32, encoder_layers=1, decoder_layers=2,
                             dim_feedforward=64, encoder_feedforward_dim=64, num_heads=4, train_num_points=4096)


def square(h=32, w=32, y=8, x=8, s=12):
    m = torch.zeros(h, w, dtype=torch.bool)
    m[y:y + s, x:x + s] = True
    return m


def test_prediction_within_the_margin_is_its_own_target():
    t = square()
    pred = square(x=9)  # shifted by one pixel: IoU 132/156 = 0.85 > 0.7
    logits = torch.where(pred, 3.0, -3.0)[None]
    out = robust_targets(logits, t[None], 0.7)
    assert torch.equal(out[0], pred)


def test_refinement_moves_just_inside_the_margin():
    t = square()
    # inside the target: logits from -0.45 (left) to -2 (right); outside: a false-positive blob at +0.05
    z = torch.full((32, 32), -3.0)
    z[t] = torch.linspace(-0.45, -2.0, 12).repeat(12)
    z[25:30, 25:30] = 0.05
    out = robust_targets(z[None], t[None], 0.7)[0]
    iou = float(_iou(out[None], t[None]))
    assert iou > 0.7
    assert not torch.equal(out, t)  # not simply the noisy label: the closest mask within the margin
    # with the threshold at 1 - eps it must become the label itself (given enough iterations)
    exact = robust_targets(z[None], t[None], 0.999, max_iter=200)[0]
    assert torch.equal(exact, t)
    # the iteration limit is honoured: one step cannot reach the margin here; as in Pathak et al.'s public code the
    # target is the mask one step reached (the left column's -0.45 + 0.1 stays off; the blob at 0.05 - 0.1 goes
    # off), not the noisy label
    one = robust_targets(z[None], t[None], 0.7, max_iter=1)[0]
    assert not one.any()
    # a confident, wrong prediction (logits far from 0) cannot be moved 25 x 0.1: it stays what it was
    far = torch.where(t, -9.0, 9.0)
    assert torch.equal(robust_targets(far[None], t[None], 0.7)[0], far > 0)


def test_robust_mask_loss_is_lower_for_a_prediction_within_the_margin():
    torch.manual_seed(0)
    model = build(TINY)
    label = square(48, 64, 10, 10, 20).float()[None]
    q = torch.full((1, TINY.num_queries, 48, 64), -5.0)
    q[0, 0][square(48, 64, 10, 12, 20)] = 5.0  # query 0: the label shifted by 2 px (IoU 0.82)
    indices = [(torch.tensor([0]), torch.tensor([0]))]
    standard = model.criterion.loss_masks(q, [label], indices, 1)
    robust_criterion(model, 0.7)
    robust = model.criterion.loss_masks(q, [label], indices, 1)
    assert robust["loss_mask"] < 0.5 * standard["loss_mask"]
    assert robust["loss_dice"] < standard["loss_dice"]
    # and the whole model still trains with it
    model.train()
    imgs = torch.rand(2, 3, 48, 64)
    ml, cl = targets([label.bool().numpy(), np.zeros((0, 48, 64), bool)])
    out = model(pixel_values=imgs, mask_labels=ml, class_labels=cl)
    assert torch.isfinite(out.loss)
    out.loss.backward()


def test_no_object_term_is_switched_off_and_restored():
    model = build(TINY)
    assert model.criterion.empty_weight[-1].item() == pytest.approx(0.1)
    with no_object_term(model):
        assert model.criterion.empty_weight[-1].item() == 0.0
        assert model.criterion.empty_weight[0].item() == 1.0
    assert model.criterion.empty_weight[-1].item() == pytest.approx(0.1)
    with no_object_term(model, off=False):
        assert model.criterion.empty_weight[-1].item() == pytest.approx(0.1)


def test_shape_mismatch_is_named():
    with pytest.raises(ValueError, match="differ"):
        robust_targets(torch.zeros(1, 4, 4), torch.zeros(1, 4, 5, dtype=torch.bool))


def _reference_loop(logits, targets, iou_threshold=0.7, step=0.1, max_iter=25):
    """The label-refinement loop of Pathak et al.'s public code (robust_set_loss.py), pixel by pixel (the slow form
    robust_targets replaces), with its "outside alone" branch as its counters describe it (see instance_losses)."""
    z = logits.detach().clone().float()
    t = targets.bool()
    inside, outside = t.float(), (~t).float()
    for _ in range(max_iter):
        base = _iou(z > 0, t)
        todo = base <= iou_threshold
        if not todo.any():
            break
        w = todo.float()[:, None, None]
        better_in = _iou((z + step * inside * w) > 0, t) > base
        better_out = _iou((z - step * outside * w) > 0, t) > base
        move_in = (todo & (better_in | ~better_out)).float()[:, None, None]
        move_out = (todo & (~better_in)).float()[:, None, None]
        z = z + step * inside * move_in - step * outside * move_out
    return z > 0


@pytest.mark.parametrize("seed", range(6))
def test_counting_form_equals_the_pixel_loop(seed):
    """robust_targets computes the loop from per-mask counts; on random predictions of every kind (already
    within the margin, reachable, out of reach) it must give the loop's masks exactly."""
    g = torch.Generator().manual_seed(seed)
    k, h, w = 24, 40, 60
    t = torch.zeros(k, h, w, dtype=torch.bool)
    for i in range(k):
        y, x = torch.randint(0, h - 10, (2,), generator=g)
        s = int(torch.randint(4, 20, (1,), generator=g))
        t[i, y:y + s, x:x + s] = True
    # logits: the target blurred, shifted and noised, at several confidences
    shift = torch.roll(t, shifts=(int(seed % 3), 2), dims=(1, 2)).float()
    scale = torch.linspace(0.2, 4.0, k)[:, None, None]
    z = scale * (2 * shift - 1) + 0.8 * torch.randn(k, h, w, generator=g)
    for thr in (0.5, 0.7, 0.9):
        fast, slow = robust_targets(z, t, thr), _reference_loop(z, t, thr)
        assert torch.equal(fast, slow), (thr, (fast != slow).sum())
    assert robust_targets(z[:0], t[:0]).shape == (0, h, w)


def test_first_index_equals_searchsorted():
    from robopercept.graspseg.instance_losses import _first_index

    shifts = 0.1 * torch.arange(26, dtype=torch.float32)
    g = torch.Generator().manual_seed(0)
    v = torch.cat([3 * torch.randn(20000, generator=g), shifts, -shifts, shifts + 1e-7, shifts - 1e-7,
                   torch.tensor([100.0, -100.0, 0.0])])
    assert torch.equal(_first_index(shifts, v, strict=True), torch.searchsorted(shifts, v, right=True))
    assert torch.equal(_first_index(shifts, v, strict=False), torch.searchsorted(shifts, v, right=False))


def test_robust_criterion_counts_the_predictions_left_outside_the_margin():
    model = robust_criterion(build(TINY), 0.7)
    crit = model.criterion
    assert crit.robust_counts == [0, 0]
    t = square()[None].float()
    # one query, confidently wrong (cannot move 25 x 0.1), matched to the square
    logits = torch.where(square(), -9.0, 9.0)[None, None]
    indices = [(torch.tensor([0]), torch.tensor([0]))]
    crit.loss_masks(logits, [t], indices, num_masks=1)
    assert crit.robust_counts == [1, 1]
    close = torch.where(square(x=9), 3.0, -3.0)[None, None]  # IoU 0.85: within the margin, its own target
    crit.loss_masks(close, [t], indices, num_masks=1)
    assert crit.robust_counts == [2, 1]


def test_robust_criterion_refines_only_the_flagged_targets():
    """``criterion.refine`` (per image, which targets are noisy) limits the refinement to the flagged image's target:
    image 0's prediction is confidently wrong (refined, stays outside the margin), image 1's within the margin (its
    own target), so each flag shows in the counts; refining both counts what the two single flags do."""
    wrong = torch.where(square(), -9.0, 9.0)
    close = torch.where(square(x=9), 3.0, -3.0)  # IoU 0.85 with the square
    logits = torch.stack([wrong, close])[:, None]  # (2 images, 1 query, H, W)
    labels = [square()[None].float(), square()[None].float()]
    indices = [(torch.tensor([0]), torch.tensor([0])), (torch.tensor([0]), torch.tensor([0]))]
    counts, losses = {}, {}
    for name, flags in {"none": [[False], [False]], "first": [[True], [False]], "second": [[False], [True]],
                        "both": [[True], [True]], "all": None}.items():
        model = robust_criterion(build(TINY), 0.7)
        crit = model.criterion
        crit.refine = None if flags is None else [torch.tensor(f) for f in flags]
        losses[name] = crit.loss_masks(logits, labels, indices, num_masks=2)
        counts[name] = list(crit.robust_counts)
    assert counts["none"] == [0, 0] and counts["first"] == [1, 1] and counts["second"] == [1, 0]
    assert counts["both"] == counts["all"] == [a + b for a, b in zip(counts["first"], counts["second"])]
    standard = build(TINY).criterion.loss_masks(logits, labels, indices, num_masks=2)
    for k in standard:  # nothing flagged: Mask2Former's own mask loss, to the bit
        assert torch.equal(losses["none"][k], standard[k])
        assert torch.equal(losses["both"][k], losses["all"][k])
    assert not torch.equal(losses["first"]["loss_mask"], standard["loss_mask"])
    assert not torch.equal(losses["second"]["loss_mask"], standard["loss_mask"])  # image 1's target is its prediction
    assert not torch.equal(losses["first"]["loss_mask"], losses["second"]["loss_mask"])
