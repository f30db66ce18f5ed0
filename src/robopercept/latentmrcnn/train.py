"""§III training of Mask R-CNN and Latent-MaskRCNN: detectron2's recipe, scaled, and the KL warm-up.

The authors train with detectron2 (docs/reference/latentmrcnn_reference_code.md §7): SGD, momentum 0.9, weight
decay 1e-4, base lr 0.02 at batch 16 with a linear warm-up and steps of x0.1; horizontal flips. The KL term
(loss (3), "β = 0 early in training, increased towards the end") is in their code a second run from the first
run's weights with β switched on (§4: 1e-5 for Apparel and Cityscapes, 1e-4 for COCO). Here one run does both:
β = 0 for ``step < kl_start``, then ``beta`` — the same schedule without the checkpoint hand-over. Mask R-CNN
trains with the same loop (it has no ``loss_kl``).

The KL trains two things: it pulls the posterior q towards the prior (weight β, small so z can carry information),
and it is the prior's only training signal for its variance ("DKL(q||p(z|x)) ensures the prior has good coverage
over the encoder distribution", §III-B). With β = 1e-5 that signal needs the authors' 45k steps; in a short run the
prior's σ would stay at its initial 1 and test-time samples would come from a spread nothing was fitted to. So the
two sides are weighted apart: ``beta`` on the posterior's side, ``prior_beta`` on the prior's (the prior's input
features held fixed, so it only moves the prior). With ``prior_beta == beta`` the gradients on q's and p's
parameters are the paper's loss (3)'s; only the KL's ~1e-5-weighted gradient into the backbone through the prior is
left out.


Batches are drawn from a generator seeded by (seed, step) and the model's own randomness (which images decode a
posterior sample, the reparameterisation noise) from torch's generator seeded once, so a rerun gives the same
weights (a test checks it) and a batch does not depend on what ran before it.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from .data import InstanceSet


@dataclasses.dataclass(frozen=True)
class TrainSettings:
    steps: int = 400
    batch_size: int = 2
    lr: float = 0.01  # detectron2: 0.02 at batch 16
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup: int = 50  # linear warm-up steps (detectron2: 1000 at 90k)
    decay_at: tuple[float, ...] = (2 / 3, 8 / 9)  # lr x0.1 at these fractions of ``steps`` (detectron2's 1x)
    beta: float = 1e-5  # KL weight once on (authors: 1e-5 Apparel, 1e-4 COCO)
    kl_start: float = 0.5  # fraction of ``steps`` trained with β = 0
    prior_beta: float = 1e-5  # weight of the KL's prior side (the paper's loss: = beta); same schedule as beta
    flip: bool = True
    seed: int = 0

    def __post_init__(self):
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError("steps and batch_size must be >= 1")
        if self.lr <= 0 or self.beta < 0 or self.prior_beta < 0 or not 0 <= self.kl_start <= 1:
            raise ValueError("lr must be > 0, beta and prior_beta >= 0 and kl_start in [0, 1]")

    def lr_at(self, step: int) -> float:
        warm = min(1.0, (step + 1) / self.warmup) if self.warmup > 0 else 1.0
        decay = 0.1 ** sum(step >= math.floor(f * self.steps) for f in self.decay_at)
        return self.lr * warm * decay

    def beta_at(self, step: int) -> float:
        return self.beta if step >= math.floor(self.kl_start * self.steps) else 0.0


def batch_indices(n: int, step: int, s: TrainSettings) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([s.seed, step])
    return rng.integers(0, n, s.batch_size), (rng.random(s.batch_size) < 0.5) & s.flip


def train(model: torch.nn.Module, ds: InstanceSet, s: TrainSettings, live=None) -> list[dict]:
    """Train ``model`` in place for ``s.steps`` steps; returns the per-step history (losses, lr, β)."""
    if len(ds) == 0:
        raise ValueError(f"{ds.path}: no training images")
    torch.manual_seed(s.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay)
    history = []
    model.train()
    for step in range(s.steps):
        idx, flips = batch_indices(len(ds), step, s)
        images, targets = zip(*(ds.item(int(i), bool(f)) for i, f in zip(idx, flips)))
        for g in opt.param_groups:
            g["lr"] = s.lr_at(step)
        losses = model(list(images), list(targets))
        kl = losses.pop("loss_kl", None)
        kl_prior = losses.pop("loss_kl_prior", None)
        beta = s.beta_at(step)
        prior_beta = s.prior_beta if beta > 0 else 0.0
        detection = sum(losses.values())
        # loss (3): L_M + β·KL, its two sides weighted apart (module docstring). The KL is left out of the graph while
        # β = 0: it has no weight, and an early inf cannot turn the gradients into NaN.
        total = detection
        if kl is not None and beta > 0:
            total = total + beta * kl + prior_beta * kl_prior
        if not torch.isfinite(total):
            raise FloatingPointError(f"training diverged at step {step + 1} (lr {s.lr_at(step):.2g}): loss "
                                     f"{float(detection):.3g}, terms {({k: round(float(v), 3) for k, v in losses.items()})}; "
                                     "lower latentmrcnn_train.lr (detectron2: 0.02 at batch 16, scaled linearly)")
        opt.zero_grad()
        total.backward()
        opt.step()
        rec = {"step": step + 1, "loss": float(detection.detach()), "lr": s.lr_at(step), "beta": beta,
               **{k: float(v.detach()) for k, v in losses.items()}}
        if kl is not None:
            rec["kl"] = float(kl.detach())
            rec["prior_beta"] = prior_beta
            rec.update(getattr(model, "last_stats", {}))  # mean log σ² of prior and posterior
        history.append(rec)
        if live is not None:
            for k in ("loss", "kl"):
                if k in rec:
                    live.log_metric(f"train/{k}", rec[k])
            live.next_step()
    model.eval()
    return history
