"""§III-B post-processing: instances from the three grids, superpixel upsampling, and the paper's baseline, all-to-all
clustering at full resolution.

**Ours** (:func:`grid_instances`), per class of the semantic argmax, as §III-B describes it:

1. the class's elements whose centre confidence exceeds ``centre_threshold`` (0.7) form blobs (8-connected); each
   blob's centre of mass is a candidate centre (the blob's element nearest it, so it lies on the blob), scored by the
   blob's highest confidence;
2. "duplicated" centres — closer than δ_a in embedding space to a better-scoring centre — are dropped;
3. every element of the class goes to the centre nearest in embedding space, unless farther than ``assign_distance``
   (the paper: δ_a, "to eliminate elements that were incorrectly assigned by the semantic head");
4. an instance's score (the evaluator ranks by it) is its centre's confidence — the paper does not give one; the
   baseline, which has no centres, scores by mean semantic probability, so the two rank their instances differently;
5. :func:`upsample_instances` maps grid instances and the semantic grid to full resolution through the superpixel
   index (at decoder output stride 1 the grid is the image) and drops instances below ``min_pixels`` — the same
   smallest size, in pixels, as the baseline's. The paper keeps every instance; the stage sets ``min_pixels`` to the
   Cityscapes evaluator's own minimum region at the evaluated resolution (``fastseg_eval.min_pixels: 0``), below
   which the evaluator ignores ground truth and predictions alike, so the filter costs no instance it would count.

**The baseline** (:func:`all_to_all_instances`, Table I's first row): "inferring only the semantic and embedding
branch, without the embedding centers or superpixel upsampling, and applying an all-to-all clustering of the instance
pixels afterwards". We read it as the same trained OS 1 network with a different post-processing (the paper's
identical IoU, 65.4, and near-identical CNN times, 138 vs 141 ms, fit that reading; it is not a network trained with
[5]'s mean-based attraction). The paper does not name its clustering; ours thresholds the all-to-all distance matrix
of a class's pixels at ``2 δ_a`` (two pixels each within δ_a of one centre are at most 2 δ_a apart) and grows
clusters greedily from the pixel with the most neighbours — in the spirit of [5]/[22]'s seeded clustering, not their
exact procedure. Its cost is the N × N matrix — the reason the paper adds centres; the matrix is held as a dense
boolean N × N array (built in row chunks), so a class of 100 k pixels (the paper profile's 1024 × 512) needs ~10 GB:
the paper profile's baseline is for a large machine. Scores: the mean semantic probability over the cluster.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from .superpixels import upsample


@dataclasses.dataclass(frozen=True)
class PostSettings:
    centre_threshold: float = 0.7
    delta_a: float = 0.1
    assign_distance: float = 0.1  # the paper filters assignments farther than δ_a
    min_elements: int = 1  # smaller grid instances are dropped
    cluster_distance: float = 0.2  # the baseline's threshold (2 δ_a)
    min_pixels: int = 10  # the smallest instance at full resolution, for ours (after upsampling) and the baseline


@dataclasses.dataclass(frozen=True)
class Instance:
    mask: np.ndarray  # (h, w) bool on the grid (or the image, once upsampled)
    class_index: int  # 1..C-1
    score: float


def _blobs(mask: np.ndarray) -> tuple[np.ndarray, int]:
    from scipy import ndimage

    return ndimage.label(mask, structure=np.ones((3, 3), int))


def centres(sem: np.ndarray, conf: np.ndarray, emb: torch.Tensor, s: PostSettings = PostSettings()
            ) -> list[tuple[int, float, int]]:
    """Steps 1-2 on one image's grid: (class, score, flat element index) of every kept centre, best first per class.
    ``sem`` (h, w) semantic argmax, ``conf`` (h, w) centre confidence, ``emb`` (h*w, D) embeddings."""
    out = []
    for c in range(1, int(sem.max(initial=0)) + 1):
        cls = sem == c
        if not cls.any():
            continue
        lab, n = _blobs(cls & (conf > s.centre_threshold))
        cand = []
        for b in range(1, n + 1):
            rr, cc = np.nonzero(lab == b)
            j = int(np.argmin((rr - rr.mean()) ** 2 + (cc - cc.mean()) ** 2))
            cand.append((float(conf[rr, cc].max()), int(rr[j] * sem.shape[1] + cc[j])))
        cand.sort(key=lambda t: (-t[0], t[1]))
        kept: list[tuple[float, int]] = []
        for score, idx in cand:  # duplicates: within δ_a of a better centre
            if all(float(torch.linalg.vector_norm(emb[idx] - emb[k])) >= s.delta_a for _, k in kept):
                kept.append((score, idx))
        out += [(c, score, idx) for score, idx in kept]
    return out


@torch.no_grad()
def grid_instances(semantic: torch.Tensor, centre: torch.Tensor, embedding: torch.Tensor,
                   s: PostSettings = PostSettings()) -> tuple[np.ndarray, list[Instance]]:
    """One image's head outputs (C, h, w), (1, h, w) logits and (D, h, w) -> (semantic argmax (h, w), instances)."""
    sem = semantic.argmax(0).numpy()
    conf = torch.sigmoid(centre[0]).numpy()
    emb = embedding.flatten(1).T  # (h*w, D)
    out: list[Instance] = []
    found = centres(sem, conf, emb, s)
    for c in sorted({c for c, _, _ in found}):
        kept = [(score, idx) for cc, score, idx in found if cc == c]
        elems = np.flatnonzero((sem == c).ravel())
        d = torch.cdist(emb[elems], emb[[k for _, k in kept]])  # (N, K)
        dist, who = d.min(1)
        ok = (dist <= s.assign_distance).numpy()
        who = who.numpy()
        for j, (score, _) in enumerate(kept):
            sel = elems[ok & (who == j)]
            if len(sel) >= s.min_elements:
                m = np.zeros(sem.size, bool)
                m[sel] = True
                out.append(Instance(m.reshape(sem.shape), c, score))
    return sem, out


def upsample_instances(sem: np.ndarray, instances: list[Instance], index: np.ndarray | None,
                       min_pixels: int = 1) -> tuple[np.ndarray, list[Instance]]:
    """Grid outputs to full resolution through the superpixel ``index`` (None: already full resolution); instances
    smaller than ``min_pixels`` pixels are dropped."""
    if index is not None:
        sem = upsample(sem, index)
        instances = [Instance(upsample(i.mask, index), i.class_index, i.score) for i in instances]
    return sem, [i for i in instances if int(i.mask.sum()) >= min_pixels]


@torch.no_grad()
def all_to_all_instances(semantic: torch.Tensor, embedding: torch.Tensor,
                         s: PostSettings = PostSettings(), chunk: int = 4096) -> tuple[np.ndarray, list[Instance]]:
    """The baseline: per class, threshold the all-to-all embedding distances and grow clusters from dense seeds."""
    prob = torch.softmax(semantic, 0)
    sem = prob.argmax(0).numpy()
    emb = embedding.flatten(1).T
    out: list[Instance] = []
    for c in range(1, semantic.shape[0]):
        elems = np.flatnonzero((sem == c).ravel())
        if len(elems) == 0:
            continue
        e = emb[elems]
        near = torch.zeros((len(elems), len(elems)), dtype=torch.bool)
        for i in range(0, len(elems), chunk):  # the all-to-all matrix, in row chunks
            near[i:i + chunk] = torch.cdist(e[i:i + chunk], e) <= s.cluster_distance
        free = torch.ones(len(elems), dtype=torch.bool)
        order = torch.argsort(near.sum(1), descending=True, stable=True)
        pc = prob[c].flatten()[elems]
        for seed in order.tolist():
            if not free[seed]:
                continue
            members = near[seed] & free
            free &= ~members
            if int(members.sum()) >= s.min_pixels:
                m = np.zeros(sem.size, bool)
                m[elems[members.numpy()]] = True
                out.append(Instance(m.reshape(sem.shape), c, float(pc[members].mean())))
    return sem, out
