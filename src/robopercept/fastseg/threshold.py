"""The centre threshold of §III-B: what the paper's centre loss lets the head reach, and a threshold chosen on
training frames (a labelled departure).

    "we extract all grid elements that have a center confidence over 0.7" (§III-B), with the centre head trained by
    eq. (5), "π = 0.1, α = 0.01 and γ = 2" (§III-A.4).

**How confident can the head be?** Take an element that is a centre with probability ``q`` given what the network
sees (one element per instance is a centre: its neighbours look almost the same). Eq. (5)'s expected loss there,

    L(p) = q α (1 − p)^γ (−log p) + (1 − q)(1 − α) p^γ (−log(1 − p)),

is smallest where dL/dp = 0; solved for ``q`` this gives the certainty the head must have before its optimum output
reaches ``p`` (:func:`certainty_for`). With the paper's α = 0.01 and γ = 2, an output of 0.7 needs q ≥ 0.99896: the
paper's loss, read as printed, lets an element pass the paper's threshold only when the network is all but sure it is
*the* centre element. A trained network whose centres are blobs (the paper: "the CNN usually outputs blobs") would
put q well below that on each element of a blob — so either the paper's targets or α's convention differ from the
printed text, or its networks were far more certain than ours can be at the cpu profile's training length.

**The departure.** Besides the paper's 0.7, the evaluation notebook runs each of our rows with a threshold chosen on
*training* frames (never validation): per row, the threshold of the grid that maximises the F1 score of centre
detection pooled over seeds (:func:`centre_detection`, :func:`choose_threshold`). A detected centre (a kept centre of
the post-processing, steps 1–2 of :mod:`.postprocess`) is a true positive when its element lies on a ground-truth grid
instance of its class that no better-scoring centre took; every other centre is a false positive; ground-truth grid
instances left without a centre are false negatives. Ties go to the higher threshold (the nearer to the paper's).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from .dataset import FrameSet
from .postprocess import PostSettings, centres


def certainty_for(p: float, alpha: float, gamma: float) -> float:
    """The probability ``q`` of an element being a centre at which eq. (5)'s expected loss is smallest at output ``p``.

    dL/dp = 0  ⇔  q α A(p) = (1 − q)(1 − α) B(p), with A = γ(1 − p)^(γ−1)(−log p) + (1 − p)^γ / p (the positive term's
    slope, negated) and B = γ p^(γ−1)(−log(1 − p)) + p^γ / (1 − p) (the negative term's slope)."""
    if not 0 < p < 1 or not 0 < alpha < 1 or gamma < 0:
        raise ValueError(f"certainty_for needs 0 < p < 1, 0 < alpha < 1, gamma >= 0 (got {p}, {alpha}, {gamma})")
    a = gamma * (1 - p) ** (gamma - 1) * -math.log(p) + (1 - p) ** gamma / p if gamma else 1 / p
    b = gamma * p ** (gamma - 1) * -math.log(1 - p) + p ** gamma / (1 - p) if gamma else 1 / (1 - p)
    odds = (1 - alpha) * b / (alpha * a)
    return odds / (1 + odds)


def _match(found: list[tuple[int, float, int]], instance: np.ndarray, instance_class: np.ndarray) -> tuple[int, int, int]:
    """(tp, fp, fn) of one frame's centres against its grid targets (``instance`` (h, w), 0 = none, 1..n)."""
    flat = instance.ravel()
    taken: set[int] = set()
    tp = 0
    for c, _, idx in sorted(found, key=lambda t: (-t[1], t[2])):
        i = int(flat[idx])
        if i > 0 and int(instance_class[i - 1]) == c and i not in taken:
            taken.add(i)
            tp += 1
    return tp, len(found) - tp, len(instance_class) - tp


@torch.no_grad()
def centre_detection(models: Sequence, ds: FrameSet, thresholds: Sequence[float], post: PostSettings) -> pd.DataFrame:
    """Centre detection counts of every model (one per seed) on every frame of ``ds`` at every threshold: one row per
    (threshold, seed) with tp, fp, fn summed over frames."""
    if not len(thresholds):
        raise ValueError("centre_detection: no thresholds given")
    if not len(ds):
        raise ValueError("centre_detection: the tuning frame set is empty")
    counts = {(t, j): np.zeros(3, np.int64) for t in thresholds for j in range(len(models))}
    for j, model in enumerate(models):
        k = model.settings.dec_os
        for i in range(len(ds)):
            smp = ds.sample(i, k)
            out = model(smp.image[None])
            sem = out["semantic"][0].argmax(0).numpy()
            conf = torch.sigmoid(out["centre"][0, 0]).numpy()
            emb = out["embedding"][0].flatten(1).T
            for t in thresholds:
                found = centres(sem, conf, emb, PostSettings(**{**post.__dict__, "centre_threshold": float(t)}))
                counts[t, j] += _match(found, smp.targets.instance, smp.targets.instance_class)
    rows = [{"threshold": float(t), "seed": j, "tp": int(c[0]), "fp": int(c[1]), "fn": int(c[2])}
            for (t, j), c in counts.items()]
    return pd.DataFrame(rows)


def f1(tp, fp, fn):
    tp, fp, fn = (np.asarray(x, float) for x in (tp, fp, fn))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)


def choose_threshold(counts: pd.DataFrame) -> tuple[float, pd.DataFrame]:
    """The threshold with the highest F1 pooled over seeds (ties: the highest threshold), and the pooled table."""
    pooled = counts.groupby("threshold", as_index=False)[["tp", "fp", "fn"]].sum()
    pooled["f1"] = f1(pooled.tp, pooled.fp, pooled.fn)
    best = pooled.sort_values(["f1", "threshold"], ascending=[False, False]).iloc[0]
    return float(best.threshold), pooled
