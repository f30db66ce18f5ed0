"""§III-A, Fig. 2: the grasp segmentation model.

Input: the before image ``i_b``, the after image ``i_a``, their difference ``i_b − i_a`` and the grasp
mask ``g``, concatenated on channels (3 + 3 + 3 + 1 = 10). Backbone: ResNet + FPN (torchvision); the
first convolution is freshly initialised (10 input channels), every other backbone weight can be
loaded from a Mask R-CNN checkpoint (:func:`load_detection_backbone`). Head: from the stride-4 FPN
level, two gated residual blocks ``y = x + σ(C2(x))·C1(x)``, each followed by a stride-2 transposed
convolution, back to the input resolution; a 2-channel output (visible, amodal) of logits. A head narrower
than the FPN starts with a 1x1 reduction, computed together with the FPN's output convolution as one
convolution (:meth:`GraspSegmentationModel.reduced_stride4`: the same function and gradients, a quarter of the
cost of that layer).

The paper uses ResNet-50; ``backbone="resnet18"`` is the cpu profile's smaller stand-in (the table
footer says which ran). Batch norm is trainable (``nn.BatchNorm2d``) so the same model also trains
from scratch, the ablation the paper does not have but our missing COCO weights make necessary.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.detection.backbone_utils import resnet_fpn_backbone

from .config import BACKBONES  # one list, importable without torch

IN_CHANNELS = 10


class GatedResidualBlock(nn.Module):
    """``y = x + σ(C2(x)) · C1(x)`` (§III-A): a residual block whose update is gated per pixel."""

    def __init__(self, channels: int):
        super().__init__()
        self.c1 = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU())
        self.c2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + torch.sigmoid(self.c2(x)) * self.c1(x)  # y = x + σ(C2(x))·C1(x)


def make_backbone(name: str) -> nn.Module:
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {BACKBONES}")
    return resnet_fpn_backbone(backbone_name=name, weights=None, norm_layer=nn.BatchNorm2d, trainable_layers=5)


class GraspSegmentationModel(nn.Module):
    def __init__(self, backbone: str = "resnet50", head_channels: tuple[int, int, int] = (256, 128, 64)):
        """``head_channels``: widths of the first gated block, the second, and the last upsampled
        features (the paper does not give them; (256, 128, 64) keeps the FPN width). A first width
        below the FPN's 256 adds a 1x1 reduction (the cpu profile uses (64, 32, 16))."""
        super().__init__()
        if len(head_channels) != 3 or min(head_channels) < 1:
            raise ValueError(f"head_channels must be three positive widths, got {head_channels}")
        self.backbone_name = backbone
        self.head_channels = tuple(head_channels)
        self.backbone = make_backbone(backbone)
        # fresh first convolution for the 10-channel input (the paper initialises it randomly)
        self.backbone.body.conv1 = nn.Conv2d(IN_CHANNELS, 64, kernel_size=7, stride=2, padding=3, bias=False)
        fpn = self.backbone.out_channels
        c0, c1, c2 = head_channels
        self.reduce = nn.Identity() if c0 == fpn else nn.Conv2d(fpn, c0, kernel_size=1)
        self.block1 = GatedResidualBlock(c0)
        self.up1 = nn.ConvTranspose2d(c0, c1, kernel_size=4, stride=2, padding=1)
        self.block2 = GatedResidualBlock(c1)
        self.up2 = nn.ConvTranspose2d(c1, c2, kernel_size=4, stride=2, padding=1)
        self.head = nn.Conv2d(c2, 2, kernel_size=1)

    @staticmethod
    def inputs(before: torch.Tensor, after: torch.Tensor, grasp_mask: torch.Tensor) -> torch.Tensor:
        """``[i_b, i_a, i_b − i_a, g]``: images as float in [0, 1] (N, 3, H, W), g as (N, 1, H, W)."""
        if before.shape != after.shape:
            raise ValueError(f"before and after differ in shape: {tuple(before.shape)} vs {tuple(after.shape)}")
        if grasp_mask.shape[-2:] != before.shape[-2:]:
            raise ValueError(f"grasp mask {tuple(grasp_mask.shape)} does not match images {tuple(before.shape)}")
        return torch.cat([before - 0.5, after - 0.5, before - after, grasp_mask.float() - 0.5], dim=1)

    def fpn_topdown_stride4(self, x: torch.Tensor) -> torch.Tensor:
        """The FPN's top-down sum at stride 4 (lateral 1x1 plus the upsampled coarser levels), before its 3x3
        output convolution: torchvision's top-down pathway, without the coarser levels' output convolutions and
        max-pool, which the head never reads."""
        feats = list(self.backbone.body(x).values())
        fpn = self.backbone.fpn
        last = fpn.get_result_from_inner_blocks(feats[-1], -1)
        for idx in range(len(feats) - 2, -1, -1):
            lateral = fpn.get_result_from_inner_blocks(feats[idx], idx)
            last = lateral + F.interpolate(last, size=lateral.shape[-2:], mode="nearest")
        return last

    def fpn_stride4(self, x: torch.Tensor) -> torch.Tensor:
        """The FPN's stride-4 level ("0"), the only one the head reads, without the 3x3 output convolutions and the
        max-pool of the coarser levels (~11 % of a forward pass at 160 x 240): the same arithmetic as
        ``self.backbone(x)["0"]`` (torchvision's top-down pathway; a test checks equality), and the skipped layers
        never received a gradient."""
        return self.backbone.fpn.get_result_from_layer_blocks(self.fpn_topdown_stride4(x), 0)

    def _fpn_output_conv(self) -> nn.Conv2d | None:
        """The stride-4 level's 3x3 output convolution when it is a bare convolution (torchvision builds the FPN
        without norm or activation), else None."""
        block = self.backbone.fpn.layer_blocks[0]
        mods = list(block.children()) if isinstance(block, nn.Sequential) else [block]
        if len(mods) == 1 and isinstance(mods[0], nn.Conv2d) and mods[0].groups == 1 and mods[0].padding_mode == "zeros":
            return mods[0]
        return None

    def reduced_stride4(self, x: torch.Tensor) -> torch.Tensor:
        """``reduce(fpn_stride4(x))``, the head's input, computed as one convolution where that is exact.

        With a head narrower than the FPN (the cpu profile: 64 of 256 channels) the FPN's 3x3 output convolution
        ``W`` (256 → 256) is followed by the 1x1 reduction ``R`` (256 → 64) with nothing between them, and
        ``R·(W∗z + b) + r = (R·W)∗z + (R·b + r)``. Convolving with the product ``R·W`` (256 → 64) costs a quarter
        of ``W`` alone — which was ~30 % of a training step at 120 x 180 on one thread. The parameters stay ``W, b,
        R, r`` (same state dict, same optimiser), and autograd through the product gives each of them the same
        gradient as the two-layer form (``∂L/∂W = Rᵀ·∂L/∂(RW)``): the same function and the same training, up to
        float rounding (a test holds outputs and gradients to the unfused form)."""
        conv = self._fpn_output_conv()
        if not isinstance(self.reduce, nn.Conv2d) or conv is None:
            return self.reduce(self.fpn_stride4(x))
        z = self.fpn_topdown_stride4(x)
        r = self.reduce.weight.flatten(1)  # (c0, fpn)
        w = torch.einsum("oc,cikl->oikl", r, conv.weight)
        b = r @ conv.bias + self.reduce.bias if conv.bias is not None else self.reduce.bias
        if z.is_contiguous(memory_format=torch.channels_last):
            w = w.contiguous(memory_format=torch.channels_last)
        return F.conv2d(z, w, b, stride=conv.stride, padding=conv.padding, dilation=conv.dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, 2, H, W): channel 0 visible, channel 1 amodal."""
        if x.shape[1] != IN_CHANNELS:
            raise ValueError(f"expected {IN_CHANNELS} input channels [i_b, i_a, i_b - i_a, g], got {x.shape[1]}")
        h, w = x.shape[-2:]
        f = self.up1(self.block1(self.reduced_stride4(x)))
        f = self.up2(self.block2(f))
        out = self.head(f)
        if out.shape[-2:] != (h, w):  # sizes not divisible by 32
            out = F.interpolate(out, size=(h, w), mode="bilinear", align_corners=False)
        return out


def load_detection_backbone(model: GraspSegmentationModel, checkpoint: str | Path) -> dict[str, int]:
    """Load every backbone weight but the first convolution from a Mask R-CNN checkpoint.

    Accepts torchvision's ``maskrcnn_resnet50_fpn`` COCO file (a bare state dict) or this
    repository's own checkpoints (``{"model": state_dict, "config": ...}``). Keys are matched after
    stripping ``backbone.``; ``body.conv1`` is skipped (different input channels). Returns counts of
    loaded and skipped tensors; raises if the checkpoint holds no matching backbone.
    """
    from ..common import checkpoints

    path = Path(checkpoint)
    state = checkpoints.load(path, stage="pretrained_backbone", required=(), kind="pretrained checkpoint")
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    own = model.backbone.state_dict()
    picked, skipped = {}, 0
    for key, value in state.items():
        if not key.startswith("backbone."):
            continue
        k = key[len("backbone."):]
        if k.startswith("body.conv1.") or k not in own or own[k].shape != value.shape:
            skipped += 1
            continue
        picked[k] = value
    # every backbone tensor but conv1 must come from the checkpoint (BatchNorm's step counter excepted:
    # torchvision's COCO file uses FrozenBatchNorm2d, which has none)
    required = {k for k in own if not k.startswith("body.conv1.") and not k.endswith("num_batches_tracked")}
    missing = sorted(required - set(picked))
    if not picked or missing:
        raise ValueError(f"checkpoint {path} holds no backbone weights matching a {model.backbone_name} FPN backbone "
                         f"({len(missing)} of {len(required)} tensors missing or of another shape, e.g. "
                         f"{', '.join(missing[:3])})")
    model.backbone.load_state_dict(picked, strict=False)
    return {"loaded": len(picked), "skipped": skipped, "expected": len(own)}
