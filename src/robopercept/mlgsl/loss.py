"""mlgsl §III-B and §IV-B: the maximum likelihood grasp sampling loss and its three baselines.

Notation: the network gives a raw quality output ``z``; the MLGSL variants read it as ``Q̂ = σ(z)``
(non-negative, as eq. (3) needs), ImgMSE as ``Q̂ = z`` (GG-CNN's linear head; see
:data:`robopercept.mlgsl.model.QUALITY_HEAD`), angle maps ``ĉ = cos 2Φ̂``, ``ŝ = sin 2Φ̂`` and a width map ``Ŵ``.
An image has ``k`` labels ``g̃_i = (p̃_i, φ̃_i, w̃_i)``; a batch pads them to the same ``k`` and marks
the real ones in ``valid``.

* **MLGSL**, eq. (3): ``Σ_i −log P(p̃_i | Q̂) + MSE(φ̂_i, φ̃_i) + MSE(ŵ_i, w̃_i)`` with the
  categorical pixel-selection model ``P(p | Q̂) = Q̂_p / Σ_q Q̂_q``. In logs:
  ``log P(p) = log σ(z_p) − logsumexp_q log σ(z_q)``, computed that way for stability. The angle
  MSE is taken on the ``(cos 2φ, sin 2φ)`` encoding the network predicts:
  ``(ĉ − cos 2φ̃)² + (ŝ − sin 2φ̃)²``. Unlabeled pixels get no target at all — they only enter
  through the normaliser ``Σ Q̂``.
* **MLGSL+Log**: ``Σ_i −log P(p̃_i | Q̂) + log MSE_φ,i + log MSE_w,i`` (the MSEs replace the
  densities of eq. (2c) inside the log; ``LOG_EPS`` keeps the log finite).
* **PixMSE**: ``Σ_i (q̂_i − 1)² + MSE_φ,i + MSE_w,i`` — supervision only at labeled pixels.
* **ImgMSE** (GG-CNN, [15]): ``MSE(Q̂, Q̄) + MSE(Ĉ, C̄) + MSE(Ŝ, S̄) + MSE(Ŵ, W̄)`` over every pixel,
  each term a plain mean and weighted 1, on GG-CNN's *linear* outputs (its ``compute_loss``), with
  the label maps of :func:`imgmse_targets` (Q̄ = 1 inside a compact rectangle per label — the
  middle third of the grasp along the closing direction, one jaw wide — and 0 elsewhere, i.e.
  every unlabeled pixel is a negative). Until session 4 this baseline put a sigmoid on Q̂; with
  mostly-zero targets that saturates at 0 and its gradient vanishes (ImgMSE never left the zero map
  with 2 or 4 labels), which is not the baseline as its authors built it.

The three per-label losses sum over the labels of an image (as eq. (3) writes) and average over
the images of the batch.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch.nn import functional as F

from ..formats.jacquard import GraspRect
from .grasps import rasterize

LOSSES = ("MLGSL", "ImgMSE", "MLGSL+Log", "PixMSE")
LOG_EPS = 1e-3


def _gather(maps: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """maps B x H x W, rows/cols B x K (long) -> B x K."""
    b, h, w = maps.shape
    return maps.reshape(b, h * w).gather(1, rows * w + cols)


def log_selection_probability(logits: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """``log P(p | Q̂)`` at the labeled pixels (B x K) for Q̂ = σ(logits)."""
    log_q = F.logsigmoid(logits)
    log_norm = torch.logsumexp(log_q.flatten(1), dim=1, keepdim=True)  # log Σ_q Q̂_q
    return _gather(log_q, rows, cols) - log_norm


def _label_errors(out, labels) -> tuple[torch.Tensor, torch.Tensor]:
    _, cos, sin, width = out
    r, c = labels["rows"], labels["cols"]
    err_phi = (_gather(cos, r, c) - labels["cos"]) ** 2 + (_gather(sin, r, c) - labels["sin"]) ** 2
    err_w = (_gather(width, r, c) - labels["width"]) ** 2
    return err_phi, err_w


def _per_image(terms: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    return (terms * valid).sum(1).mean()


def mlgsl_loss(out, labels) -> torch.Tensor:
    """Eq. (3)."""
    nll = -log_selection_probability(out[0], labels["rows"], labels["cols"])
    err_phi, err_w = _label_errors(out, labels)
    return _per_image(nll + err_phi + err_w, labels["valid"])


def mlgsl_log_loss(out, labels) -> torch.Tensor:
    """MLGSL+Log (§IV-B.2)."""
    nll = -log_selection_probability(out[0], labels["rows"], labels["cols"])
    err_phi, err_w = _label_errors(out, labels)
    return _per_image(nll + torch.log(err_phi + LOG_EPS) + torch.log(err_w + LOG_EPS), labels["valid"])


def pixmse_loss(out, labels) -> torch.Tensor:
    """PixMSE (§IV-B.3)."""
    q = torch.sigmoid(_gather(out[0], labels["rows"], labels["cols"]))
    err_phi, err_w = _label_errors(out, labels)
    return _per_image((q - 1) ** 2 + err_phi + err_w, labels["valid"])


def imgmse_loss(out, labels) -> torch.Tensor:
    """ImgMSE (§IV-B.1): dense MSE against the label maps."""
    q, cos, sin, width = out  # GG-CNN's head is linear: Q̂ = z
    t = labels["maps"]  # B x 4 x H x W: Q̄, C̄, S̄, W̄
    return F.mse_loss(q, t[:, 0]) + F.mse_loss(cos, t[:, 1]) + F.mse_loss(sin, t[:, 2]) + F.mse_loss(width, t[:, 3])


LOSS_FUNCTIONS: dict[str, Callable] = {"MLGSL": mlgsl_loss, "ImgMSE": imgmse_loss, "MLGSL+Log": mlgsl_log_loss,
                                       "PixMSE": pixmse_loss}


def imgmse_targets(grasps: list[GraspRect], shape: tuple[int, int], width_norm_px: float) -> np.ndarray:
    """GG-CNN's label maps (4 x H x W float32): inside the compact rectangle of each label
    (length opening/3, one jaw wide; pixels whose centre is inside), Q̄ = 1, C̄ = cos 2φ, S̄ = sin 2φ, W̄ = opening / width_norm_px;
    0 elsewhere. Later labels overwrite earlier ones where they overlap."""
    out = np.zeros((4, *shape), np.float32)
    for g in grasps:
        compact = GraspRect(g.row, g.col, g.angle, g.opening / 3, g.jaw)
        m = rasterize(compact.corners(), shape)
        if not m.any():  # tiny rectangle: at least its centre pixel
            r, c = int(round(g.row)), int(round(g.col))
            if 0 <= r < shape[0] and 0 <= c < shape[1]:
                m[r, c] = True
        out[0][m] = 1.0
        out[1][m] = np.cos(2 * g.angle)
        out[2][m] = np.sin(2 * g.angle)
        out[3][m] = g.opening / width_norm_px
    return out
