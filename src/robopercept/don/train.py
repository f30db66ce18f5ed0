"""§IV-C training of one Dense Object Net: the pixelwise losses of the original DON or NT-Xent, single-object or
multi-object scenes, with or without augmentations.

    "We trained using ADAM [37] optimizer, with a learning rate of 3e-5, momentum of 0.9, and weight decay of 1e-4.
    [...] Our approach using NT-Xent loss was trained with a batch size of 2, while the pixelwise contrastive losses
    using a batch size of 1 [...]. We performed validation every 5 epochs and retained the checkpoint with the best
    validation results with respect to the PCK@80 metric" (§IV-C)

Losses (:class:`TrainSettings.loss`): ``pixelwise`` (matches and masked / background non-matches, the reference
code's margins), ``pixelwise_cross_object`` (the same plus a third image of a *different* single-object scene whose
pixels are pushed away from A's: the paper's "triplet of images, that is, two corresponding views and one
non-corresponding view of a different object"), ``ntxent`` (eq. (1), τ = ``temperature``, every pair of the batch
in one set of negatives). Validation: the mean PCK@80 of the validation pairs; the best state is kept. Batches
come from a generator seeded by (seed, step): a rerun gives the same weights.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..formats.don_logs import DonLogs
from . import losses as L
from .metrics import best_match, pck, pixel_scale
from .pairs import training_pair

LOSSES = ("pixelwise", "pixelwise_cross_object", "ntxent")


@dataclasses.dataclass(frozen=True)
class TrainSettings:
    loss: str = "ntxent"
    steps: int = 1000
    batch_size: int = 2
    correspondences: int = 2048  # NT-Xent: per image; pixelwise: 20000 (the paper)
    non_matches: int = 150  # per correspondence, pixelwise only
    temperature: float = 0.1
    lr: float = 3e-5
    weight_decay: float = 1e-4
    augmentations: tuple[str, ...] = ()
    masked_sampling: bool = False  # the original DON samples matches on the object mask (single-object scenes)
    validate_every: int = 100
    seed: int = 0

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"unknown DON loss {self.loss!r}; choose from {LOSSES}")
        if min(self.steps, self.batch_size, self.correspondences, self.validate_every) < 1:
            raise ValueError("steps, batch_size, correspondences and validate_every must be >= 1")


def _step_loss(model, logs: DonLogs, scenes: list[str], others: list[str], rng: np.random.Generator,
               s: TrainSettings, stats: dict | None = None) -> torch.Tensor | None:
    """The step's loss (None when no pair had a correspondence: the step is skipped). ``stats`` receives the mean
    number of *distinct* correspondence pixels of A per pair (after augmentation), what the loss really saw."""
    pairs, scene_of = [], []
    for _ in range(s.batch_size):
        scene = logs.scene(scenes[int(rng.integers(len(scenes)))])
        p = training_pair(scene, rng, n=s.correspondences, augmentations=s.augmentations,
                          masked_sampling=s.masked_sampling, n_non_matches=s.non_matches if s.loss != "ntxent" else 0,
                          unique=s.loss == "ntxent")
        if p is not None and len(p.uv_a):
            pairs.append(p)
            scene_of.append(scene)
    if stats is not None:
        stats["matches"] = float(np.mean([len(np.unique(p.uv_a[:, 1] * scene.width + p.uv_a[:, 0]))
                                          for p, scene in zip(pairs, scene_of)])) if pairs else 0.0
    if not pairs:
        return None
    desc = model(torch.stack([x for p in pairs for x in (p.image_a, p.image_b)]))
    if s.loss == "ntxent":
        da = torch.cat([L.pick(desc[2 * i], torch.from_numpy(p.uv_a)) for i, p in enumerate(pairs)])
        db = torch.cat([L.pick(desc[2 * i + 1], torch.from_numpy(p.uv_b)) for i, p in enumerate(pairs)])
        return L.nt_xent(da, db, s.temperature)
    total = desc.new_zeros(())
    for i, p in enumerate(pairs):
        a, b = desc[2 * i], desc[2 * i + 1]
        da, db = L.pick(a, torch.from_numpy(p.uv_a)), L.pick(b, torch.from_numpy(p.uv_b))

        def non(uv):
            if uv is None:
                return da[:0], db[:0]
            k = uv.shape[1]
            return da.repeat_interleave(k, 0), L.pick(b, torch.from_numpy(uv.reshape(-1, 2)))

        total = total + L.pixelwise_contrastive(da, db, non(p.non_masked), non(p.non_background))["total"]
        # the third image shows a *different* object: a single-object scene whose objects differ from this one's
        pool = [o for o in others if logs.scene(o).objects.keys() != scene_of[i].objects.keys()] \
            if s.loss == "pixelwise_cross_object" else []
        if pool:
            other = logs.scene(pool[int(rng.integers(len(pool)))])
            j = int(rng.choice(other.indices))
            mask = other.mask(j)
            pts = np.argwhere(mask)[:, ::-1]
            if len(pts):
                img = torch.from_numpy(np.ascontiguousarray(other.rgb(j))).permute(2, 0, 1).float() / 255
                dc = model(img[None])[0]
                on_a = da[torch.from_numpy(rng.integers(0, len(da), len(pts[:len(da)])))]
                total = total + L.cross_object(on_a, L.pick(dc, torch.from_numpy(pts[rng.integers(0, len(pts), len(on_a))])))
    return total / len(pairs)


@torch.no_grad()
def validate(model, logs: DonLogs, pairs: list[dict], metric: str, k: float = 80) -> float:
    """Mean PCK@k over validation pairs (query pixels in A, their true matches in B); ``k`` in the paper's pixels
    (640 x 480 frames), scaled to the frames' size (robopercept.don.metrics.pixel_scale)."""
    model.eval()
    hits = []
    cache: dict[tuple[str, int], torch.Tensor] = {}
    for p in pairs:
        scene = logs.scene(p["scene"])
        for f in (p["a"], p["b"]):
            if (p["scene"], f) not in cache:
                img = torch.from_numpy(np.ascontiguousarray(scene.rgb(f))).permute(2, 0, 1).float() / 255
                cache[p["scene"], f] = model(img[None])[0]
        q = L.pick(cache[p["scene"], p["a"]], torch.from_numpy(p["uv_a"]))
        pred = best_match(q, cache[p["scene"], p["b"]], metric)
        hits.append(pck(pred, p["uv_b"], ks=[k * pixel_scale(scene.height, scene.width)])[0])
    model.train()
    return float(np.mean(hits)) if hits else float("nan")


def train(model, logs: DonLogs, scenes: list[str], s: TrainSettings, val_pairs: list[dict] | None = None,
          other_scenes: list[str] | None = None) -> tuple[list[dict], dict]:
    """Train ``model`` in place; returns (history, the best validation state dict — the last if no validation)."""
    if not scenes:
        raise ValueError("DON training: no training scenes")
    torch.manual_seed(s.seed)
    opt = torch.optim.Adam(model.parameters(), lr=s.lr, betas=(0.9, 0.999), weight_decay=s.weight_decay)
    metric = "cosine" if s.loss == "ntxent" else "l2"
    history, best, best_state = [], -1.0, None
    model.train()
    for step in range(s.steps):
        rng = np.random.default_rng([s.seed, step])
        stats: dict = {}
        loss = _step_loss(model, logs, scenes, other_scenes or [], rng, s, stats)
        rec = {"step": step + 1, "loss": float("nan") if loss is None else float(loss.detach()),
               "matches": stats.get("matches", 0.0)}
        if loss is not None:
            opt.zero_grad()
            loss.backward()
            opt.step()
        if val_pairs and ((step + 1) % s.validate_every == 0 or step + 1 == s.steps):
            rec["val_pck80"] = validate(model, logs, val_pairs, metric)
            if rec["val_pck80"] > best:
                best, best_state = rec["val_pck80"], {k: v.detach().clone() for k, v in model.state_dict().items()}
        history.append(rec)
    model.eval()
    return history, best_state if best_state is not None else model.state_dict()
