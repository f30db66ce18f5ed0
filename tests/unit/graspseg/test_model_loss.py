import math

import pytest
import torch
import torch.nn.functional as F

from robopercept.graspseg.loss import grasp_segmentation_loss, loss_weights, scaled_kernels, weighted_bce
from robopercept.graspseg.model import GatedResidualBlock, GraspSegmentationModel, load_detection_backbone
from robopercept.graspseg.train import TrainSettings, load_checkpoint, save_checkpoint


def test_gated_block_shapes_and_gate():
    torch.manual_seed(0)
    blk = GatedResidualBlock(4).eval()
    x = torch.randn(2, 4, 6, 5)
    assert blk(x).shape == x.shape
    # gate closed (sigmoid -> 0): the block is the identity, y = x
    torch.nn.init.zeros_(blk.c2.weight)
    torch.nn.init.constant_(blk.c2.bias, -50.0)
    assert torch.allclose(blk(x), x)
    # gate open (sigmoid -> 1): y = x + C1(x)
    torch.nn.init.constant_(blk.c2.bias, 50.0)
    assert torch.allclose(blk(x), x + blk.c1(x), atol=1e-6)


@pytest.mark.parametrize("hw", [(64, 96), (67, 101)])
def test_model_output_at_input_resolution(hw):
    m = GraspSegmentationModel("resnet18", (16, 8, 4)).eval()
    b, a = torch.rand(1, 3, *hw), torch.rand(1, 3, *hw)
    g = torch.zeros(1, 1, *hw)
    x = m.inputs(b, a, g)
    assert x.shape == (1, 10, *hw)
    torch.testing.assert_close(x[:, 6:9], b - a)  # the i_b - i_a channels
    with torch.no_grad():
        assert m(x).shape == (1, 2, *hw)


@pytest.mark.parametrize("hw", [(64, 96), (67, 101)])
def test_stride4_level_is_the_full_fpns_level_0_bit_for_bit(hw):
    """The head reads the FPN's stride-4 level only: the shortcut forward gives torchvision's level "0" exactly, in
    training mode (batch statistics) too, and the same gradients on every parameter it uses."""
    torch.manual_seed(0)
    m = GraspSegmentationModel("resnet18", (16, 8, 4))
    x = torch.randn(2, 10, *hw)
    for train in (False, True):
        m.train(train)
        full = m.backbone(x)["0"]
        short = m.fpn_stride4(x)
        assert torch.equal(full, short)
    grads = []
    for fn in (lambda: m.backbone(x)["0"], lambda: m.fpn_stride4(x)):
        m.zero_grad(set_to_none=True)
        fn().square().mean().backward()
        grads.append({n: p.grad.clone() for n, p in m.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys() and grads[0]
    assert all(torch.equal(grads[0][n], grads[1][n]) for n in grads[0])
    # the skipped layers (coarser levels' output convolutions) never get a gradient
    assert not any(n.startswith(f"backbone.fpn.layer_blocks.{i}") for n in grads[1] for i in (1, 2, 3))
    assert any(n.startswith("backbone.fpn.layer_blocks.0") for n in grads[1])


@pytest.mark.parametrize("hw", [(64, 96), (67, 101)])
def test_fused_fpn_output_and_reduction_match_the_two_layers(hw):
    """A head narrower than the FPN reads ``reduce(fpn_stride4(x))`` as one convolution with the product weights:
    the same outputs and the same gradient on every parameter (the FPN's output convolution included) as the two
    layers, up to float rounding, in both memory formats; a head as wide as the FPN has no reduction to fuse."""
    torch.manual_seed(0)
    m = GraspSegmentationModel("resnet18", (16, 8, 4)).train()
    assert m._fpn_output_conv() is not None
    for fmt in (torch.contiguous_format, torch.channels_last):
        m = m.to(memory_format=fmt)
        x = torch.randn(2, 10, *hw).contiguous(memory_format=fmt)
        outs, grads = [], []
        for fn in (lambda: m.reduce(m.fpn_stride4(x)), lambda: m.reduced_stride4(x)):
            m.zero_grad(set_to_none=True)
            y = fn()
            (y * torch.linspace(-1, 1, y.numel()).reshape(y.shape)).sum().backward()
            outs.append(y.detach())
            grads.append({n: p.grad.clone() for n, p in m.named_parameters() if p.grad is not None})
        torch.testing.assert_close(outs[1], outs[0], rtol=1e-4, atol=1e-4)
        assert grads[0].keys() == grads[1].keys()
        assert {"backbone.fpn.layer_blocks.0.0.weight", "backbone.fpn.layer_blocks.0.0.bias", "reduce.weight",
                "reduce.bias"} <= grads[1].keys()
        for n in grads[0]:
            torch.testing.assert_close(grads[1][n], grads[0][n], rtol=1e-3, atol=1e-5 * grads[0][n].abs().max().item())
    wide = GraspSegmentationModel("resnet18", (256, 8, 4)).eval()
    assert isinstance(wide.reduce, torch.nn.Identity)
    x = torch.randn(1, 10, *hw)
    with torch.no_grad():
        assert torch.equal(wide.reduced_stride4(x), wide.fpn_stride4(x))


def test_max_pool_same_equals_max_pool2d():
    """The loss's weight maps: running sums on {0, 1} masks give max_pool2d's k x k max exactly (every kernel of eq.
    (2) at the cpu and paper heights, borders, masks empty and full, images narrower than the kernel); other inputs
    take max_pool2d itself; an even kernel is refused."""
    from robopercept.graspseg.loss import max_pool_same

    def ref(m, k):
        rows = torch.nn.functional.max_pool2d(m, (1, k), 1, (0, k // 2))
        return torch.nn.functional.max_pool2d(rows, (k, 1), 1, (k // 2, 0))

    g = torch.Generator().manual_seed(0)
    kernels = sorted(set(scaled_kernels(120)) | set(scaled_kernels(640)) | {1, 3})
    for hw, p in [((120, 180), 0.7), ((7, 9), 0.95), ((1, 5), 0.5), ((64, 3), 0.0), ((16, 16), 1.01)]:
        m = (torch.rand(3, 1, *hw, generator=g) > p).float()
        for k in kernels:
            assert torch.equal(max_pool_same(m, k), ref(m, k)), (hw, p, k)
    soft = torch.rand(2, 1, 20, 30, generator=g)
    assert torch.equal(max_pool_same(soft, 5), ref(soft, 5))
    with pytest.raises(ValueError, match="odd kernel"):
        max_pool_same(soft, 4)


def test_model_bad_inputs():
    m = GraspSegmentationModel("resnet18", (16, 8, 4))
    with pytest.raises(ValueError, match="differ in shape"):
        m.inputs(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9), torch.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match="10 input channels"):
        m(torch.rand(1, 3, 32, 32))
    with pytest.raises(ValueError, match="unknown backbone"):
        GraspSegmentationModel("vgg16")


def test_loss_weights_are_the_mask_its_complement_and_its_dilations():
    m = torch.zeros(1, 1, 3, 3)
    m[0, 0, 1, 1] = 1.0
    w = loss_weights(m, (3, 1, 1, 1))
    assert len(w) == 6 and all(wk.shape == m.shape for wk in w)
    torch.testing.assert_close(w[0], m)
    torch.testing.assert_close(w[1], 1 - m)
    assert w[2].sum() == 9  # a 3x3 max-pool spreads the centre pixel over the whole 3x3 map
    torch.testing.assert_close(w[3], m)
    assert len(loss_weights(m, (3,))) == 3


def test_weighted_bce_by_hand_in_both_readings():
    # weights built by hand (not with loss_weights: this exercise is graded on its own)
    m = torch.zeros(1, 1, 3, 3)
    m[0, 0, 1, 1] = 1.0
    # all logits 0 -> every pixel's BCE is log 2.
    logits = torch.zeros(1, 1, 3, 3)
    # literal eq. (1): 1/n over all 9 pixels -> the object term is 1/9 of the background term, and the
    # pair w(1) + w(2) = 1 is plain unweighted BCE: nothing is balanced
    assert math.isclose(float(weighted_bce(logits, m, m, "pixels")), math.log(2) / 9, rel_tol=1e-6)
    assert math.isclose(float(weighted_bce(logits, m, 1 - m, "pixels")), 8 * math.log(2) / 9, rel_tol=1e-6)
    # balanced reading (default): each term is normalised by its weights -> one mean per term, log 2 each
    assert math.isclose(float(weighted_bce(logits, m, m)), math.log(2), rel_tol=1e-6)
    assert math.isclose(float(weighted_bce(logits, m, 1 - m)), math.log(2), rel_tol=1e-6)
    # an all-zero weight map contributes 0, not NaN
    assert float(weighted_bce(logits, m, torch.zeros_like(m))) == 0.0
    # an object of any size: the object and background terms stay equal under the balanced reading
    big = torch.zeros(1, 1, 10, 10)
    big[..., :2, :2] = 1.0
    pos, neg = (float(weighted_bce(torch.zeros(1, 1, 10, 10), big, wk)) for wk in (big, 1 - big))
    assert math.isclose(pos, neg, rel_tol=1e-6)
    with pytest.raises(ValueError, match="normalization must be one of"):
        weighted_bce(logits, m, m, "images")


def test_grasp_segmentation_loss_by_hand():
    m = torch.zeros(1, 1, 3, 3)
    m[0, 0, 1, 1] = 1.0
    # eq. (2) on both channels with kernels (3, 1, 1, 1): six terms per channel
    literal = grasp_segmentation_loss(torch.zeros(1, 2, 3, 3), m, m, (3, 1, 1, 1), normalization="pixels")
    assert math.isclose(float(literal), 2 * 21 * math.log(2) / 9, rel_tol=1e-6)  # weights sum to 1+8+9+1+1+1
    balanced = grasp_segmentation_loss(torch.zeros(1, 2, 3, 3), m, m, (3, 1, 1, 1))
    assert math.isclose(float(balanced), 2 * 6 * math.log(2), rel_tol=1e-6)


def test_separable_maxpool_equals_square_maxpool():
    torch.manual_seed(1)
    m = (torch.rand(2, 1, 20, 30) > 0.9).float()
    for k in (3, 7, 11):
        ref = F.max_pool2d(m, k, stride=1, padding=k // 2)
        torch.testing.assert_close(loss_weights(m, (k,))[2], ref)


def test_kernel_scaling():
    assert scaled_kernels(640) == (11, 51, 101, 201)
    assert scaled_kernels(160) == (3, 13, 25, 51)
    assert all(k % 2 == 1 for k in scaled_kernels(97))


def test_loss_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="2 output channels"):
        grasp_segmentation_loss(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4), (3,))
    with pytest.raises(ValueError, match="does not match"):
        grasp_segmentation_loss(torch.zeros(1, 2, 4, 4), torch.zeros(1, 1, 5, 4), torch.zeros(1, 1, 5, 4), (3,))


def test_checkpoint_round_trip_weights_only(tmp_path):
    settings = TrainSettings(head_channels=(16, 8, 4))
    m = GraspSegmentationModel("resnet18", settings.head_channels).eval()
    path = save_checkpoint(m, tmp_path / "g.pt", settings=settings, variant="Grasp-100", history=[{"step": 1}],
                           init=None)
    m2, ckpt = load_checkpoint(path)
    assert ckpt["variant"] == "Grasp-100" and ckpt["init"] == "scratch"
    x = torch.rand(1, 10, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(m(x), m2(x))
    torch.save({"weights": {}}, tmp_path / "bad.pt")
    from robopercept.common.checkpoints import CheckpointError

    with pytest.raises(CheckpointError, match="bad.pt is not a grasp segmentation checkpoint.*graspseg_train"):
        load_checkpoint(tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="missing.pt does not exist; the `graspseg_train` stage makes it"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "trunc.pt").write_bytes(path.read_bytes()[:100])  # a truncated file names itself and its stage
    with pytest.raises(CheckpointError, match="trunc.pt.*truncated or corrupt.*graspseg_train"):
        load_checkpoint(tmp_path / "trunc.pt")


def test_loads_a_torchvision_mask_rcnn_checkpoint(tmp_path):
    """The real loading path for COCO weights, on a tiny Mask R-CNN checkpoint written here."""
    from torchvision.models.detection import MaskRCNN
    from torchvision.models.detection.backbone_utils import resnet_fpn_backbone

    torch.manual_seed(0)
    det = MaskRCNN(resnet_fpn_backbone(backbone_name="resnet18", weights=None), num_classes=3)
    torch.save(det.state_dict(), tmp_path / "maskrcnn.pth")  # torchvision's format: a bare state dict
    m = GraspSegmentationModel("resnet18", (16, 8, 4))
    counts = load_detection_backbone(m, tmp_path / "maskrcnn.pth")
    assert counts["skipped"] >= 1  # conv1 (3 vs 10 channels)
    torch.testing.assert_close(m.backbone.body.layer1[0].conv1.weight, det.backbone.body.layer1[0].conv1.weight)
    torch.testing.assert_close(m.backbone.fpn.layer_blocks[0][0].weight, det.backbone.fpn.layer_blocks[0][0].weight)
    assert m.backbone.body.conv1.weight.shape[1] == 10
    other = GraspSegmentationModel("resnet34", (16, 8, 4))
    with pytest.raises(ValueError, match="no backbone weights matching"):
        load_detection_backbone(other, tmp_path / "maskrcnn.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot read pretrained checkpoint .*junk.pth"):
        load_detection_backbone(m, tmp_path / "junk.pth")
