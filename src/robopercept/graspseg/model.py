"""§III-A, Fig. 2: the grasp segmentation model.

Input: the before image ``i_b``, the after image ``i_a``, their difference ``i_b − i_a`` and the grasp
mask ``g``, concatenated on channels (3 + 3 + 3 + 1 = 10). Backbone: ResNet + FPN (torchvision); the
first convolution is freshly initialised (10 input channels), every other backbone weight can be
loaded from a Mask R-CNN checkpoint (:func:`load_detection_backbone`). Head: from the stride-4 FPN
level, two gated residual blocks ``y = x + σ(C2(x))·C1(x)``, each followed by a stride-2 transposed
convolution, back to the input resolution; a 2-channel output (visible, amodal) of logits.

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

    def fpn_stride4(self, x: torch.Tensor) -> torch.Tensor:
        """The FPN's stride-4 level ("0"), the only one the head reads, without the 3x3 output convolutions and the
        max-pool of the coarser levels (~11 % of a forward pass at 160 x 240): the same arithmetic as
        ``self.backbone(x)["0"]`` (torchvision's top-down pathway; a test checks equality), and the skipped layers
        never received a gradient."""
        feats = list(self.backbone.body(x).values())
        fpn = self.backbone.fpn
        last = fpn.get_result_from_inner_blocks(feats[-1], -1)
        for idx in range(len(feats) - 2, -1, -1):
            lateral = fpn.get_result_from_inner_blocks(feats[idx], idx)
            last = lateral + F.interpolate(last, size=lateral.shape[-2:], mode="nearest")
        return fpn.get_result_from_layer_blocks(last, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, 2, H, W): channel 0 visible, channel 1 amodal."""
        if x.shape[1] != IN_CHANNELS:
            raise ValueError(f"expected {IN_CHANNELS} input channels [i_b, i_a, i_b - i_a, g], got {x.shape[1]}")
        h, w = x.shape[-2:]
        f = self.fpn_stride4(x)
        f = self.up1(self.block1(self.reduce(f)))
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
