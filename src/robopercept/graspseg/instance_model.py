"""§III-B.4: the instance segmentation model, Mask2Former (``transformers``), class-agnostic.

    "We chose a state-of-the-art model, Mask2Former [1] ... We use the official public implementation of
    Mask2Former with a Resnet-50 as the backbone and default parameters (100 queries)." (§III-B.4)

:func:`build` makes ``Mask2FormerForUniversalSegmentation`` with a ResNet backbone (``transformers``'
``ResNetBackbone``, the torchvision architecture: stride in the 3x3 convolution of a bottleneck) and one
label, "object" (the bins hold objects, not categories; Table II's AP is class-agnostic). Defaults are
Mask2Former's (100 queries, hidden 256, 6 pixel-decoder encoder layers, 10 decoder layers, 12544
sampled points, loss weights class 2 / mask 5 / dice 5, no-object weight 0.1); the ``cpu`` profile
shrinks the width, queries, layers and points (see :class:`InstanceModelSettings`).

**Backbone initialisation.** The paper starts from ImageNet/COCO weights; ours start from the shared
stand-in (stage ``pretrained_backbone``: a torchvision ResNet trained on simulated bins). Its
``backbone.body.*`` tensors are renamed onto ``transformers``' ResNet by :func:`torchvision_to_hf_resnet`
(a test checks both networks compute the same features).

**Inputs** are RGB in [0, 1] without mean/std normalisation — what the stand-in was trained on.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

RESNETS = {  # torchvision name -> (block type, depths, widths)
    "resnet18": ("basic", [2, 2, 2, 2], [64, 128, 256, 512]),
    "resnet34": ("basic", [3, 4, 6, 3], [64, 128, 256, 512]),
    "resnet50": ("bottleneck", [3, 4, 6, 3], [256, 512, 1024, 2048]),
}


@dataclasses.dataclass(frozen=True)
class InstanceModelSettings:
    backbone: str = "resnet50"  # paper: ResNet-50
    num_queries: int = 100  # paper: "default parameters (100 queries)"
    hidden_dim: int = 256  # Mask2Former defaults from here on
    encoder_layers: int = 6
    decoder_layers: int = 10
    dim_feedforward: int = 2048
    encoder_feedforward_dim: int = 1024
    num_heads: int = 8
    train_num_points: int = 12544
    no_object_weight: float = 0.1
    class_weight: float = 2.0
    mask_weight: float = 5.0
    dice_weight: float = 5.0

    def __post_init__(self):
        if self.backbone not in RESNETS:
            raise ValueError(f"instance model: unknown backbone {self.backbone!r}; choose one of {tuple(RESNETS)}")
        if self.hidden_dim % 32:
            raise ValueError(f"instance model: hidden_dim {self.hidden_dim} must be a multiple of 32 (the pixel "
                             "decoder's GroupNorm has 32 groups)")
        if self.hidden_dim % self.num_heads:
            raise ValueError(f"instance model: hidden_dim {self.hidden_dim} must be a multiple of num_heads "
                             f"{self.num_heads}")
        for k in ("num_queries", "encoder_layers", "decoder_layers", "train_num_points"):
            if getattr(self, k) < 1:
                raise ValueError(f"instance model: {k} must be >= 1")


def mask2former_config(s: InstanceModelSettings):
    from transformers import Mask2FormerConfig, ResNetConfig

    kind, depths, widths = RESNETS[s.backbone]
    backbone = ResNetConfig(embedding_size=64, hidden_sizes=widths, depths=depths, layer_type=kind,
                            out_features=["stage1", "stage2", "stage3", "stage4"])
    return Mask2FormerConfig(
        backbone_config=backbone, num_labels=1, id2label={0: "object"}, label2id={"object": 0},
        num_queries=s.num_queries, hidden_dim=s.hidden_dim, feature_size=s.hidden_dim,
        mask_feature_size=s.hidden_dim, encoder_layers=s.encoder_layers, decoder_layers=s.decoder_layers,
        dim_feedforward=s.dim_feedforward, encoder_feedforward_dim=s.encoder_feedforward_dim,
        num_attention_heads=s.num_heads, train_num_points=s.train_num_points,
        no_object_weight=s.no_object_weight, class_weight=s.class_weight, mask_weight=s.mask_weight,
        dice_weight=s.dice_weight, use_auxiliary_loss=True)


def build(s: InstanceModelSettings, seed: int = 0):
    from transformers import Mask2FormerForUniversalSegmentation

    torch.manual_seed(seed)
    return Mask2FormerForUniversalSegmentation(mask2former_config(s))


# ---------------------------------------------------------------------------------------------------
# torchvision ResNet -> transformers ResNet
# ---------------------------------------------------------------------------------------------------

_BN = r"(weight|bias|running_mean|running_var|num_batches_tracked)"


def torchvision_to_hf_resnet(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a torchvision ResNet's tensors (``conv1``, ``bn1``, ``layerI.J.convK``, ``layerI.J.bnK``,
    ``layerI.J.downsample.{0,1}``) to ``transformers``' ``ResNetBackbone`` names; ``fc`` is dropped."""
    out = {}
    for k, v in state.items():
        if k.startswith("fc."):
            continue
        if k == "conv1.weight":
            out["embedder.embedder.convolution.weight"] = v
            continue
        m = re.fullmatch(r"bn1\." + _BN, k)
        if m:
            out[f"embedder.embedder.normalization.{m.group(1)}"] = v
            continue
        m = re.fullmatch(r"layer(\d)\.(\d+)\.conv(\d)\.weight", k)
        if m:
            out[f"encoder.stages.{int(m[1]) - 1}.layers.{m[2]}.layer.{int(m[3]) - 1}.convolution.weight"] = v
            continue
        m = re.fullmatch(r"layer(\d)\.(\d+)\.bn(\d)\." + _BN, k)
        if m:
            out[f"encoder.stages.{int(m[1]) - 1}.layers.{m[2]}.layer.{int(m[3]) - 1}.normalization.{m[4]}"] = v
            continue
        m = re.fullmatch(r"layer(\d)\.(\d+)\.downsample\.0\.weight", k)
        if m:
            out[f"encoder.stages.{int(m[1]) - 1}.layers.{m[2]}.shortcut.convolution.weight"] = v
            continue
        m = re.fullmatch(r"layer(\d)\.(\d+)\.downsample\.1\." + _BN, k)
        if m:
            out[f"encoder.stages.{int(m[1]) - 1}.layers.{m[2]}.shortcut.normalization.{m[3]}"] = v
            continue
        raise ValueError(f"unexpected torchvision ResNet tensor {k!r}")
    return out


def hf_backbone(model):
    return model.model.pixel_level_module.encoder


def freeze_backbone_batchnorm(model) -> int:
    """Mask2Former's ResNet uses frozen BatchNorm (detectron2's ``FrozenBN``): the backbone's BatchNorm layers
    keep their running statistics and affine parameters. Puts them in eval mode with ``requires_grad`` off; call
    it again after every ``model.train()``. Returns the number of layers frozen."""
    n = 0
    for m in hf_backbone(model).modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eval()
            for p in m.parameters():
                p.requires_grad_(False)
            n += 1
    return n


def load_standin_backbone(model, checkpoint: str | Path) -> dict[str, int]:
    """Load the ResNet body of a detection checkpoint (this repository's stand-in, or torchvision's
    ``maskrcnn_resnet50_fpn`` file) into Mask2Former's backbone. Every backbone tensor must be found."""
    from ..common import checkpoints

    path = Path(checkpoint)
    state = checkpoints.load(path, stage="pretrained_backbone", required=(), kind="pretrained checkpoint")
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    body = {k[len("backbone.body."):]: v for k, v in state.items() if k.startswith("backbone.body.")}
    if not body:
        raise ValueError(f"checkpoint {path} holds no backbone.body.* tensors (a ResNet-FPN detection checkpoint "
                         "is expected; stage pretrained_backbone makes one)")
    mapped = torchvision_to_hf_resnet(body)
    target = hf_backbone(model)
    own = target.state_dict()
    wrong = [k for k, v in mapped.items() if k not in own or own[k].shape != v.shape]
    missing = sorted(k for k in own if k not in mapped and not k.endswith("num_batches_tracked"))
    if wrong or missing:
        raise ValueError(f"checkpoint {path} does not fit the {len(own)}-tensor backbone of this Mask2Former "
                         f"({len(wrong)} tensors of another name or shape, e.g. {wrong[:2]}; {len(missing)} missing, "
                         f"e.g. {missing[:2]}): was it trained with another pretrain.backbone?")
    target.load_state_dict(mapped, strict=False)
    return {"loaded": len(mapped), "expected": len(own)}


# ---------------------------------------------------------------------------------------------------
# Inference: queries -> scored instances
# ---------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Instances:
    masks: np.ndarray  # (K, H, W) bool
    scores: np.ndarray  # (K,) float, descending


@torch.no_grad()
def predict(model, images: torch.Tensor, max_instances: int = 100, mask_threshold: float = 0.5) -> list[Instances]:
    """Scored instance masks for a batch of images (N, 3, H, W) in [0, 1].

    As in Mask2Former's instance inference: a query's score is its "object" probability (softmax over
    object / no object) times the mean mask probability inside its binarised mask; masks are upsampled
    to the image size; the ``max_instances`` best queries are kept (no NMS — queries compete through
    the matching in training)."""
    model.eval()
    out = model(pixel_values=images)
    probs = out.class_queries_logits.softmax(-1)[..., 0]  # (N, Q): P(object)
    masks = torch.nn.functional.interpolate(out.masks_queries_logits, size=images.shape[-2:], mode="bilinear",
                                            align_corners=False).sigmoid()
    result = []
    for p, m in zip(probs, masks):
        binary = m > mask_threshold
        mask_score = (m * binary).flatten(1).sum(1) / binary.flatten(1).sum(1).clamp(min=1)
        score = p * mask_score
        order = torch.argsort(score, descending=True, stable=True)[:max_instances]
        keep = order[binary[order].flatten(1).any(1)]
        result.append(Instances(masks=binary[keep].numpy(), scores=score[keep].numpy().astype(np.float64)))
    return result


def targets(masks: Sequence[np.ndarray]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Mask2Former's ``mask_labels`` (float (K, H, W)) and ``class_labels`` (all 0, "object") per image."""
    mask_labels = [torch.from_numpy(np.asarray(m, np.float32)) for m in masks]
    return mask_labels, [torch.zeros(len(m), dtype=torch.int64) for m in masks]
