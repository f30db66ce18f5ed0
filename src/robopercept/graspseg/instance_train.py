"""§V training of Table II's instance segmentation models: batch sources and the early-stopped loop.

"We train and evaluate on the dataset from Section IV-A and use early stopping to prevent overfitting."
(§V-A). The optimiser is Mask2Former's own recipe (its public configs): AdamW, learning rate 1e-4 with
the backbone's multiplied by 0.1, weight decay 0.05, full-model gradient-norm clipping at 0.01, and the
backbone's BatchNorm frozen (detectron2's FrozenBN). Early
stopping: validation mask AP every ``eval_every`` steps, stop after ``patience`` evaluations without a
new best — but never before ``min_steps`` (a warm-up: a model whose first evaluations all sit at AP 0 has
not started to learn yet, and stopping it there reports a row that never trained) — keep the best weights.

A row of Table II is a *batch source* — what one training batch holds — and these settings:

* :class:`LabeledBatches` — labeled images and all their instances (Mask2Former-100/-1000);
* :class:`PasteBatches` — a labeled image with 0–25 pasted crops (Paste-*), optionally inpainted;
* :class:`AlternatingBatches` — 50:50 alternation of two sources (Single-Object-100: full supervision,
  then a batch of unlabeled grasps with only the grasped object's predicted mask, ``single_object``).

Every source draws batch ``step`` from a generator seeded by (seed, step), so a batch does not depend on
what ran before it. All sources flip images horizontally and vertically at random (ours: Mask2Former's
COCO recipe uses large-scale jitter, which at 160x240 would shrink objects below a few pixels).
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Callable, Protocol, Sequence

import numpy as np
import torch

from .instance_eval import area_ranges, average_precision, match_images
from .instance_losses import no_object_term
from .instance_model import InstanceModelSettings, build, predict, targets
from .paste import PasteSampler


@dataclasses.dataclass
class Batch:
    images: np.ndarray  # (B, H, W, 3) uint8
    masks: list[np.ndarray]  # per image (K, H, W) bool
    single_object: bool = False  # supervise the given mask only; no "no object" term
    # per image (K,) bool: True where the instance's mask is a noisy label (a pasted crop's or a grasp's predicted
    # mask), False where it is a human label; None: every instance is a human label (labeled batches)
    noisy: list[np.ndarray] | None = None


class BatchSource(Protocol):
    def batch(self, step: int, size: int) -> Batch: ...


def _flip(rng: np.random.Generator, image: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if rng.random() < 0.5:
        image, masks = image[:, ::-1], masks[:, :, ::-1]
    if rng.random() < 0.5:
        image, masks = image[::-1], masks[:, ::-1]
    return np.ascontiguousarray(image), np.ascontiguousarray(masks)


class LabeledBatches:
    """Random labeled images (with replacement) and all their instances."""

    def __init__(self, images: Sequence[tuple[np.ndarray, np.ndarray]], seed: int, single_object: bool = False):
        if not images:
            raise ValueError("no labeled training images for the instance segmentation model")
        self.images, self.seed, self.single_object = images, seed, single_object

    def batch(self, step: int, size: int) -> Batch:
        rng = np.random.default_rng([self.seed, step])
        out_i, out_m = [], []
        for _ in range(size):
            img, masks = self.images[int(rng.integers(len(self.images)))]
            img, masks = _flip(rng, img, masks)
            out_i.append(img)
            out_m.append(masks)
        # single-object batches carry Grasp-100's predicted mask of the grasped object: a noisy label
        noisy = [np.ones(len(m), bool) for m in out_m] if self.single_object else None
        return Batch(np.stack(out_i), out_m, self.single_object, noisy=noisy)


class PasteBatches:
    """Cut-and-paste samples (§III-B.2), optionally inpainted along the pasted boundaries (§III-B.3)."""

    def __init__(self, sampler: PasteSampler, inpainter: Callable | None = None, radius: int = 1):
        self.sampler, self.inpainter, self.radius = sampler, inpainter, radius

    def batch(self, step: int, size: int) -> Batch:
        from .inpaint import inpaint_mask

        out_i, out_m, out_n = [], [], []
        for j in range(size):
            res = self.sampler.sample(step, j)
            img = res.image
            if self.inpainter is not None and res.boundary.any():
                seed = int(np.random.default_rng([self.sampler.seed, step, j, 2]).integers(2 ** 31))
                img = self.inpainter(img, inpaint_mask(res.boundary, self.radius), seed=seed)
            img, masks = _flip(np.random.default_rng([self.sampler.seed, step, j, 1]), img, res.masks)
            out_i.append(img)
            out_m.append(masks)
            out_n.append(np.asarray(res.pasted, bool))
        return Batch(np.stack(out_i), out_m, noisy=out_n)


class AlternatingBatches:
    """Even steps from ``first``, odd steps from ``second`` (a 50:50 ratio)."""

    def __init__(self, first: BatchSource, second: BatchSource):
        self.first, self.second = first, second

    def batch(self, step: int, size: int) -> Batch:
        return (self.first if step % 2 == 0 else self.second).batch(step // 2, size)


@dataclasses.dataclass(frozen=True)
class InstanceTrainSettings:
    """Mask2Former's COCO instance recipe, as facebookresearch/Mask2Former's configs give it
    (``configs/coco/instance-segmentation/Base-COCO-InstanceSegmentation.yaml``: AdamW, ``BASE_LR`` 1e-4,
    ``BACKBONE_MULTIPLIER`` 0.1, ``WEIGHT_DECAY`` 0.05, ``CLIP_GRADIENTS`` full model at 0.01, ``IMS_PER_BATCH`` 16;
    ``maskformer2_R50_bs16_50ep.yaml``: class / mask / dice loss weights 2 / 5 / 5, no-object weight 0.1, 12544
    sampled points, 100 queries, 10 decoder layers — the model side is :class:`InstanceModelSettings`). Left out:
    its ``WARMUP_FACTOR`` 1.0 makes the warm-up a constant learning rate, which is what we train with; its step
    decays at 89 % and 96 % of 368,750 iterations never arrive within our step budgets, so there is no schedule.
    ``min_steps`` and early stopping on validation AP are ours (the paper names neither)."""

    lr: float = 1e-4  # Mask2Former: AdamW 1e-4, backbone x0.1, weight decay 0.05, clip 0.01 (full model)
    backbone_lr_mult: float = 0.1
    weight_decay: float = 0.05
    clip_norm: float = 0.01
    batch_size: int = 4
    max_steps: int = 300
    eval_every: int = 50
    patience: int = 3
    min_steps: int = 0  # warm-up: early stopping may end training only from this step on
    seed: int = 0

    def __post_init__(self):
        if self.max_steps < 1 or self.batch_size < 1 or self.patience < 1:
            raise ValueError("instance training: max_steps, batch_size and patience must be >= 1")
        if not 0 <= self.min_steps <= self.max_steps:
            raise ValueError(f"instance training: min_steps must be in 0..max_steps, got {self.min_steps}")
        if not 1 <= self.eval_every <= self.max_steps:
            raise ValueError(f"instance training: eval_every must be in 1..max_steps, got {self.eval_every}")


def to_pixels(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255


def predict_images(model, images: Sequence[np.ndarray], batch_size: int = 8) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for i in range(0, len(images), batch_size):
        for inst in predict(model, to_pixels(np.stack(images[i:i + batch_size]))):
            out.append((inst.masks, inst.scores))
    return out


def validation_ap(model, val: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
    h, w = val[0][0].shape[:2]
    preds = predict_images(model, [img for img, _ in val])
    return average_precision(match_images(preds, [m for _, m in val], area_ranges(h, w)))


def optimizer(model, s: InstanceTrainSettings) -> torch.optim.Optimizer:
    backbone = [p for n, p in model.named_parameters() if ".pixel_level_module.encoder." in f".{n}" and p.requires_grad]
    ids = {id(p) for p in backbone}
    rest = [p for p in model.parameters() if id(p) not in ids and p.requires_grad]
    return torch.optim.AdamW([{"params": backbone, "lr": s.lr * s.backbone_lr_mult}, {"params": rest, "lr": s.lr}],
                             weight_decay=s.weight_decay)


def train_instance_model(model_settings: InstanceModelSettings, s: InstanceTrainSettings, source: BatchSource,
                         val: Sequence[tuple[np.ndarray, np.ndarray]], init_checkpoint=None,
                         robust_iou: float | None = None, robust_targets: str = "pasted",
                         live=None) -> tuple[object, list[dict]]:
    """Train; return the model at its best validation AP and the history (one row per evaluation).

    ``robust_iou``: train with the robust set loss at this IoU margin (None: Mask2Former's own mask loss).
    ``robust_targets``: which matched targets the robust set loss refines — ``"pasted"``: the pasted crops' masks
    only (the noisy labels, :attr:`Batch.noisy`); a labeled image's own instances keep Mask2Former's mask loss
    towards their human labels; ``"all"``: every matched target, labeled or pasted (the literal reading of
    §V-A.2's "replace the Mask2Former mask loss")."""
    if robust_targets not in ("pasted", "all"):
        raise ValueError(f"robust_targets must be 'pasted' or 'all', got {robust_targets!r}")
    from .instance_losses import robust_criterion
    from .instance_model import freeze_backbone_batchnorm, load_standin_backbone

    if not val:
        raise ValueError("no validation images for early stopping")
    model = build(model_settings, seed=s.seed)
    if init_checkpoint is not None:
        load_standin_backbone(model, init_checkpoint)
    if robust_iou is not None:
        robust_criterion(model, robust_iou)
    freeze_backbone_batchnorm(model)
    opt = optimizer(model, s)
    best, best_state, bad, history, losses = -1.0, None, 0, [], []
    for step in range(1, s.max_steps + 1):
        model.train()
        freeze_backbone_batchnorm(model)
        b = source.batch(step - 1, s.batch_size)
        ml, cl = targets(b.masks)
        if robust_iou is not None:  # which targets the robust set loss may refine in this batch
            model.criterion.refine = None if robust_targets == "all" else [
                torch.from_numpy(np.zeros(len(m), bool) if b.noisy is None else np.asarray(n, bool))
                for m, n in zip(b.masks, b.noisy or [None] * len(b.masks))]
        with no_object_term(model, off=b.single_object):
            out = model(pixel_values=to_pixels(b.images), mask_labels=ml, class_labels=cl)
        opt.zero_grad()
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), s.clip_norm)
        opt.step()
        losses.append(float(out.loss.detach()))
        if live is not None:
            live.log_metric("train/loss", losses[-1])
        if step % s.eval_every == 0 or step == s.max_steps:
            ap = validation_ap(model, val)
            history.append({"step": step, "train_loss": float(np.mean(losses[-s.eval_every:])), "val_AP": 100 * ap})
            counts = getattr(model.criterion, "robust_counts", None)
            if counts is not None:  # the robust set loss: share of refined predictions left outside the margin
                # (NaN when the interval refined nothing: no pasted target was matched)
                history[-1]["robust_unresolved_pct"] = 100 * counts[1] / counts[0] if counts[0] else float("nan")
                counts[:] = [0, 0]
            if live is not None:
                live.log_metric("val/AP", 100 * ap)
            if ap > best:
                best, best_state, bad = ap, copy.deepcopy(model.state_dict()), 0
            else:
                bad += 1
                if bad >= s.patience and step >= s.min_steps:
                    if live is not None:
                        live.next_step()
                    break
        if live is not None:
            live.next_step()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return model, history
