"""Table II's two loss baselines (§V-A), as changes to Mask2Former's criterion.

**Single-Object-100** (§V-A.1): "supervise only on the grasped object. With the Mask2Former loss, this can
be done by using only the predicted grasp segmentation in the Hungarian matching and ignoring the "no
object" loss term. We combine single-object supervision from the Grasp-100 model with full supervision from
the training set at a 50:50 ratio." A single-object batch carries one mask per image (the grasp
segmentation's), and :func:`no_object_term` sets the no-object class weight to 0 for it: Mask2Former's
classification loss is a weighted mean, so only the matched query then contributes.

**Robust set loss** (§V-A.2, Pathak et al. 2018): "the robust set loss ... requires the predicted mask to be
within only a margin of the ground truth mask. Given a predicted mask, the robust set loss will use a
discrete optimization to find the closest target mask that is within some IOU margin with the ground
truth. We use ... IOU threshold 0.7 and replace the Mask2Former mask loss with the robust set loss."

:func:`robust_targets` is that optimisation, in the form public code gives it (a label-refinement loop on
the predicted logits; the step 0.1 and the limit of 25 iterations are that code's): while a matched
prediction's mask has IoU <= the threshold with its (noisy) target, move the logits by one step — up
inside the target if that alone raises the IoU, else down outside it if that alone does, else both — and
stop at the threshold. The refined binary mask (the prediction nudged just far enough to be within the
margin) replaces the target in Mask2Former's mask and dice losses; a prediction the loop cannot bring within
the margin in ``max_iter`` steps is supervised with the noisy target itself (always within the margin). A prediction already within the margin
is its own target: no gradient pushes it further towards the noisy label.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

PAPER_IOU_THRESHOLD = 0.7  # graspseg §V-A.2
STEP = 0.1  # public code's logit step
MAX_ITER = 25  # public code's iteration limit


def _iou(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    inter = (pred & target).flatten(1).sum(1).float()
    union = (pred | target).flatten(1).sum(1).float().clamp(min=1)
    return inter / union


@torch.no_grad()
def robust_targets(logits: torch.Tensor, targets: torch.Tensor, iou_threshold: float = PAPER_IOU_THRESHOLD,
                   step: float = STEP, max_iter: int = MAX_ITER) -> torch.Tensor:
    """Refined boolean targets (K, H, W) for prediction ``logits`` (K, H, W) and noisy ``targets`` (K, H, W)."""
    if logits.shape != targets.shape:
        raise ValueError(f"robust set loss: logits {tuple(logits.shape)} and targets {tuple(targets.shape)} differ")
    z = logits.detach().clone().float()
    t = targets.bool()
    inside = t.float()
    outside = (~t).float()
    for _ in range(max_iter):
        base = _iou(z > 0, t)
        todo = base <= iou_threshold
        if not todo.any():
            break
        w = todo.float()[:, None, None]
        up_in = z + step * inside * w
        down_out = z - step * outside * w
        better_in = _iou(up_in > 0, t) > base
        better_out = _iou(down_out > 0, t) > base
        move_in = (todo & (better_in | ~better_out)).float()[:, None, None]  # in alone, or both
        move_out = (todo & (~better_in)).float()[:, None, None]  # out alone, or both
        z = z + step * inside * move_in - step * outside * move_out
    out = z > 0
    # not within the margin after max_iter steps (a confident prediction far from its target): the noisy
    # target itself is the closest mask we found that is within the margin (its IoU with itself is 1)
    stuck = _iou(out, t) <= iou_threshold
    out[stuck] = t[stuck]
    return out


def robust_criterion(model, iou_threshold: float = PAPER_IOU_THRESHOLD):
    """Replace ``model.criterion``'s mask loss by the robust set loss (matching and class loss unchanged)."""
    from transformers.models.mask2former.modeling_mask2former import Mask2FormerLoss

    class RobustSetLoss(Mask2FormerLoss):
        def loss_masks(self, masks_queries_logits, mask_labels, indices, num_masks):
            src = self._get_predictions_permutation_indices(indices)
            tgt = self._get_targets_permutation_indices(indices)
            refined = [m.clone() for m in mask_labels]
            if len(src[0]):
                with torch.no_grad():
                    size = mask_labels[0].shape[-2:]
                    pred = F.interpolate(masks_queries_logits[src][:, None].detach().float(), size=size,
                                         mode="bilinear", align_corners=False)[:, 0]
                    target = torch.stack([mask_labels[b][j] for b, j in zip(*tgt)]) > 0.5
                    new = robust_targets(pred, target, iou_threshold)
                for k, (b, j) in enumerate(zip(*tgt)):
                    refined[b][j] = new[k].to(refined[b].dtype)
            return super().loss_masks(masks_queries_logits, refined, indices, num_masks)

    old = model.criterion
    crit = RobustSetLoss(config=model.config, weight_dict=old.weight_dict)
    crit.load_state_dict(old.state_dict())
    model.criterion = crit
    return model


@contextlib.contextmanager
def no_object_term(model, off: bool = True):
    """Within the block, the "no object" class weight of the classification loss is 0 (if ``off``)."""
    crit = model.criterion
    saved = crit.empty_weight
    if off:
        w = saved.clone()  # a new tensor: the loss graph keeps it, so restoring the old one cannot corrupt backward
        w[-1] = 0.0
        crit.empty_weight = w
    try:
        yield model
    finally:
        crit.empty_weight = saved
