"""§III-A: one encoder, three decoders — semantic softmax, object-centre confidence, 32-D embedding (Fig. 2).

    "On top of the encoder we attach a module that upsamples the last layer's features and concatenates them to their
    matching skip resolution in the encoder (see Fig. 2). After the concatenation we use a [1 × 1] convolution that squashes the
    upsampled features with the skipped ones, and 2 layers of [3 × 3] convolutions to combine them and learn
    task-specific parameters. This is done iteratively until the output volume matches the size of the grid needed to
    perform the superpixel upsampling." (§III-A.2) "All decoders have the same architecture, but their last layer is
    passed through a different activation function."

* **Encoders**: MobileNetV2 (torchvision) and Darknet-53 (timm's ``darknet53``), both at output stride 16 as in every
  row of Table I: MobileNetV2's stride-32 blocks run at stride 1 with dilation 2 (the atrous trick the paper cites,
  [6]); timm builds Darknet-53 dilated to stride 16 itself. Skips at every stride the encoder has below 16. The paper
  starts both from ImageNet weights; none can be fetched here and the shared stand-in backbone is a ResNet, so ours
  start from scratch (stated in the training notebook).
* **Decoders**: a 1 × 1 conv + batch-norm + ReLU that brings the encoder's last map to the decoder's width (ours: the
  paper does not say how the 1280 / 1024 channels enter), then ×2 bilinear upsampling, concatenation with the skip at that stride (none at stride 1 for MobileNetV2),
  a 1 × 1 squash and two 3 × 3 conv + batch-norm + ReLU (``decoder_width`` channels at stride 16, halved at each
  upsampling down to 16, and never below the head's channels: the embedding decoder keeps 32 — the paper gives no
  widths), repeated down to the decoder output stride (``dec_os``: 1 =
  full resolution, 4 = the superpixel grid of k = 4); then a 1 × 1 convolution to the head's channels: the number of
  classes (softmax in the loss), 1 (sigmoid; its bias starts at ``-log((1 - π) / π)``, π = 0.1, as in RetinaNet
  [16]), or 32 (no activation).
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn

ENCODERS = ("mobilenetv2", "darknet53")


@dataclasses.dataclass(frozen=True)
class ModelSettings:
    encoder: str = "mobilenetv2"
    num_classes: int = 9  # background + the eight Cityscapes classes with instances
    dec_os: int = 4  # decoder output stride: 1 (full resolution) or the superpixel size
    decoder_width: int = 64
    embedding_dim: int = 32
    centre_prior: float = 0.1  # π of the centre head's bias initialisation

    def __post_init__(self):
        if self.encoder not in ENCODERS:
            raise ValueError(f"unknown fastseg encoder {self.encoder!r}; choose from {ENCODERS}")
        if self.dec_os not in (1, 2, 4, 8, 16):
            raise ValueError(f"decoder output stride must be 1, 2, 4, 8 or 16, got {self.dec_os}")
        if not 0 < self.centre_prior < 1:
            raise ValueError("centre_prior must be in (0, 1)")


class MobileNetV2OS16(nn.Module):
    """torchvision's MobileNetV2 features at output stride 16; returns {stride: feature map}."""

    TAPS = {1: 2, 3: 4, 6: 8, 18: 16}  # block index -> stride of its output

    def __init__(self):
        super().__init__()
        from torchvision.models import mobilenet_v2

        self.features = mobilenet_v2(weights=None).features
        for block in list(self.features)[14:]:  # the stride-32 blocks: stride 1, dilation 2
            for m in block.modules():
                if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3):
                    m.stride, m.dilation, m.padding = (1, 1), (2, 2), (2, 2)
        self.channels = {2: 16, 4: 24, 8: 32, 16: 1280}

    def forward(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        out = {}
        for i, block in enumerate(self.features):
            x = block(x)
            if i in self.TAPS:
                out[self.TAPS[i]] = x
        return out


class Darknet53OS16(nn.Module):
    """timm's Darknet-53 dilated to output stride 16; returns {stride: feature map} (the deepest at 16)."""

    def __init__(self):
        super().__init__()
        import timm

        self.body = timm.create_model("darknet53", pretrained=False, features_only=True, output_stride=16)
        strides = self.body.feature_info.reduction()
        chans = self.body.feature_info.channels()
        self._strides = [min(s, 16) for s in strides]
        self.channels = {}
        for s, c in zip(self._strides, chans):
            self.channels[s] = c  # at stride 16 the last (deepest) map wins

    def forward(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        return {s: f for s, f in zip(self._strides, self.body(x))}


def _conv_bn_relu(cin: int, cout: int, k: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Decoder(nn.Module):
    """Upsample from stride 16 to ``out_stride``, merging the encoder's skips; a 1 x 1 head to ``out_channels``."""

    def __init__(self, channels: dict[int, int], out_stride: int, width: int, out_channels: int):
        super().__init__()
        self.steps = nn.ModuleDict()
        self.out_stride = out_stride
        s = 16
        self.entry = _conv_bn_relu(channels[16], width, 1)
        cin = width
        while s > out_stride:
            s //= 2
            w = self.width_at(width, s, out_channels)
            self.steps[str(s)] = nn.Sequential(_conv_bn_relu(cin + channels.get(s, 0), w, 1), _conv_bn_relu(w, w, 3),
                                               _conv_bn_relu(w, w, 3))
            cin = w
        self.head = nn.Conv2d(cin, out_channels, 1)

    @staticmethod
    def width_at(width: int, stride: int, out_channels: int = 1) -> int:
        """Channels at ``stride``: ``width`` at 16, halved with each upsampling (as the encoders' own channels shrink
        with resolution; the paper does not give its decoder widths), at least 16 and at least ``out_channels`` — a
        32-D embedding is not read from fewer than 32 channels (with a floor of 16 it could span only a 16-D subspace
        of the paper's 32)."""
        return max(16, out_channels, width * stride // 16)

    def forward(self, feats: dict[int, torch.Tensor]) -> torch.Tensor:
        x = self.entry(feats[16])
        s = 16
        while s > self.out_stride:
            s //= 2
            size = feats[s].shape[-2:] if s in feats else (x.shape[-2] * 2, x.shape[-1] * 2)
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
            if s in feats:
                x = torch.cat([x, feats[s]], dim=1)
            x = self.steps[str(s)](x)
        return self.head(x)


class FastSeg(nn.Module):
    """The network of Fig. 2: ``forward(images)`` -> {"semantic": logits (B, C, h, w), "centre": logits (B, 1, h, w),
    "embedding": (B, D, h, w)} at the decoder output stride; ``heads`` runs a subset of the decoders (the baseline
    infers only the semantic and embedding branches)."""

    def __init__(self, s: ModelSettings):
        super().__init__()
        self.settings = s
        self.encoder = MobileNetV2OS16() if s.encoder == "mobilenetv2" else Darknet53OS16()
        ch = {k: v for k, v in self.encoder.channels.items() if k >= s.dec_os or k == 16}
        self.semantic = Decoder(ch, s.dec_os, s.decoder_width, s.num_classes)
        self.centre = Decoder(ch, s.dec_os, s.decoder_width, 1)
        self.embedding = Decoder(ch, s.dec_os, s.decoder_width, s.embedding_dim)
        nn.init.constant_(self.centre.head.bias, -math.log((1 - s.centre_prior) / s.centre_prior))

    def forward(self, images: torch.Tensor, heads: tuple[str, ...] = ("semantic", "centre", "embedding")
                ) -> dict[str, torch.Tensor]:
        h, w = images.shape[-2:]
        if h % 16 or w % 16:
            raise ValueError(f"fastseg input must be a multiple of 16 (the encoder's stride), got {h}x{w}")
        mean = torch.tensor([0.485, 0.456, 0.406], device=images.device)[:, None, None]
        std = torch.tensor([0.229, 0.224, 0.225], device=images.device)[:, None, None]
        feats = self.encoder((images - mean) / std)  # images in [0, 1]; ImageNet's normalisation
        unknown = set(heads) - {"semantic", "centre", "embedding"}
        if unknown:
            raise ValueError(f"unknown fastseg head(s) {sorted(unknown)}")
        return {name: getattr(self, name)(feats) for name in heads}
