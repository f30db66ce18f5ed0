"""Training one fastseg network: the three losses end to end (§III-A, §IV-A).

The paper gives the losses and their constants but not the optimiser or schedule; ours: Adam (lr ``lr``, weight
decay ``weight_decay``), a linear warm-up over the first 5 % of the steps and a polynomial decay (power 0.9, the
usual schedule of segmentation networks) to the end, batches drawn by a generator seeded by (seed, step) with random
horizontal flips. The centre loss's positives are the frame set's centre blobs (``FrameSet.centre_radius_px``; 0: one
element per instance). Class weights (eq. (2)) come from the training targets at the model's decoder stride. Nothing
volatile is recorded: the history is losses per step.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from .dataset import FrameSet
from .losses import LossSettings, total_loss


@dataclasses.dataclass(frozen=True)
class TrainSettings:
    steps: int = 1000
    batch_size: int = 4
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_fraction: float = 0.05
    flip: bool = True
    seed: int = 0

    def lr_at(self, step: int) -> float:
        warm = max(1, int(self.warmup_fraction * self.steps))
        if step < warm:
            return self.lr * (step + 1) / warm
        return self.lr * (1 - (step - warm) / max(1, self.steps - warm)) ** 0.9


def batch(ds: FrameSet, step: int, k: int, s: TrainSettings):
    rng = np.random.default_rng([s.seed, step])
    idx = rng.integers(0, len(ds), s.batch_size)
    flips = (rng.random(s.batch_size) < 0.5) & s.flip
    samples = [ds.sample(int(i), k, bool(f)) for i, f in zip(idx, flips)]
    x = torch.stack([smp.image for smp in samples])
    t = [smp.targets for smp in samples]
    return (x, torch.from_numpy(np.stack([a.semantic for a in t])), torch.from_numpy(np.stack([a.instance for a in t])),
            torch.from_numpy(np.stack([a.centre for a in t])), torch.from_numpy(np.stack([a.centre_blob for a in t])))


def train(model: torch.nn.Module, ds: FrameSet, s: TrainSettings, weights: torch.Tensor,
          losses: LossSettings = LossSettings(), live=None) -> list[dict]:
    if len(ds) == 0:
        raise ValueError("fastseg: no training frames")
    torch.manual_seed(s.seed)
    k = model.settings.dec_os
    opt = torch.optim.Adam(model.parameters(), lr=s.lr, weight_decay=s.weight_decay)
    model.train()
    history = []
    for step in range(s.steps):
        x, sem, inst, centre, blob = batch(ds, step, k, s)
        for g in opt.param_groups:
            g["lr"] = s.lr_at(step)
        terms = total_loss(model(x), sem, inst, centre, weights, losses, centre_target=blob)
        opt.zero_grad()
        terms["total"].backward()
        opt.step()
        rec = {"step": step + 1, "lr": s.lr_at(step), **{n: float(v.detach()) for n, v in terms.items()}}
        history.append(rec)
        if live is not None:
            for n in ("total", "semantic", "centre", "embedding"):
                live.log_metric(f"train/{n}", rec[n])
            live.next_step()
    model.eval()
    return history
