"""§III-A's three task losses: weighted cross-entropy (1)-(2), the centre-based discriminative embedding loss (3)-(4)
with its regulariser, and the focal centre loss (5).

* **Semantic** (1): ``-Σ_c w_c y_c log ŷ_c`` per element, averaged over elements (not over the weights, as
  ``torch``'s ``reduction="mean"`` would).
* **Embedding**: "all pixels of the same instance should have a low Euclidean distance to the embedding in its
  center" — attraction ``1/K Σ_k 1/P_k Σ_p [‖ê_{k,c} − ê_{k,p}‖ − δ_a]⁺`` (3) to the embedding at the instance's
  *centre element* (not the mean, unlike [5]); repulsion ``1/(K(K−1)) Σ_{kA≠kB} [δ_r − ‖ê_{kA,c} − ê_{kB,c}‖]⁺``
  (4) between centres; ``L_reg = 1/K Σ_k ‖ê_{k,c}‖``; ``L_embed = α L_attract + β L_repel + γ L_reg`` with α = β = 1,
  γ = 0.001, δ_a = 0.1, δ_r = 1.0. Per image, averaged over the images with at least one instance.
* **Centres** (5): ``−α (1 − ŷ)^γ log ŷ`` on centre elements and ``−(1 − α) ŷ^γ log(1 − ŷ)`` elsewhere, α = 0.01,
  γ = 2 (the paper's values), summed and divided by the number of centre elements (RetinaNet's normalisation [16];
  the paper does not give one). The positives are each instance's centre element, or the blob around it
  (:mod:`.targets`, ``centre_radius_px``; a labelled departure of the cpu profile).
* The total is the sum of the three (the paper: "a weighted sum of the three task losses", weights not given).
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F


@dataclasses.dataclass(frozen=True)
class LossSettings:
    delta_a: float = 0.1
    delta_r: float = 1.0
    alpha: float = 1.0  # attraction weight
    beta: float = 1.0  # repulsion weight
    gamma_reg: float = 0.001
    focal_alpha: float = 0.01
    focal_gamma: float = 2.0
    w_semantic: float = 1.0
    w_centre: float = 1.0
    w_embedding: float = 1.0


def semantic_loss(logits: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, target, weight=weights, reduction="sum") / target.numel()


def centre_loss(logits: torch.Tensor, target: torch.Tensor, s: LossSettings = LossSettings()) -> torch.Tensor:
    """Eq. (5) on the centre head's logits (B, 1, h, w) against a {0, 1} target (B, h, w)."""
    x = logits[:, 0]
    p = torch.sigmoid(x)
    pos = -s.focal_alpha * (1 - p) ** s.focal_gamma * F.logsigmoid(x)
    neg = -(1 - s.focal_alpha) * p ** s.focal_gamma * F.logsigmoid(-x)
    loss = torch.where(target > 0.5, pos, neg).sum()
    return loss / target.sum().clamp_min(1.0)


def embedding_loss(emb: torch.Tensor, instance: torch.Tensor, centre: torch.Tensor,
                   s: LossSettings = LossSettings()) -> dict[str, torch.Tensor]:
    """Eqs. (3), (4) and the regulariser for a batch: ``emb`` (B, D, h, w), ``instance`` (B, h, w) with 0 = none,
    ``centre`` (B, h, w) marking one element per instance."""
    attract, repel, reg, n = emb.new_zeros(()), emb.new_zeros(()), emb.new_zeros(()), 0
    for b in range(emb.shape[0]):
        ids = instance[b][centre[b] > 0.5]  # instance of each centre element
        if ids.numel() == 0:
            continue
        e = emb[b].flatten(1)  # (D, h*w)
        inst = instance[b].flatten()
        centres = e[:, (centre[b] > 0.5).flatten()]  # (D, K), in the order of ids
        a = emb.new_zeros(())
        for j, i in enumerate(ids.tolist()):
            pix = e[:, inst == i]
            a = a + F.relu(torch.linalg.vector_norm(pix - centres[:, j:j + 1], dim=0) - s.delta_a).mean()
        k = centres.shape[1]
        attract = attract + a / k
        if k > 1:
            d = torch.cdist(centres.T[None], centres.T[None])[0]
            off = ~torch.eye(k, dtype=torch.bool, device=emb.device)
            repel = repel + F.relu(s.delta_r - d[off]).sum() / (k * (k - 1))
        reg = reg + torch.linalg.vector_norm(centres, dim=0).mean()
        n += 1
    n = max(n, 1)
    attract, repel, reg = attract / n, repel / n, reg / n
    return {"attract": attract, "repel": repel, "reg": reg,
            "embedding": s.alpha * attract + s.beta * repel + s.gamma_reg * reg}


def total_loss(out: dict[str, torch.Tensor], semantic: torch.Tensor, instance: torch.Tensor, centre: torch.Tensor,
               weights: torch.Tensor, s: LossSettings = LossSettings(),
               centre_target: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """``centre``: one element per instance (the embedding loss's centres); ``centre_target``: the centre loss's
    positives (:attr:`.targets.GridTargets.centre_blob`; None: ``centre``)."""
    target = centre if centre_target is None else centre_target
    terms = {"semantic": semantic_loss(out["semantic"], semantic, weights),
             "centre": centre_loss(out["centre"], target, s), **embedding_loss(out["embedding"], instance, centre, s)}
    terms["total"] = s.w_semantic * terms["semantic"] + s.w_centre * terms["centre"] + s.w_embedding * terms["embedding"]
    return terms
