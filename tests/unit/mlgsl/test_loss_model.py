"""The four losses of mlgsl checked by hand on tiny maps; the FCN's shapes."""

import math

import numpy as np
import pytest
import torch

from robopercept.formats.jacquard import GraspRect
from robopercept.mlgsl import loss as L
from robopercept.mlgsl.model import ATTENTION, GraspFCN


def _labels(rows, cols, cos, sin, width):
    t = lambda v: torch.tensor([v], dtype=torch.float32)  # noqa: E731
    return {"rows": torch.tensor([rows]), "cols": torch.tensor([cols]), "cos": t(cos), "sin": t(sin),
            "width": t(width), "valid": torch.ones(1, len(rows))}


def _out(q, cos, sin, width):
    logit = torch.logit(torch.tensor([q], dtype=torch.float64)).float()
    return logit, torch.tensor([cos]), torch.tensor([sin]), torch.tensor([width])


Q = [[0.5, 0.25], [0.125, 0.125]]  # Σ Q̂ = 1, so P(p) = Q̂_p
COS = [[1.0, 0.0], [0.0, 0.0]]
SIN = [[0.0, 1.0], [0.0, 0.0]]
W = [[0.2, 0.4], [0.0, 0.0]]


def test_mlgsl_by_hand():
    out = _out(Q, COS, SIN, W)
    labels = _labels([0, 0], [0, 1], [1.0, 0.0], [0.0, 0.0], [0.3, 0.4])
    # label 1 at (0,0): -log 0.5 + (1-1)² + (0-0)² + (0.2-0.3)²
    # label 2 at (0,1): -log 0.25 + (0-0)² + (1-0)² + (0.4-0.4)²
    expected = -math.log(0.5) + 0.01 + (-math.log(0.25)) + 1.0
    assert float(L.mlgsl_loss(out, labels)) == pytest.approx(expected, rel=1e-5)


def test_mlgsl_is_scale_invariant_in_q():
    labels = _labels([0], [0], [1.0], [0.0], [0.2])
    a = L.log_selection_probability(_out(Q, COS, SIN, W)[0], labels["rows"], labels["cols"])
    half = [[v / 2 for v in row] for row in Q]
    b = L.log_selection_probability(_out(half, COS, SIN, W)[0], labels["rows"], labels["cols"])
    assert float(a) == pytest.approx(math.log(0.5), rel=1e-5)
    assert float(a) == pytest.approx(float(b), rel=1e-5)


def test_mlgsl_log_by_hand():
    out = _out(Q, COS, SIN, W)
    labels = _labels([1], [0], [0.5], [0.5], [0.5])
    err_phi = 0.5 ** 2 + 0.5 ** 2
    err_w = 0.5 ** 2
    expected = -math.log(0.125) + math.log(err_phi + L.LOG_EPS) + math.log(err_w + L.LOG_EPS)
    assert float(L.mlgsl_log_loss(out, labels)) == pytest.approx(expected, abs=1e-5)


def test_pixmse_by_hand():
    out = _out(Q, COS, SIN, W)
    labels = _labels([0], [1], [0.0], [1.0], [0.1])
    expected = (0.25 - 1) ** 2 + 0 + (0.4 - 0.1) ** 2
    assert float(L.pixmse_loss(out, labels)) == pytest.approx(expected, rel=1e-5)


def test_padding_labels_do_not_count():
    out = _out(Q, COS, SIN, W)
    labels = _labels([0, 1], [0, 1], [1.0, 0.0], [0.0, 0.0], [0.2, 0.0])
    labels["valid"] = torch.tensor([[1.0, 0.0]])
    assert float(L.mlgsl_loss(out, labels)) == pytest.approx(-math.log(0.5), rel=1e-5)


def test_imgmse_targets_compact_rectangle():
    # opening 9 along the columns -> compact length 3, jaw 1: pixels (4, 3..5)
    t = L.imgmse_targets([GraspRect(4.0, 4.0, 0.0, 9.0, 1.0)], (9, 9), width_norm_px=18.0)
    assert t[0].sum() == 3 and t[0][4, 3:6].all()
    assert np.allclose(t[1][4, 3:6], 1.0) and np.allclose(t[2][4, 3:6], 0.0)
    assert np.allclose(t[3][4, 3:6], 0.5)


def test_imgmse_by_hand():
    # GG-CNN's head is linear: ImgMSE reads the raw output as Q̂ (no sigmoid)
    out = (torch.tensor([Q]), torch.tensor([COS]), torch.tensor([SIN]), torch.tensor([W]))
    maps = torch.zeros(1, 4, 2, 2)
    maps[0, 0, 0, 0] = 1.0
    labels = {"maps": maps}
    q = np.array(Q)
    target_q = np.zeros((2, 2))
    target_q[0, 0] = 1
    expected = (((q - target_q) ** 2).mean() + (np.array(COS) ** 2).mean() + (np.array(SIN) ** 2).mean()
                + (np.array(W) ** 2).mean())
    assert float(L.imgmse_loss(out, labels)) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("attention", ATTENTION)
@pytest.mark.parametrize("size", [(33, 47), (48, 48), (31, 30)])
def test_fcn_output_at_input_resolution(attention, size):
    model = GraspFCN(attention)
    out = model(torch.randn(2, 1, *size))
    assert len(out) == 4 and all(o.shape == (2, *size) for o in out)


def test_quality_head_follows_the_loss():
    from robopercept.mlgsl.model import QUALITY_HEAD

    z = torch.tensor([[-2.0, 0.0, 3.0]])
    assert QUALITY_HEAD["ImgMSE"] == "linear" and QUALITY_HEAD["MLGSL"] == "sigmoid"
    assert torch.equal(GraspFCN(quality="linear").quality(z), z)  # GG-CNN: Q̂ = z, may be negative
    assert torch.allclose(GraspFCN(quality="sigmoid").quality(z), torch.sigmoid(z))
    with pytest.raises(ValueError, match="quality must be one of"):
        GraspFCN(quality="relu")


def test_imgmse_gradient_does_not_vanish_on_zero_targets():
    # the old sigmoid head saturated: with a strongly negative logit the gradient towards a positive
    # label was ~0. GG-CNN's linear head gives the full MSE gradient 2 (q - 1) / n.
    q = torch.full((1, 2, 2), -8.0, requires_grad=True)
    maps = torch.zeros(1, 4, 2, 2)
    maps[0, 0, 0, 0] = 1.0
    zeros = torch.zeros(1, 2, 2)
    L.imgmse_loss((q, zeros, zeros, zeros), {"maps": maps}).backward()
    assert float(q.grad[0, 0, 0]) == pytest.approx(2 * (-8.0 - 1.0) / 4)


def test_fcn_rejects_bad_input():
    with pytest.raises(ValueError, match="attention must be one of"):
        GraspFCN("everywhere")
    with pytest.raises(ValueError, match="B x C x H x W"):
        GraspFCN()(torch.randn(1, 32, 32))


@pytest.mark.parametrize("attention", ["none", "all"])
def test_channels_last_training_step_is_the_same_function(attention):
    # mlgsl_train trains channels-last (oneDNN's fast kernels); the layout may change float rounding only:
    # the loss and every gradient agree with torch's default layout to float precision
    torch.manual_seed(0)
    ref = GraspFCN(attention)
    fast = GraspFCN(attention)
    fast.load_state_dict(ref.state_dict())
    fast = fast.to(memory_format=torch.channels_last)
    x = 0.7 + 0.01 * torch.randn(4, 1, 40, 40)
    g = torch.Generator().manual_seed(1)
    labels = {"rows": torch.randint(0, 40, (4, 3), generator=g), "cols": torch.randint(0, 40, (4, 3), generator=g),
              "cos": torch.rand(4, 3, generator=g), "sin": torch.rand(4, 3, generator=g),
              "width": torch.rand(4, 3, generator=g), "valid": torch.ones(4, 3)}
    loss_ref = L.mlgsl_loss(ref(x), labels)
    loss_fast = L.mlgsl_loss(fast(x.contiguous(memory_format=torch.channels_last)), labels)
    loss_ref.backward()
    loss_fast.backward()
    assert float(loss_fast) == pytest.approx(float(loss_ref), rel=1e-5)
    for (name, a), (_, b) in zip(ref.named_parameters(), fast.named_parameters()):
        assert torch.allclose(a.grad, b.grad, rtol=1e-4, atol=1e-6), name


def test_checkpoint_weights_are_stored_contiguous_and_load_channels_last(tmp_path):
    from robopercept.common import checkpoints
    from robopercept.mlgsl.train import load_model

    model = GraspFCN("down").to(memory_format=torch.channels_last)
    state = {k: t.contiguous() for k, t in model.state_dict().items()}  # as train_run saves it
    assert not model.down[1][0].weight.is_contiguous() and all(t.is_contiguous() for t in state.values())
    run = {"name": "MLGSL + SAM (down)", "loss": "MLGSL", "attention": "down"}
    checkpoints.save({"model": state, "run": run, "history": [], "quality_head": "sigmoid"}, tmp_path / "model.pt")
    loaded, _ = load_model(tmp_path / "model.pt")
    assert loaded.down[1][0].weight.is_contiguous(memory_format=torch.channels_last)
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        for a, b in zip(model.eval()(x), loaded(x)):
            assert torch.equal(a, b)
