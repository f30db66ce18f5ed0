"""§III-C and §IV-C losses on sampled pixel descriptors.

**NT-Xent** (eqs. (1)-(2)): N correspondences give 2N descriptors; for descriptor i with its partner j,
``l_ij = −log exp(D(d_i, d_j)/τ) / Σ_{k≠i} exp(D(d_i, d_k)/τ)``, D the cosine similarity, τ = 0.1; "the complete
loss is given by the sum over all pairwise losses" — both directions of every pair (2N terms), summed as the paper
writes (SimCLR averages). Adam's step does not depend on the loss's scale, but its L2 weight decay (added to the
gradient) does: against a loss summed over 2N terms it is ~2N times weaker than against the averaged pixelwise loss,
and its strength moves with Table IV's N. The correspondences of every image pair in a batch
are pooled into one set of negatives, as the paper does ("we coalesce all correspondences across the image pairs in
the batch into a single mini-batch dimension").

**Pixelwise contrastive** (the original DON, facts from its reference code at 76bf649,
``loss_functions/pixelwise_contrastive_loss.py`` and ``loss_composer.py``, ``training.yaml``): the match term is the
mean squared L2 distance of the matches; each non-match contributes ``max(0, M − ‖d_a − d_b‖)²`` (the distance
inside the hinge not squared) with M = 0.5 for both the masked (on the object) and the background non-matches; the
non-match terms are summed and divided by the number of *hard* negatives (non-zero terms) of both kinds together;
loss = match + non-match (weights 1). The **cross-object** variant adds pairs of pixels on two different objects
(one in each image of a triplet's different-object pair), hinged at M = 0.5 and divided by their hard negatives.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pick(desc: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """Descriptors (N, D) of a descriptor image (D, H, W) at pixels ``uv`` (N, 2) = (u, v)."""
    return desc[:, uv[:, 1].long(), uv[:, 0].long()].T


def nt_xent(da: torch.Tensor, db: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """Eqs. (1)-(2) over N pairs (da[i], db[i])."""
    if len(da) != len(db) or len(da) < 1:
        raise ValueError(f"nt_xent needs as many descriptors in A as in B (>= 1), got {len(da)} and {len(db)}")
    z = F.normalize(torch.cat([da, db]), dim=1)
    sim = z @ z.T / temperature
    n = len(da)
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, target, reduction="sum")


def hinge_terms(da: torch.Tensor, db: torch.Tensor, margin: float) -> tuple[torch.Tensor, int]:
    """Sum of ``max(0, margin − ‖da − db‖)²`` and the number of hard negatives (non-zero terms)."""
    t = F.relu(margin - torch.linalg.vector_norm(da - db, dim=1)) ** 2
    return t.sum(), int((t > 0).sum())


def pixelwise_contrastive(match_a: torch.Tensor, match_b: torch.Tensor, masked: tuple[torch.Tensor, torch.Tensor],
                          background: tuple[torch.Tensor, torch.Tensor], m_masked: float = 0.5,
                          m_background: float = 0.5) -> dict[str, torch.Tensor]:
    """The within-scene loss: ``masked`` / ``background`` are (descriptors in A, descriptors in B) of non-matches."""
    match = ((match_a - match_b) ** 2).sum(1).mean() if len(match_a) else match_a.new_zeros(())
    s_m, h_m = hinge_terms(*masked, m_masked)
    s_b, h_b = hinge_terms(*background, m_background)
    non_match = (s_m + s_b) / max(h_m + h_b, 1)
    return {"match": match, "non_match": non_match, "total": match + non_match}


def cross_object(da: torch.Tensor, db: torch.Tensor, margin: float = 0.5) -> torch.Tensor:
    """Pixels of two different objects pushed apart: hinge sum over hard negatives."""
    s, h = hinge_terms(da, db, margin)
    return s / max(h, 1)
