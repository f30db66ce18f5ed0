"""§III and appendix Fig. 6: Latent-MaskRCNN, built on torchvision's Mask R-CNN (a subclass, not a fork).

"In the decoder (Figure 6 (a)), we tile the latent codes across the spatial dimensions of the image and concatenate
them with the feature maps coming out of the FPN. Then we use a few convolutional layers to project the combined
feature maps back down to their original channel dimensionality." (appendix A; ``z ∈ R^64``, "d = 64 was a reasonable
choice that worked for all datasets"). The RPN, the box head and the mask head all see ``z``; the posterior encoder
and the prior read the unmodified FPN maps.
Facts taken from the authors' code are cited to docs/reference/latentmrcnn_reference_code.md (§ numbers there).

* **Injection** (:class:`LatentInjection`): per FPN level (p2–p6, all five, §1) ``f' = Conv1x1([f, tile(z)])``. The
  paper says "a few conv layers"; the authors' code has one 1x1 conv per level, which we follow, with its
  initialisation: PyTorch's default for ``Conv2d``, so z enters with random weights from the first step and the FPN
  features are mixed, not passed through. (Until session 21 ours started as the identity on ``f`` and zero on ``z``, so
  that an untrained Latent-MaskRCNN was its Mask R-CNN. Measured by ``latent_probe`` in session 20 — apparel, 400
  steps, same seed and data: with that start z's weights stayed at ~0 (||W_z|| / ||W_f|| 0.0015) and the prior's
  samples agreed 0.999, i.e. the heads ignored z; with the default init 0.50 and 0.95 at the same loss.)
* **Posterior** q(z|x, y) (:class:`PosteriorEncoder`, §2): per ground-truth instance, ROI-aligned FPN features inside
  its box, two coordinate channels in [-1, 1] and the instance's mask cropped to the same grid; a small CNN; attention
  across the image's instances (single head, as the code); mean over instances; a linear layer to (μ, log σ²). Sizes
  are parameters (the code: 64x64 crops, 32/64-channel gated blocks, 8 attention layers of width 512; the cpu
  profile shrinks them).
* **Prior** p(z|x) (:class:`Prior`, §3): per level a conv block, max-pool, a second conv block, spatial mean; levels
  summed; then a small MLP (the paper: "a small MLP"; the code has none) to (μ, log σ²). The MLP's last layer starts
  at zero: the initial prior is N(0, I).
* **Training** (loss (3)): ``L = E_q[L_M(x, y, z)] + β·KL(q(z|y, x) || p(z|x))`` with the analytic KL of two diagonal
  Gaussians, summed over the 64 dimensions, mean over images (§4). Per image, z is a posterior sample with
  probability ``posterior_rate`` (0.5 in the code) and otherwise the prior mean (not detached). An image without
  instances has no posterior: it decodes the prior mean and adds no KL. β is applied by the trainer
  (:mod:`robopercept.latentmrcnn.train`), which holds it at 0 early ("KL warm-up").
* **Inference** (§IV): :meth:`LatentMaskRCNN.forward` in eval mode decodes the prior mean (§IV-D);
  :meth:`LatentMaskRCNN.sample` draws ``k`` latents from the prior for one shared backbone and prior pass and runs
  the ``k`` decodings (injection, RPN, heads) as one batch.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection.backbone_utils import resnet_fpn_backbone
from torchvision.models.detection.image_list import ImageList
from torchvision.ops import MultiScaleRoIAlign, roi_align

BACKBONES = ("resnet18", "resnet34", "resnet50")
PAPER_Z_DIM = 64  # §III: z ∈ R^64


IMAGENET_MEAN = (0.485, 0.456, 0.406)  # torchvision detection defaults
IMAGENET_STD = (0.229, 0.224, 0.225)
UNNORMALISED = ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))  # what the shared stand-in backbone was trained on


@dataclasses.dataclass(frozen=True)
class ModelSettings:
    backbone: str = "resnet18"  # paper: ResNet-50-FPN
    num_classes: int = 2  # background + categories (Apparel-5k: one, "object")
    min_size: int = 128  # torchvision's resize: shorter side (the paper: 640-800)
    max_size: int = 192
    z_dim: int = PAPER_Z_DIM
    encoder_roi: int = 16  # posterior crops (code: 64)
    encoder_width: int = 32  # first CNN width (code: 32, then 64)
    encoder_hidden: int = 128  # per-instance vector and attention width (code: 512)
    encoder_layers: int = 2  # attention layers (code: 8)
    prior_width: int = 32  # prior conv width (code: 64, then 128)
    posterior_rate: float = 0.5  # share of training images decoded with a posterior sample (code: 0.5)
    detections_per_img: int = 100
    # detectron2's defaults, which the authors' configs keep: BACKBONE.FREEZE_AT = 2 (stem and res2 frozen, i.e.
    # torchvision's trainable_layers = 3) and ROI_HEADS.BATCH_SIZE_PER_IMAGE = 512 sampled proposals per image (the
    # mask head runs on their positives: on 2 CPU cores it is most of a step, so the cpu profile samples fewer)
    trainable_layers: int = 3
    roi_batch_per_image: int = 512
    # Mask R-CNN's mask head: four 3x3 convs and a 2x deconv of this many channels (torchvision and detectron2: 256).
    # It runs once per detection at test time — with k = 10 samples of up to 100 detections, 1000 ROIs an image, ~20 ms
    # each on one CPU core at 256 channels — so the cpu profile narrows it, for both models alike.
    mask_head_width: int = 256
    # RPN proposals kept after NMS at test time (torchvision and detectron2: 1000; Faster R-CNN's paper: 300). The box
    # head runs on every one, for each of the k samples.
    rpn_test_proposals: int = 1000
    box_score_thresh: float = 0.05  # the code's test threshold
    # the detector's input normalisation must match its backbone's training: ImageNet statistics for torchvision's
    # COCO weights, none (RGB in [0, 1]) for the shared stand-in, which was trained on unnormalised images — its
    # frozen batch-norm statistics on ImageNet-normalised input blew the first losses up to ~80 and training to NaN
    image_mean: tuple[float, float, float] = IMAGENET_MEAN
    image_std: tuple[float, float, float] = IMAGENET_STD

    def __post_init__(self):
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {self.backbone!r}")
        for name in ("num_classes", "min_size", "max_size", "z_dim", "encoder_roi", "encoder_width", "encoder_hidden",
                     "encoder_layers", "prior_width", "detections_per_img", "roi_batch_per_image",
                     "mask_head_width", "rpn_test_proposals"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.posterior_rate <= 1:
            raise ValueError(f"posterior_rate must be in [0, 1], got {self.posterior_rate}")
        if not 0 <= self.trainable_layers <= 5:
            raise ValueError(f"trainable_layers must be in [0, 5] (torchvision's resnet_fpn_backbone), got "
                             f"{self.trainable_layers}")


def _conv_block(cin: int, cout: int) -> nn.Sequential:
    """3x3 conv, GroupNorm with groups of 4 channels (the authors' GroupNorm(ch/4)), LeakyReLU(0.1)."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.GroupNorm(max(1, cout // 4), cout), nn.LeakyReLU(0.1))


class Prior(nn.Module):
    """p(z|x) = N(μ(x), σ²(x)) from the FPN maps."""

    def __init__(self, channels: int, z_dim: int, n_levels: int, width: int):
        super().__init__()
        self.blocks = nn.ModuleList(nn.Sequential(_conv_block(channels, width), nn.MaxPool2d(2, ceil_mode=True),
                                                  _conv_block(width, 2 * width)) for _ in range(n_levels))
        self.mlp = nn.Sequential(nn.Linear(2 * width, 2 * width), nn.LeakyReLU(0.1), nn.Linear(2 * width, 2 * z_dim))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)  # the initial prior is N(0, I)

    def forward(self, feats: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        h = sum(block(f).mean((2, 3)) for block, f in zip(self.blocks, feats))  # spatial mean per level, summed
        mu, logvar = self.mlp(h).chunk(2, dim=-1)
        return mu, logvar


class PosteriorEncoder(nn.Module):
    """q(z|x, y) = N(μ(y, x), σ²(y, x)) from the ground-truth instances of each image."""

    def __init__(self, channels: int, z_dim: int, roi: int, width: int, hidden: int, layers: int,
                 levels: tuple[str, ...] = ("0", "1", "2", "3")):
        super().__init__()
        self.roi = roi
        self.pool = MultiScaleRoIAlign(list(levels), output_size=roi, sampling_ratio=2)
        self.cnn = nn.Sequential(_conv_block(channels + 3, width), nn.MaxPool2d(2, ceil_mode=True),
                                 _conv_block(width, 2 * width), nn.MaxPool2d(2, ceil_mode=True),
                                 _conv_block(2 * width, 2 * width), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                                 nn.Linear(8 * width, hidden), nn.LeakyReLU(0.1))
        layer = nn.TransformerEncoderLayer(hidden, nhead=1, dim_feedforward=2 * hidden, dropout=0.0, batch_first=True)
        self.attention = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.out = nn.Linear(hidden, 2 * z_dim)

    def forward(self, features: OrderedDict, targets: list[dict], image_sizes: list[tuple[int, int]]):
        """(μ, log σ²) of shape (B, z_dim), and a (B,) bool: which images have an instance (others have no posterior)."""
        boxes = [t["boxes"] for t in targets]
        counts = [len(b) for b in boxes]
        has = torch.tensor([c > 0 for c in counts], device=features["0"].device)
        z2 = self.out.out_features
        if sum(counts) == 0:
            zero = features["0"].new_zeros(len(boxes), z2 // 2)
            return zero, zero, has
        feats = self.pool(features, boxes, image_sizes)  # (N, C, roi, roi)
        crop = []  # each instance's mask on the same grid, image by image (images of a batch may differ in size)
        for t, b in zip(targets, boxes):
            if len(b):
                idx = torch.arange(len(b), dtype=b.dtype, device=b.device)[:, None]
                crop.append(roi_align(t["masks"].float()[:, None], torch.cat([idx, b], 1), output_size=self.roi,
                                      spatial_scale=1.0, sampling_ratio=2, aligned=True))
        crop = torch.cat(crop)
        g = torch.linspace(-1, 1, self.roi, dtype=feats.dtype, device=feats.device)
        yy, xx = torch.meshgrid(g, g, indexing="ij")
        coords = torch.stack([yy, xx])[None].expand(len(feats), -1, -1, -1)
        h = self.cnn(torch.cat([feats, coords, crop], 1))  # (N, hidden)
        n_max = max(counts)
        nodes = h.new_zeros(len(boxes), n_max, h.shape[1])
        pad = torch.ones(len(boxes), n_max, dtype=torch.bool, device=h.device)
        start = 0
        for b, c in enumerate(counts):
            nodes[b, :c], pad[b, :c] = h[start:start + c], False
            start += c
        pad[~has, 0] = False  # an image without instances keeps one (zero) node so attention is defined; masked below
        att = self.attention(nodes, src_key_padding_mask=pad)
        w = (~pad).float()[..., None] * has.float()[:, None, None]
        pooled = (att * w).sum(1) / w.sum(1).clamp(min=1)  # mean over the image's instances
        mu, logvar = self.out(pooled).chunk(2, dim=-1)
        return mu, logvar, has


class LatentInjection(nn.Module):
    """f' = Conv1x1([f, tile(z)]) per FPN level, initialised as the authors' code leaves it (PyTorch's default)."""

    def __init__(self, channels: int, z_dim: int, levels: tuple[str, ...]):
        super().__init__()
        self.levels = levels
        self.proj = nn.ModuleDict({name: nn.Conv2d(channels + z_dim, channels, 1) for name in levels})

    def forward(self, features: OrderedDict, z: torch.Tensor) -> OrderedDict:
        out = OrderedDict()
        for name, f in features.items():
            tiled = z[:, :, None, None].expand(-1, -1, *f.shape[-2:])  # z tiled over the level's grid
            out[name] = self.proj[name](torch.cat([f, tiled], 1)) if name in self.proj else f
        return out


def gaussian_kl(mu_q: torch.Tensor, logvar_q: torch.Tensor, mu_p: torch.Tensor, logvar_p: torch.Tensor) -> torch.Tensor:
    """KL(N(μ_q, σ_q²) || N(μ_p, σ_p²)) summed over dimensions, per row:
    ½ Σ [log σ_p² − log σ_q² + (σ_q² + (μ_q − μ_p)²) / σ_p² − 1]."""
    return 0.5 * (logvar_p - logvar_q + (logvar_q.exp() + (mu_q - mu_p) ** 2) / logvar_p.exp() - 1).sum(-1)


def _fpn_backbone(name: str, trainable_layers: int):
    return resnet_fpn_backbone(backbone_name=name, weights=None, trainable_layers=trainable_layers)


def _maskrcnn_kwargs(s: ModelSettings) -> dict:
    return dict(num_classes=s.num_classes, min_size=s.min_size, max_size=s.max_size,
                box_detections_per_img=s.detections_per_img, box_score_thresh=s.box_score_thresh,
                box_batch_size_per_image=s.roi_batch_per_image, rpn_post_nms_top_n_test=s.rpn_test_proposals,
                image_mean=list(s.image_mean), image_std=list(s.image_std))


def _mask_head(s: ModelSettings, model: MaskRCNN) -> MaskRCNN:
    """Narrow the mask head and predictor to ``mask_head_width`` channels (torchvision's layout and parameter names,
    so checkpoints keep their keys); at 256 the model is torchvision's, untouched."""
    if s.mask_head_width != 256:
        from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor

        w = s.mask_head_width
        model.roi_heads.mask_head = MaskRCNNHeads(model.backbone.out_channels, (w, w, w, w), 1)
        model.roi_heads.mask_predictor = MaskRCNNPredictor(w, w, s.num_classes)
    return model


def build_maskrcnn(s: ModelSettings) -> MaskRCNN:
    """The baseline: torchvision's Mask R-CNN with the same backbone and sizes."""
    return _mask_head(s, MaskRCNN(_fpn_backbone(s.backbone, s.trainable_layers), **_maskrcnn_kwargs(s)))


class LatentMaskRCNN(MaskRCNN):
    def __init__(self, s: ModelSettings):
        super().__init__(_fpn_backbone(s.backbone, s.trainable_layers), **_maskrcnn_kwargs(s))
        _mask_head(s, self)
        self.settings = s
        c = self.backbone.out_channels
        self.levels = ("0", "1", "2", "3", "pool")  # p2-p6
        self.prior = Prior(c, s.z_dim, len(self.levels), s.prior_width)
        self.encoder = PosteriorEncoder(c, s.z_dim, s.encoder_roi, s.encoder_width, s.encoder_hidden, s.encoder_layers)
        self.inject = LatentInjection(c, s.z_dim, self.levels)

    def _prior(self, features: OrderedDict) -> tuple[torch.Tensor, torch.Tensor]:
        return self.prior([features[k] for k in self.levels])

    def _decode(self, images: ImageList, features: OrderedDict, z: torch.Tensor, targets=None):
        feats = self.inject(features, z)
        proposals, rpn_losses = self.rpn(images, feats, targets)
        detections, roi_losses = self.roi_heads(feats, proposals, images.image_sizes, targets)
        return detections, {**rpn_losses, **roi_losses}

    def forward(self, images, targets=None, z: torch.Tensor | None = None):
        """Training: Mask R-CNN's losses plus ``loss_kl`` and ``loss_kl_prior``, KL(q || p) seen from the posterior's
        and from the prior's side (unweighted: the trainer multiplies them by β and β_prior). Eval:
        detections decoded with the prior mean (or the given ``z``, shape (B, z_dim))."""
        if self.training and targets is None:
            raise ValueError("Latent-MaskRCNN needs targets in training mode")
        original = [tuple(img.shape[-2:]) for img in images]
        images, targets = self.transform(images, targets)
        features = self.backbone(images.tensors)
        mu_p, logvar_p = self._prior(features)
        if self.training:
            mu_q, logvar_q, has = self.encoder(features, targets, images.image_sizes)
            eps = torch.randn_like(mu_q)
            # drawn from the CPU generator on every device, so a run on another device decodes the same images so
            use_post = (torch.rand(len(mu_q)).to(mu_q.device) < self.settings.posterior_rate) & has
            z_post = mu_q + eps * (0.5 * logvar_q).exp()  # reparameterised sample of q(z|x, y)
            z = torch.where(use_post[:, None], z_post, mu_p)
            w = has.float()
            n = w.sum().clamp(min=1)
            # KL(q || p) split by which side it trains (the gradients of the two terms add up to those of the one KL
            # for q's and p's parameters): the posterior's side with the prior held fixed, and the prior's side with
            # the posterior and the prior's input features held fixed, so a larger weight on the prior's side fits
            # p(z|x) to q without pulling on the posterior or the backbone (the trainer weighs each).
            kl = (gaussian_kl(mu_q, logvar_q, mu_p.detach(), logvar_p.detach()) * w).sum() / n
            mu_p2, logvar_p2 = self.prior([features[k].detach() for k in self.levels])
            kl_prior = (gaussian_kl(mu_q.detach(), logvar_q.detach(), mu_p2, logvar_p2) * w).sum() / n
            self.last_stats = {"logvar_p": float(logvar_p.detach().mean()),
                               "logvar_q": float((logvar_q.detach().mean(1) * w).sum() / n)}
            _, losses = self._decode(images, features, z, targets)
            return {**losses, "loss_kl": kl, "loss_kl_prior": kl_prior}
        z = mu_p if z is None else z  # §IV-D: decode the prior mean
        detections, _ = self._decode(images, features, z)
        return self.transform.postprocess(detections, images.image_sizes, original)

    @torch.no_grad()
    def sample(self, images, k: int, generator: torch.Generator | None = None) -> list[list[dict]]:
        """``k`` decodings per image with z ~ p(z|x): one backbone and prior pass, the k latents batched through
        injection, RPN and heads. Returns, per image, its k detection dicts (sample order)."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if self.training:
            raise ValueError("sample() decodes detections: put the model in eval mode first (model.eval())")
        original = [tuple(img.shape[-2:]) for img in images]
        images, _ = self.transform(images)
        features = self.backbone(images.tensors)
        mu, logvar = self._prior(features)
        b = len(mu)
        eps = torch.randn((k, b, mu.shape[1]), generator=generator).to(mu.device)  # a CPU generator's stream
        z = (mu[None] + eps * (0.5 * logvar).exp()[None]).reshape(k * b, -1)  # sample-major: row s*b + i
        feats = OrderedDict((n, f.repeat(k, 1, 1, 1)) for n, f in features.items())
        t = images.tensors
        batch = ImageList(t[:1].expand(k * b, *t.shape[1:]), list(images.image_sizes) * k)  # anchors need sizes only
        detections, _ = self._decode(batch, feats, z)
        detections = self.transform.postprocess(detections, batch.image_sizes, original * k)
        return [[detections[s * b + i] for s in range(k)] for i in range(b)]


def load_backbone(model: MaskRCNN, checkpoint: str | Path) -> int:
    """Load the backbone (``backbone.body.*``, ``backbone.fpn.*``) of a Mask R-CNN-layout checkpoint: the shared
    stand-in (``pretrained_backbone`` stage) or torchvision's COCO ``maskrcnn_resnet50_fpn`` file. Returns the number
    of tensors loaded; raises naming the file when none match."""
    from ..common import checkpoints

    state = checkpoints.load(checkpoint, stage="pretrained_backbone", required=(), kind="pretrained checkpoint")
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    own = model.state_dict()
    picked = {k: v for k, v in state.items() if k.startswith("backbone.") and k in own and own[k].shape == v.shape}
    needed = [k for k in own if k.startswith("backbone.") and not k.endswith("num_batches_tracked")]
    missing = [k for k in needed if k not in picked]
    if not picked or missing:
        raise ValueError(f"checkpoint {checkpoint} does not hold this model's backbone ({len(missing)} of {len(needed)} "
                         f"tensors missing or of another shape, e.g. {', '.join(missing[:3])})")
    model.load_state_dict(picked, strict=False)
    return len(picked)
