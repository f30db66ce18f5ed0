"""The untrained control: the network each DON model starts from, scored as a trained model is.

Every don_train model of seed index k starts from the same draw — the torch seed ``derive_seed(seed, "don_train", k)``
(:func:`robopercept.don.sweep.train_all`), the stand-in body and a head of the variant's descriptor dimension D — so
the network a row starts from depends only on (D, k). Scored on the test pairs with the row's own matching (cosine
for NT-Xent, ℓ2 for the pixelwise losses, as :func:`robopercept.don.model.load_trained` picks it), it is what the
evaluation gives with no training at all.

A seed *has not learned* when its AUC is not above its starting network's beyond the noise of the test pairs: a
paired bootstrap over the test pairs (the seed and its control scored on the same resampled pairs, each pair
weighted by its queries as the tables weight it) puts the 2.5 % quantile of the AUC difference at or below 0. A
claim that compares such a row is evidence neither for nor against the paper
(:mod:`robopercept.reporting.untrained` flags it): a baseline that barely left its starting point makes any
"ours beats it" hold, and says nothing about the losses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..formats.don_logs import DonLogs
from ..seed import derive_seed
from .experiments import Variant
from .sweep import COMPOSITE


def matching(v: Variant) -> str:
    """The descriptor matching the evaluation uses for ``v``'s models (cosine for NT-Xent, ℓ2 otherwise)."""
    return "cosine" if v.loss == "ntxent" else "l2"


def control_key(v: Variant) -> str:
    """The untrained network ``v``'s rows compare with: its descriptor dimension and matching."""
    return f"untrained_D{v.descriptor_dim}_{matching(v)}"


def start_network(train_cfg, descriptor_dim: int, pretrained: Path | None, seed: int, k: int):
    """The network don_train's seed ``k`` starts every model of dimension ``descriptor_dim`` from, drawn as
    :func:`robopercept.don.sweep._train_shard` draws it: torch seeded with the shard's seed, then the net (the stand-in
    body loaded when there is one; from scratch, a random body). A test ties the two draws together."""
    import torch

    from .model import DenseDescriptorNet, load_standin_backbone

    torch.manual_seed(derive_seed(seed, "don_train", k))
    model = DenseDescriptorNet(descriptor_dim, train_cfg.backbone, normalize=not pretrained)
    if pretrained:
        load_standin_backbone(model, pretrained)
    return model


def pair_aucs(train_cfg, variants: list[Variant], logs_root: Path, pretrained: Path | None, pairs: list[dict],
              seed: int, seeds: int) -> dict[str, np.ndarray]:
    """Per :func:`control_key` of ``variants``: the per-pair AUC on ``pairs`` (seeds, pairs) of the network seed k
    starts from (:func:`start_network`), scored with one thread as the evaluation shards score (the same sums, the
    same argmax)."""
    import torch

    from .evaluate import evaluate_model

    logs = DonLogs(logs_root, COMPOSITE)
    wanted = {}
    for v in variants:
        wanted.setdefault(control_key(v), (v.descriptor_dim, matching(v)))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = {}
        for key, (dim, metric) in sorted(wanted.items()):
            rows = []
            for k in range(seeds):
                model = start_network(train_cfg, dim, pretrained, seed, k)
                rows.append(evaluate_model(model, metric, logs, pairs, [])["pair_auc"])
            out[key] = np.stack(rows)
        return out
    finally:
        torch.set_num_threads(threads)


def weighted_auc(per_pair: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Per seed: the AUC over all queries pooled (pairs weighted by their queries), as the tables compute it."""
    return (per_pair * weight).sum(-1) / max(float(weight.sum()), 1e-12)


def untrained_seeds(trained: dict[str, np.ndarray], variants: list[Variant], control: dict[str, np.ndarray],
                    weight: np.ndarray, n_boot: int, seed: int) -> dict[str, int]:
    """Per variant key: how many of its seeds have not learned (module docstring). ``trained``: per variant key the
    per-pair AUCs (seeds, pairs) (:class:`robopercept.don.results.Evaluations`' ``auc``); ``control``: from
    :func:`pair_aucs`; ``weight``: each pair's queries. The same resampled pairs for every seed and variant."""
    n_pairs = len(weight)
    if n_pairs == 0:
        raise ValueError("untrained_seeds: no test pairs")
    if n_boot < 1:
        raise ValueError(f"untrained_seeds: n_boot must be >= 1 (got {n_boot})")
    missing = sorted({control_key(v) for v in variants} - set(control))
    if missing:
        raise ValueError(f"untrained_seeds: no untrained control for {missing}")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n_pairs, size=(n_boot, n_pairs))
    w = weight[picks]  # (n_boot, pairs)
    out = {}
    for v in variants:
        a, c = trained[v.key()], control[control_key(v)]
        if a.shape[0] > c.shape[0]:
            raise ValueError(f"untrained_seeds: {a.shape[0]} seeds of {v.key()} but {c.shape[0]} untrained networks")
        count = 0
        for k in range(a.shape[0]):
            d = a[k] - c[k]
            reps = (d[picks] * w).sum(1) / np.maximum(w.sum(1), 1e-12)
            count += int(not np.percentile(reps, 2.5) > 0)  # a NaN (a pair without a score) is not "above"
        out[v.key()] = count
    return out
