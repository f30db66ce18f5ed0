"""§IV-C the network: ResNet-34 at output stride 8, a 1 x 1 convolution to ``D`` descriptor channels, bilinearly
upsampled to the input size — the "Resnet34_8s" of the reference code (RobotLocomotion/pytorch-dense-correspondence at
76bf649: layer3 and layer4 dilated by 2 and 4 instead of strided; the 512 -> D head initialised N(0, 0.01) with zero
bias; ``upsample_bilinear`` back to the input, i.e. ``align_corners=True``; no descriptor normalisation; images
normalised by the dataset's mean [0.5573, 0.3742, 0.3702] and std [0.2434, 0.2987, 0.3188]).

The paper starts from ImageNet weights; none can be fetched here, so ``backbone_checkpoint`` may name the shared
stand-in (a ResNet of the same layout, ``pretrained_backbone`` stage) or the network starts from scratch — stated by
the training notebook.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

MEAN = (0.5573, 0.3742, 0.3702)
STD = (0.2434, 0.2987, 0.3188)


class DenseDescriptorNet(nn.Module):
    """``normalize``: images are normalised by the dataset's mean and std (the reference code, for ImageNet weights);
    ``False`` feeds RGB in [0, 1] as it is — what the shared stand-in backbone was trained on (its batch-norm
    statistics expect it), so a network started from the stand-in must not normalise."""

    def __init__(self, descriptor_dim: int = 16, backbone: str = "resnet34", normalize: bool = True):
        super().__init__()
        self.normalize = normalize
        from torchvision import models

        if backbone not in ("resnet18", "resnet34", "resnet50"):
            raise ValueError(f"unknown backbone {backbone!r}")
        net = getattr(models, backbone)(weights=None)
        for layer, dilation in ((net.layer3, 2), (net.layer4, 4)):  # output stride 8: dilate instead of striding
            for m in layer.modules():
                if isinstance(m, nn.Conv2d):
                    m.stride = (1, 1)
                    if m.kernel_size == (3, 3):
                        m.dilation, m.padding = (dilation, dilation), (dilation, dilation)
        self.body = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3,
                                  net.layer4)
        channels = net.fc.in_features
        self.head = nn.Conv2d(channels, descriptor_dim, 1)
        nn.init.normal_(self.head.weight, 0.0, 0.01)
        nn.init.zeros_(self.head.bias)
        self.descriptor_dim = descriptor_dim
        self.register_buffer("mean", torch.tensor(MEAN)[:, None, None], persistent=False)
        self.register_buffer("std", torch.tensor(STD)[:, None, None], persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> descriptor images (B, D, H, W)."""
        x = self.body((images - self.mean) / self.std if self.normalize else images)
        return F.interpolate(self.head(x), size=images.shape[-2:], mode="bilinear", align_corners=True)


_BODY_INDEX = {"conv1": "0", "bn1": "1", "layer1": "4", "layer2": "5", "layer3": "6", "layer4": "7"}


def load_standin_backbone(model: DenseDescriptorNet, checkpoint) -> dict[str, int]:
    """Load the ResNet body of a detection checkpoint (the ``pretrained_backbone`` stage's stand-in, or torchvision's
    ``maskrcnn_resnet50_fpn`` file: tensors ``backbone.body.*``) into the descriptor net — the stand-in for the
    paper's ImageNet weights. The dilation of layer3/4 changes no tensor shape. Every body tensor must be found."""
    from pathlib import Path

    from ..common import checkpoints

    path = Path(checkpoint)
    state = checkpoints.load(path, stage="pretrained_backbone", required=(), kind="pretrained checkpoint")
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    mapped = {}
    for k, v in state.items():
        if k.startswith("backbone.body."):
            head, _, rest = k[len("backbone.body."):].partition(".")
            if head in _BODY_INDEX:
                mapped[f"{_BODY_INDEX[head]}.{rest}"] = v
    own = model.body.state_dict()
    wrong = [k for k, v in mapped.items() if k not in own or own[k].shape != v.shape]
    missing = sorted(k for k in own if k not in mapped and not k.endswith("num_batches_tracked"))
    if not mapped or wrong or missing:
        raise ValueError(f"checkpoint {path} does not fit this {len(own)}-tensor ResNet body ({len(mapped)} backbone "
                         f"tensors found, {len(wrong)} of another name or shape, e.g. {wrong[:2]}; {len(missing)} "
                         f"missing, e.g. {missing[:2]}): was it trained with another pretrain.backbone?")
    model.body.load_state_dict(mapped, strict=False)
    return {"loaded": len(mapped), "expected": len(own)}


def load_trained(path) -> tuple[DenseDescriptorNet, str]:
    """A don_train checkpoint as (model in eval mode, its matching metric: ``cosine`` for NT-Xent models, ``l2`` for
    pixelwise ones)."""
    from pathlib import Path

    from ..common import checkpoints

    ck = checkpoints.load(Path(path), stage="don_train", required=("model", "variant", "backbone"),
                          kind="DON checkpoint")
    model = DenseDescriptorNet(ck["variant"]["descriptor_dim"], ck["backbone"], normalize=ck.get("normalize", True))
    model.load_state_dict(ck["model"])
    model.eval()
    return model, "cosine" if ck["variant"]["loss"] == "ntxent" else "l2"
