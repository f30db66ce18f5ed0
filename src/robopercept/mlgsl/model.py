"""mlgsl §III-C: the fully convolutional grasp network and its optional spatial attention.

The paper describes the topology "similar to [16]" (GG-CNN2): four downsampling layers with kernels
11, 5, 5, 5, activated by ReLU, with max-pooling; two dilated 5x5 layers (dilation 2 and 4); two
upsampling layers with stride-2 transposed 3x3 kernels; four output maps ``Q, cos 2Φ, sin 2Φ, W``.

**Our reading** (the text does not say where the pooling goes or how wide the layers are): as in
GG-CNN2, the max-pooling (stride 2) follows the second and the fourth convolution, so the two
stride-2 transposed convolutions bring the features back to the input resolution; widths are
GG-CNN2's (16, 16, 16, 16 | 32, 32 | 16, 16). Inputs whose sides are not multiples of 4 are padded
(replicate) and the outputs cropped, so the maps always have the input's size.

**The quality head depends on the loss** (:data:`QUALITY_HEAD`). GG-CNN's own network (the ImgMSE
baseline, [15]/[16]) has *linear* outputs for all four maps, trained by plain MSE against the label
maps, so ImgMSE uses ``Q̂ = z``. MLGSL needs a non-negative ``Q̂`` — eq. (3)'s selection model is the
categorical ``P(p) = Q̂_p / Σ Q̂`` — so the MLGSL variants (MLGSL, MLGSL+Log) use ``Q̂ = σ(z)`` (the
paper does not name its activation; any positive map would do, and the loss fixes Q̂ only up to
scale). PixMSE is the paper's own ablation of MLGSL's per-label terms and keeps MLGSL's sigmoid head.
``W`` is the opening divided by :data:`WIDTH_SCALE` times the image size (GG-CNN's 150 px at 300 px);
``cos 2Φ, sin 2Φ`` are linear (as in GG-CNN). Weights start from Xavier-uniform, as GG-CNN2 does.

**SAM** (CBAM's spatial attention, [34]): channel-wise max and mean → 7x7 conv → sigmoid → the
features are multiplied by the map. ``attention`` places a SAM block after every downsampling
layer (``"down"``), after every upsampling layer (``"up"``), both (``"all"``) or nowhere (``"none"``).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

ATTENTION = ("none", "down", "up", "all")
QUALITY = ("sigmoid", "linear")
# Q̂ = QUALITY_HEAD[loss](z): GG-CNN's linear head for its own loss, a sigmoid where eq. (3) needs Q̂ >= 0
QUALITY_HEAD = {"MLGSL": "sigmoid", "MLGSL+Log": "sigmoid", "PixMSE": "sigmoid", "ImgMSE": "linear"}
WIDTH_SCALE = 0.5  # W = opening_px / (WIDTH_SCALE * image size): GG-CNN's 150 px at 300 px


class SpatialAttention(nn.Module):
    """CBAM spatial attention: ``x * σ(conv7x7([max_c x, mean_c x]))``."""

    def __init__(self, kernel: int = 7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel, padding=kernel // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(pooled))


class GraspFCN(nn.Module):
    """``f_θ(I) -> (Q̂, cos 2Φ̂, sin 2Φ̂, Ŵ)``, each ``B x H x W``, for a ``B x 1 x H x W`` depth input."""

    def __init__(self, attention: str = "none", in_channels: int = 1, widths: tuple[int, int, int] = (16, 32, 16),
                 quality: str = "sigmoid"):
        super().__init__()
        if attention not in ATTENTION:
            raise ValueError(f"attention must be one of {ATTENTION}, got {attention!r}")
        if quality not in QUALITY:
            raise ValueError(f"quality must be one of {QUALITY}, got {quality!r}")
        self.attention = attention
        self.quality_head = quality
        d, m, u = widths
        down = attention in ("down", "all")
        up = attention in ("up", "all")

        def sam(on: bool) -> nn.Module:
            return SpatialAttention() if on else nn.Identity()

        self.down = nn.ModuleList([
            nn.Sequential(nn.Conv2d(in_channels, d, 11, padding=5), nn.ReLU(inplace=True), sam(down)),
            nn.Sequential(nn.Conv2d(d, d, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(2), sam(down)),
            nn.Sequential(nn.Conv2d(d, d, 5, padding=2), nn.ReLU(inplace=True), sam(down)),
            nn.Sequential(nn.Conv2d(d, d, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(2), sam(down)),
        ])
        self.dilated = nn.Sequential(
            nn.Conv2d(d, m, 5, padding=4, dilation=2), nn.ReLU(inplace=True),
            nn.Conv2d(m, m, 5, padding=8, dilation=4), nn.ReLU(inplace=True),
        )
        self.up = nn.ModuleList([
            nn.Sequential(nn.ConvTranspose2d(m, u, 3, stride=2, padding=1, output_padding=1), nn.ReLU(inplace=True),
                          sam(up)),
            nn.Sequential(nn.ConvTranspose2d(u, u, 3, stride=2, padding=1, output_padding=1), nn.ReLU(inplace=True),
                          sam(up)),
        ])
        self.head = nn.Conv2d(u, 4, 1)
        for mod in self.modules():  # GG-CNN2's initialisation
            if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.xavier_uniform_(mod.weight, gain=1)

    def forward(self, depth: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns the raw quality output z (Q̂ = :meth:`quality` of it), cos 2Φ̂, sin 2Φ̂ and Ŵ."""
        if depth.ndim != 4:
            raise ValueError(f"expected a B x C x H x W input, got shape {tuple(depth.shape)}")
        h, w = depth.shape[-2:]
        ph, pw = (-h) % 4, (-w) % 4
        x = F.pad(depth, (0, pw, 0, ph), mode="replicate") if (ph or pw) else depth
        for layer in self.down:
            x = layer(x)
        x = self.dilated(x)
        for layer in self.up:
            x = layer(x)
        out = self.head(x)[..., :h, :w]
        return out[:, 0], out[:, 1], out[:, 2], out[:, 3]


    def quality(self, z: torch.Tensor) -> torch.Tensor:
        """Q̂ from the raw output: σ(z) ∈ (0, 1) for the sigmoid head, z itself for GG-CNN's linear head."""
        return torch.sigmoid(z) if self.quality_head == "sigmoid" else z
