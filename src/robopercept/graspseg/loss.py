"""§III-A, eq. (1)–(2): six weighted binary cross-entropies on the visible and the amodal channel.

``CE(m̂, m, w) = −1/n Σ_i w_i (m_i log m̂_i + (1 − m_i) log(1 − m̂_i))`` (eq. 1; the printed equation
omits the minus sign of a cross-entropy, which we restore) and ``L = Σ_{j=1..6} CE(m̂, m, w^(j))``
(eq. 2) with

* ``w^(1) = m`` and ``w^(2) = 1 − m`` — the paper prints ``w^(2) = −m``; a *balanced* weighting only
  makes sense as positives and negatives, so we read it as ``1 − m`` (shared/papers/README);
* ``w^(3..6) = maxpool(m, k)`` with ``k = (11, 51, 101, 201)`` at 640×960, which weights a band
  around the object; the kernels are scaled by ``H / 640`` to the resolution used (odd, >= 1).

**"Balanced" needs a normalisation the printed equation lacks.** Read literally, eq. (1)'s ``1/n``
runs over all ``n`` pixels, and then ``CE(w = m) + CE(w = 1 − m)`` is exactly the *unweighted* BCE
(``w(1) + w(2) = 1`` at every pixel): an object covering 3 % of the image gets 3 % of that pair's
weight, nothing is balanced. The reading that makes the paper's word true normalises each weighted
term by its own weight, ``CE(m̂, m, w) = −Σ_i w_i (…) / Σ_i w_i``: the object pixels and the
background pixels then contribute one mean each, whatever their areas. That is our default
(``normalization="weights"``); the literal reading is ``normalization="pixels"`` and Table I has a
row trained with it (``Grasp-100-LiteralLoss``).

The loss is applied to both channels (visible and amodal) and summed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import paper

PAPER_KERNELS = paper.LOSS_KERNELS
PAPER_HEIGHT = paper.IMAGE_HW[0]


def scaled_kernels(height: int, kernels=PAPER_KERNELS) -> tuple[int, ...]:
    """The paper's max-pool kernels scaled from 640 rows to ``height`` rows, kept odd."""
    out = []
    for k in kernels:
        s = max(1, int(round(k * height / PAPER_HEIGHT)))
        out.append(s if s % 2 == 1 else s + 1)
    return tuple(out)


def _box_any(m: torch.Tensor, k: int, dim: int) -> torch.Tensor:
    """For a {0, 1} map: 1 where the length-``k`` window (centred, clipped at the border) along ``dim`` holds a 1 —
    the max over that window, from a running sum (a few operations a pixel whatever ``k``; the sums of at most a
    row's length of ones are exact in float32)."""
    r = k // 2
    n = m.shape[dim]
    pad = (r + 1, r) if dim == -1 else (0, 0, r + 1, r)
    c = torch.cumsum(F.pad(m, pad), dim=dim)  # c[j] = ones among the first j + 1 padded entries
    window = c.narrow(dim, 2 * r + 1, n) - c.narrow(dim, 0, n)  # ones in m[i - r .. i + r]
    return (window > 0.5).to(m.dtype)


def max_pool_same(m: torch.Tensor, k: int) -> torch.Tensor:
    """``max_pool2d(m, k, stride=1, padding=k // 2)`` for an odd ``k``: the k x k max around each pixel. For a {0, 1}
    mask from running sums along rows then columns (separable, independent of ``k``: the loss's largest kernels made
    ``max_pool2d`` ~5 % of a training step); for any other input from ``max_pool2d`` itself."""
    if k % 2 != 1:
        raise ValueError(f"max_pool_same needs an odd kernel, got {k}")
    if k == 1:
        return m.clone()
    if bool(((m == 0) | (m == 1)).all()):
        return _box_any(_box_any(m, k, -1), k, -2)
    rows = F.max_pool2d(m, kernel_size=(1, k), stride=1, padding=(0, k // 2))  # a k x k max is a k x 1 max of a
    return F.max_pool2d(rows, kernel_size=(k, 1), stride=1, padding=(k // 2, 0))  # 1 x k max (2k, not k², work)


def loss_weights(m: torch.Tensor, kernels: tuple[int, ...]) -> list[torch.Tensor]:
    """The six weight maps of eq. (2) for a target mask ``m`` (N, 1, H, W) in {0, 1}."""
    ws = [m, 1 - m]  # w(1) = m, w(2) = 1 − m (balanced weighting)
    for k in kernels:
        ws.append(max_pool_same(m, k))  # w(3..6) = maxpool(m, k)
    return ws


NORMALIZATIONS = ("weights", "pixels")


def weighted_bce(logits: torch.Tensor, m: torch.Tensor, w: torch.Tensor, normalization: str = "weights",
                 bce: torch.Tensor | None = None) -> torch.Tensor:
    """Eq. (1) with m̂ = σ(logits): ``−Σ w_i (m_i log m̂_i + (1 − m_i) log(1 − m̂_i)) / Σ w_i`` (``"weights"``,
    the balanced reading) or ``/ n`` (``"pixels"``, the literal one). An all-zero weight map adds 0.
    ``bce``: the unweighted per-pixel cross-entropy of ``(logits, m)`` when the caller already has it
    (eq. 2 weights one cross-entropy map six times; computing it once saves five passes)."""
    if bce is None:
        bce = F.binary_cross_entropy_with_logits(logits, m, reduction="none")
    per_pixel = w * bce
    if normalization == "pixels":
        return per_pixel.mean()  # −1/n Σ_i w_i (…)
    if normalization == "weights":
        return per_pixel.sum() / w.sum().clamp_min(1e-6)  # −Σ_i w_i (…) / Σ_i w_i
    raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")


def grasp_segmentation_loss(logits: torch.Tensor, visible: torch.Tensor, amodal: torch.Tensor,
                            kernels: tuple[int, ...], normalization: str = "weights") -> torch.Tensor:
    """Eq. (2) summed over the visible (channel 0) and amodal (channel 1) predictions."""
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
    if logits.shape[1] != 2:
        raise ValueError(f"expected 2 output channels (visible, amodal), got {logits.shape[1]}")
    total = logits.new_zeros(())
    for c, target in enumerate((visible, amodal)):
        t = target.float()
        if t.shape != logits[:, c : c + 1].shape:
            raise ValueError(f"target shape {tuple(t.shape)} does not match prediction {tuple(logits[:, c:c+1].shape)}")
        lc = logits[:, c : c + 1]
        bce = F.binary_cross_entropy_with_logits(lc, t, reduction="none")  # one map, six weightings
        for w in loss_weights(t, kernels):
            total = total + weighted_bce(lc, t, w, normalization, bce=bce)  # L = Σ_j CE(m̂, m, w(j))
    return total
