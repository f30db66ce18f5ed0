"""§IV-A/B: p-confidence masks (Algorithm 1) and §IV-C: Union-NMS (Algorithm 2), from k sampled segmentations.

A *sample* is one decoding of Latent-MaskRCNN with one latent ``z``: instance masks ``(n, H, W)`` (bool) and their
scores ``(n,)``. Both algorithms take the list of the ``k`` samples of one image.

**p-confidence masks** (§IV-A). A mask ``c`` is a p-confidence mask if ``P(c ⊆ m) >= p`` for the model's
distribution over an object's mask ``m``; empirically, "consider any subset of masks I consisting of one mask m_j
from at least kp different samples. If we take the intersection of all of the masks in I, ĉ_p = ∩ m_j, then [...]
ĉ_p is an empirical confidence mask by construction." Its score (§IV-B) is "the mean score-weighted IoU between the
predicted mask c_p and every mask used in the intersection": ``s_c = 1/|I| Σ_{m_j∈I} s_j |c ∩ m_j| / |c ∪ m_j|``;
since ``c ⊆ m_j``, ``|c ∩ m_j| / |c ∪ m_j| = |c| / |m_j|``. "To predict a set of confidence masks for an image, we
iteratively select the highest scoring confidence mask, excluding the pixels of all of the confidence masks predicted
so far."

How ``I`` is chosen for a candidate (the paper leaves it open; the authors' code, ``agreement()``, gives the
construction we follow — docs/reference/latentmrcnn_reference_code.md §5): every remaining mask ``q`` of every
sample is a query; in each sample, the mask with the largest overlap ``|q ∩ m| / |q|`` is ``q``'s match; the
``K`` samples with the best matches (``q``'s own sample among them) give ``I``. Two readings we chose, stated:

* ``K = ⌈p·k⌉`` — the paper's "at least kp different samples", which makes ``|I|/k >= p`` hold; the authors' code
  uses ``max(1, int(p·k))`` (a floor), which for ``k = 16, p = 0.9`` takes 14 samples, 87.5 % < 90 %.
* matching at full resolution (the code average-pools masks 8x8 first, a speed-up for 800-px images).

Sample detections scoring ``<= min_score`` are dropped before anything else, and greedy selection stops when the best
candidate scores below ``min_score`` or no pixel is left (the authors' code uses one setting, ``AGREEMENT.MIN_AREA``
= 0.1 in their benchmarks, for both). After a pick, the picked pixels are removed from every mask before the next candidates are built (matches
and intersections use what is left), but a candidate is scored against the sample masks as predicted: ``|m_j|`` is a
mask's *full* area, as in the formula (``m_j`` are the samples' masks) and in the authors' code (``agreement()``
divides by the un-subtracted masks' areas, in the ranking and in the returned score). Scoring against the remaining
area instead would give the leftover sliver of a mask already picked a high score.

**Union-NMS** (§IV-C, Algorithm 2): "We first sample multiple segmentations from the model, and run NMS on the
predicted masks. It checks if any two masks m_i, m_j have IoU greater than some threshold, and then discards the
lower-scoring one. Suppose that some mask m_i remains after we perform NMS. Then Union-NMS returns the union of m_i
with every mask that it suppressed." Greedy NMS over the pooled samples, highest score first; a kept mask's output
is the union of itself and every mask it suppressed, with its own score. As Algorithm 2 is written, ``S[i]`` takes
every later mask ``j`` with IoU > θ, including one an earlier kept mask already suppressed (such a mask is then in
two unions; a suppressed mask is never kept itself). (The authors' code thresholds the *mean* of a cluster's masks
at 0.1 — a near-union; we follow the paper's union.)
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

Sample = tuple[np.ndarray, np.ndarray]  # masks (n, H, W) bool, scores (n,)
PAPER_P = 0.9  # §V-B: Table I's confidence masks use p = 0.9
MIN_SCORE = 0.1  # authors' code: greedy selection stops below this candidate score


def _pool(samples: Sequence[Sample]) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]:
    """All samples' masks flattened to (N, H·W) bool, their scores (N,) and sample index (N,)."""
    if not samples:
        raise ValueError("no samples: need at least one decoded segmentation")
    shapes = {tuple(np.asarray(m).shape[1:]) for m, _ in samples if np.asarray(m).ndim == 3}
    if len(shapes) > 1:
        raise ValueError(f"samples disagree on the image size: {sorted(shapes)}")
    hw = shapes.pop() if shapes else None
    masks, scores, which = [], [], []
    for s, (m, sc) in enumerate(samples):
        m, sc = np.asarray(m, bool), np.asarray(sc, float)
        if m.ndim != 3 or len(m) != len(sc):
            raise ValueError(f"sample {s}: masks must be (n, H, W) with one score each, got {m.shape} and {sc.shape}")
        if len(m):
            masks.append(m.reshape(len(m), -1))
            scores.append(sc)
            which.append(np.full(len(m), s))
    if hw is None or not masks:
        hw = hw or (0, 0)
        return np.zeros((0, hw[0] * hw[1]), bool), np.zeros(0), np.zeros(0, int), hw
    return np.concatenate(masks), np.concatenate(scores), np.concatenate(which), hw


def n_required(p: float, k: int) -> int:
    """``K = ⌈p·k⌉`` (at least 1): the number of samples a p-confidence mask must be contained in."""
    if not 0 < p <= 1:
        raise ValueError(f"confidence level p must be in (0, 1], got {p}")
    if k < 1:
        raise ValueError(f"need at least one sample, got k = {k}")
    return max(1, math.ceil(p * k - 1e-9))


def confidence_masks(samples: Sequence[Sample], p: float = PAPER_P,
                     min_score: float = MIN_SCORE) -> tuple[np.ndarray, np.ndarray]:
    """Algorithm 1: greedy p-confidence masks of one image from its ``k`` samples. Returns masks (m, H, W), scores (m,).

    The overlaps of every pair of masks are computed once (a sparse product: masks cover a few percent of an image)
    and updated after each pick by subtracting what the picked pixels contributed; a candidate's intersection is
    counted on its query's own pixels (``ĉ ⊆ q``); candidates are scored best-bound-first and the scan stops when no
    remaining bound can beat the best score. The result equals recomputing and scoring everything after every pick (a
    test keeps that dense version as the reference).
    """
    from scipy import sparse

    k = len(samples)
    K = n_required(p, k)
    M, s, which, hw = _pool(samples)
    keep = s > min_score  # the authors drop sample detections scoring <= the stop threshold (AGREEMENT.MIN_AREA) first
    M, s, which = M[keep], s[keep], which[keep]
    out_m, out_s = [], []
    if len(M) == 0:
        return np.zeros((0, *hw), bool), np.zeros(0)
    n = len(M)
    rows = np.arange(n)
    by_sample = [np.flatnonzero(which == j) for j in range(k)]
    S = sparse.csr_matrix(M, dtype=np.float32)
    inter = (S @ S.T).toarray()  # |q ∩ m| for every pair, kept up to date
    by_pixel = S.tocsc()  # the masks covering each pixel: who loses area when a pixel is picked
    area = inter.diagonal().copy()  # remaining area of each mask (shrinks as pixels are picked)
    full = area.astype(float).copy()  # |m_j| as predicted: the score's denominator
    support = [np.flatnonzero(m) for m in M]  # each mask's own pixels (before any pick)
    free = np.ones(M.shape[1], bool)  # pixels no confidence mask has taken yet
    while True:
        alive = area > 0
        if not alive.any():
            break
        overlap = np.where(alive[:, None] & alive[None, :], inter / np.maximum(area[:, None], 1), -1.0)  # |q∩m|/|q|
        best_ov = np.full((n, k), -1.0)
        best_ix = np.zeros((n, k), int)
        for j, cols in enumerate(by_sample):
            if len(cols):
                a = overlap[:, cols].argmax(1)
                best_ov[:, j], best_ix[:, j] = overlap[rows, cols[a]], cols[a]
        best_ix[rows, which], best_ov[rows, which] = rows, np.where(alive, 2.0, -1.0)  # a query is its own match
        chosen = np.argsort(-best_ov, axis=1, kind="stable")[:, :K]  # the K samples with the best matches
        ok = alive & (np.take_along_axis(best_ov, chosen, 1) > 0).all(1)
        # Candidates in decreasing order of an upper bound on their score: ĉ lies inside every member's remaining
        # pixels, so |ĉ| <= min_i rem_i and s_c <= 1/|I| Σ s_j min_i rem_i / |m_j|. Once the bound falls below the
        # best score found, no later candidate can win (a tolerance keeps rounding from cutting a tie), so the pick is
        # the one the exhaustive scan makes: the highest score, the lowest query index among equal scores.
        qs = np.flatnonzero(ok)
        members_of = best_ix[qs[:, None], chosen[qs]]
        a_mem = area[members_of].astype(float)
        bound = (s[members_of] * a_mem.min(1, keepdims=True) / np.maximum(full[members_of], 1)).mean(1)
        best, best_q, best_pix, best_score = -1.0, -1, None, 0.0
        for i in np.lexsort((qs, -bound)):
            if bound[i] < best - 1e-9 * max(1.0, best):
                break
            q, members = qs[i], members_of[i]
            sup = support[q]
            inside = free[sup] & M[np.ix_(members, sup)].all(0)  # ĉ_p = ∩_{m_j ∈ I} m_j, on q's pixels (ĉ ⊆ q)
            size = int(inside.sum())
            if size == 0:
                continue
            score = float(np.mean(s[members] * size / full[members]))  # s_c = 1/|I| Σ s_j |c ∩ m_j| / |c ∪ m_j|
            if score > best or (score == best and q < best_q):
                best, best_q, best_pix, best_score = score, q, sup[inside], score
        if best_pix is None or best_score < min_score:
            break
        c = np.zeros(M.shape[1], bool)
        c[best_pix] = True
        out_m.append(c.reshape(hw))
        out_s.append(best_score)
        # exclude the pixels of the confidence masks predicted so far: every pair loses the picked pixels both
        # cover (all were free). Only masks covering one of them change; counts are exact integers in float32.
        cover = by_pixel[:, best_pix]
        hit = np.unique(cover.indices)
        taken = cover[hit].toarray()
        inter[np.ix_(hit, hit)] -= taken @ taken.T
        area = inter.diagonal().copy()
        free[best_pix] = False
    if not out_m:
        return np.zeros((0, *hw), bool), np.zeros(0)
    return np.stack(out_m), np.asarray(out_s)


def union_nms(samples: Sequence[Sample], iou_threshold: float = 0.3,
              score_threshold: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Algorithm 2: NMS over the pooled samples; each kept mask is returned as the union of itself and the masks it
    suppressed (IoU > ``iou_threshold``), with its own score. Returns masks (m, H, W), scores (m,)."""
    if not 0 <= iou_threshold <= 1:
        raise ValueError(f"iou_threshold must be in [0, 1], got {iou_threshold}")
    M, s, _, hw = _pool(samples)
    keep = (s > score_threshold) & (M.sum(1) > 0) if len(M) else np.zeros(0, bool)
    M, s = M[keep], s[keep]
    if len(M) == 0:
        return np.zeros((0, *hw), bool), np.zeros(0)
    from scipy import sparse

    order = np.argsort(-s, kind="stable")
    M, s = M[order], s[order]
    S = sparse.csr_matrix(M, dtype=np.float32)
    inter = (S @ S.T).toarray()  # a sparse product (exact integer counts, as a dense float32 product gives)
    area = inter.diagonal().copy()
    iou = inter / np.maximum(area[:, None] + area[None, :] - inter, 1)
    left = np.ones(len(M), bool)
    later = np.triu(np.ones((len(M), len(M)), bool), 1)  # later[i, j]: j comes after i in score order
    out_m, out_s = [], []
    for i in range(len(M)):
        if not left[i]:
            continue
        group = later[i] & (iou[i] > iou_threshold)  # Algorithm 2: every later j with IoU > θ, suppressed or not
        group[i] = True
        out_m.append(M[group].any(0).reshape(hw))  # m_i ∪ every mask it suppressed
        out_s.append(s[i])
        left &= ~group
    return np.stack(out_m), np.asarray(out_s)
