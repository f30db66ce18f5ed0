"""§IV-B evaluation: predicting the validation frames with each row of Table I, semantic IoU per class and instance AP
from the official evaluator, with bootstrap intervals over frames (paired across rows).

Rows: ``Baseline`` (the OS 1 network of the baseline's encoder, all-to-all clustering at full resolution, no centres,
no superpixels) and ``Ours <encoder> OS<k>`` (centres, embeddings, and at k > 1 superpixel upsampling). Semantic IoU
is computed at full resolution over the eight classes with instances (background is a class of the network but not
of the mean, as in the paper's Table II); AP and AP@50 come from ``cityscapesscripts`` (see
:mod:`robopercept.common.cityscapes_eval`).

Seeds: each seed's model is scored on its own (one AP ranking per seed — its detections are never ranked against
another seed's), and a row's score is the mean of its seeds' scores. A bootstrap replicate resamples validation
frames — one resample for every row and every seed (paired), re-accumulating per-frame confusion matrices and the
evaluator's per-frame matches (nothing is matched again; each frame's matches are read once,
:func:`robopercept.common.cityscapes_eval.image_scores`) — and averages the seeds' scores on it: the interval is
the frames' uncertainty of the seed mean. With two or three seeds a seed bootstrap would say little, so the spread
over seeds is reported beside it (:func:`seed_scores`) and :mod:`robopercept.fastseg.verdict` reads a claim per
seed too.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch

from ..common.cityscapes_eval import ap_from_image_scores, image_scores, match_instances, scaled_min_region
from ..formats.cityscapes import INSTANCE_CLASSES, CityscapesSet, instance_label_ids
from .dataset import FrameSet
from .postprocess import PostSettings, all_to_all_instances, grid_instances, upsample_instances
from .superpixels import grid_slic
from .targets import class_index_map

NUM_CLASSES = 9
CLASS_LABEL_IDS = np.array([0, *instance_label_ids().values()])  # class index -> Cityscapes label id


@dataclasses.dataclass
class Prediction:
    semantic: np.ndarray  # (H, W) class index
    masks: np.ndarray  # (n, H, W) bool
    label_ids: np.ndarray  # (n,) Cityscapes label ids
    scores: np.ndarray  # (n,)


def min_pixels_at(min_pixels: int, height: int, width: int) -> int:
    """``fastseg_eval.min_pixels`` for frames of ``height`` x ``width``: 0 is the evaluator's own minimum region there
    (:func:`robopercept.common.cityscapes_eval.scaled_min_region`), below which it ignores ground truth and
    predictions alike."""
    if min_pixels < 0:
        raise ValueError(f"min_pixels must be >= 0 (0: the evaluator's minimum region), got {min_pixels}")
    return min_pixels or scaled_min_region(height, width)


@torch.no_grad()
def _forward(model, image: torch.Tensor) -> dict[str, torch.Tensor]:
    out = model(image[None])
    return {name: out[name][0] for name in ("semantic", "centre", "embedding")}


def _superpixels(image: torch.Tensor, k: int, compactness: float) -> np.ndarray:
    rgb = (image.permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
    return grid_slic(rgb, k, compactness).numpy()


class FrameCache:
    """Each (network, frame)'s outputs and each (frame, superpixel size)'s superpixel map, computed once: the rows of
    Table I that share a network (the baseline at two radii, ours at two centre thresholds) differ only in their
    post-processing, so one forward pass a network and frame serves them all (the outputs are the same tensors a
    second pass would give). Holds its networks, so that their ``id`` stays theirs while cached."""

    def __init__(self):
        self._outputs: dict = {}
        self._superpixels: dict = {}

    def outputs(self, model, frame_key, image: torch.Tensor) -> dict[str, torch.Tensor]:
        key = (id(model), frame_key)
        if key not in self._outputs:
            self._outputs[key] = (model, _forward(model, image))
        return self._outputs[key][1]

    def superpixels(self, frame_key, image: torch.Tensor, k: int, compactness: float) -> np.ndarray:
        key = (frame_key, k, compactness)
        if key not in self._superpixels:
            self._superpixels[key] = _superpixels(image, k, compactness)
        return self._superpixels[key]


def predict(model, image: torch.Tensor, mode: str, post: PostSettings, compactness: float = 10.0,
            cache: FrameCache | None = None, frame_key=None) -> Prediction:
    """One frame (image (3, H, W) in [0, 1]); ``mode``: ``ours`` or ``all_to_all`` (needs a decoder stride of 1).
    With a ``cache``, the network's outputs and the superpixels are looked up under ``frame_key`` (which must name
    the frame ``image`` is) and computed only the first time."""
    k = model.settings.dec_os
    if mode not in ("ours", "all_to_all"):
        raise ValueError(f"unknown fastseg inference mode {mode!r}; choose 'ours' or 'all_to_all'")
    if mode == "all_to_all" and k != 1:
        raise ValueError("the all-to-all baseline clusters at full resolution: it needs a decoder stride of 1")
    out = cache.outputs(model, frame_key, image) if cache is not None else _forward(model, image)
    sem_l, cen_l, emb = out["semantic"], out["centre"], out["embedding"]
    with torch.no_grad():
        if mode == "all_to_all":
            sem, inst = all_to_all_instances(sem_l, emb, post)
        else:
            sem, inst = grid_instances(sem_l, cen_l, emb, post)
            index = None
            if k > 1:
                index = (cache.superpixels(frame_key, image, k, compactness) if cache is not None
                         else _superpixels(image, k, compactness))
            sem, inst = upsample_instances(sem, inst, index, post.min_pixels)
    h, w = image.shape[-2:]
    masks = np.stack([i.mask for i in inst]) if inst else np.zeros((0, h, w), bool)
    return Prediction(sem, masks, CLASS_LABEL_IDS[[i.class_index for i in inst]].astype(np.int64),
                      np.array([i.score for i in inst], float))


def confusion(pred: np.ndarray, target: np.ndarray, n: int = NUM_CLASSES) -> np.ndarray:
    return np.bincount(target.ravel() * n + pred.ravel(), minlength=n * n).reshape(n, n)


def iou_per_class(conf: np.ndarray) -> np.ndarray:
    """IoU (percent) of classes 1..8 from a confusion matrix (rows: truth); NaN for a class absent from both."""
    tp = np.diag(conf).astype(float)
    denom = conf.sum(0) + conf.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100 * np.where(denom > 0, tp / denom, np.nan)[1:]


@dataclasses.dataclass
class RowResult:
    confusions: np.ndarray  # (frames, 9, 9)
    matches: dict
    args: object
    keys: list[str]
    instances: list[int]  # instances each seed's model predicted over all frames (0: it never found one)
    scores: dict | None = None  # the matches read once per frame (common.cityscapes_eval.image_scores); None: lazily

    def image_scores(self) -> dict:
        if self.scores is None:
            self.scores = image_scores(self.matches, self.args)
        return self.scores


def evaluate_row(models: Sequence, ds: FrameSet, mode: str, post: PostSettings, workdir: Path,
                 compactness: float = 10.0, cache: FrameCache | None = None) -> RowResult:
    """Every frame predicted by the row's model of each seed (seed j on every frame; key ``<frame>#s<j>``, seed-major),
    matched by the official evaluator once; :func:`seed_scores` and :func:`row_scores` accumulate the matches. Rows
    sharing networks share a ``cache`` (:class:`FrameCache`): one forward pass a network and frame."""
    confs, matches, keys, counts = [], {}, [], []
    for j, model in enumerate(models):
        preds = []
        for i in range(len(ds)):
            smp = ds.frames[i]
            image = torch.from_numpy(np.ascontiguousarray(smp.rgb)).permute(2, 0, 1).float() / 255
            p = predict(model, image, mode, post, compactness, cache, (str(ds.set.root), ds.set.split, i))
            confs.append(confusion(p.semantic, class_index_map(smp.labels)))
            preds.append((_native(p.masks, ds, i), p.label_ids, p.scores))
        counts.append(int(sum(len(p[0]) for p in preds)))
        gt = ds.set if len(ds) == len(ds.set) else _subset(ds)
        m, args = match_instances(gt, preds, Path(workdir) / f"seed{j}")
        for name, v in m.items():
            matches[f"{name}#s{j}"] = v
            keys.append(f"{name}#s{j}")
    return RowResult(np.stack(confs), matches, args, keys, counts, image_scores(matches, args))


def _native(masks: np.ndarray, ds: FrameSet, i: int) -> np.ndarray:
    """Masks at the ground truth's size on disk (the official evaluator reads the files): resized frames' masks are
    scaled back by nearest neighbour."""
    if ds.set.resize is None:
        return masks
    import cv2

    h, w = cv2.imread(str(ds.set.paths(i)["instances"]), cv2.IMREAD_UNCHANGED).shape[:2]
    if masks.shape[1:] == (h, w):
        return masks
    return np.stack([cv2.resize(m.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0 for m in masks]) \
        if len(masks) else np.zeros((0, h, w), bool)


def _subset(ds: FrameSet) -> CityscapesSet:
    sub = CityscapesSet.__new__(CityscapesSet)
    sub.root, sub.split, sub.size, sub.names = ds.set.root, ds.set.split, ds.set.size, ds.set.names[:len(ds)]
    sub.resize = ds.set.resize
    return sub


def n_frames(r: RowResult) -> int:
    """Validation frames of a row (its keys are seed-major: seed j's frame i is key ``j * n_frames + i``)."""
    n_seeds = len(r.instances)
    if n_seeds == 0 or len(r.keys) % n_seeds or len(r.confusions) != len(r.keys):
        raise ValueError(f"row result: {len(r.keys)} keys and {len(r.confusions)} confusion matrices for "
                         f"{n_seeds} seeds")
    return len(r.keys) // n_seeds


def _scores(r: RowResult, pos: np.ndarray) -> dict[str, float]:
    """Scores over the keys at ``pos`` (one seed's keys: pooling seeds would rank their detections together)."""
    ap = ap_from_image_scores(r.image_scores(), r.args, [r.keys[i] for i in pos])
    iou = iou_per_class(r.confusions[pos].sum(0))
    out = {"mAP@50": ap["AP50"], "mAP": ap["AP"], "IoU": float(np.nanmean(iou))}
    for c, name in enumerate(INSTANCE_CLASSES):
        out[f"IoU_{name}"] = float(iou[c])
        out[f"AP_{name}"] = ap["per_class"][name]["AP"]
    return out


def seed_scores(r: RowResult, frames: np.ndarray | None = None) -> list[dict[str, float]]:
    """Each seed's model scored alone: mAP@50, mAP, mean IoU and per-class IoU / AP over all frames or the frames
    at ``frames`` (frame indices, repeats allowed; the same frames for every seed)."""
    n = n_frames(r)
    idx = np.arange(n) if frames is None else np.asarray(frames)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"seed_scores: frame indices outside 0..{n - 1}")
    return [_scores(r, j * n + idx) for j in range(len(r.instances))]


def row_scores(r: RowResult, frames: np.ndarray | None = None) -> dict[str, float]:
    """A row's scores: the mean over its seeds of :func:`seed_scores` (NaN where no seed has a value, e.g. a class
    absent from the frames)."""
    return seed_mean(seed_scores(r, frames))


def seed_mean(per: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """The mean over seeds of :func:`seed_scores`' dicts, key by key, skipping NaN (NaN where every seed is NaN)."""
    if not per:
        raise ValueError("seed_mean: no seeds' scores")
    out = {}
    for k in per[0]:
        vals = np.array([p[k] for p in per], dtype=float)
        out[k] = float(vals[np.isfinite(vals)].mean()) if np.isfinite(vals).any() else float("nan")
    return out


def bootstrap(rows: dict[str, RowResult], n_boot: int, seed: int) -> list[dict[str, dict[str, float]]]:
    """Replicates of every row's scores (:func:`row_scores`: the seed mean), resampling validation frames — the same
    frames for every row and every seed (paired)."""
    sizes = {name: (n_frames(r), len(r.instances)) for name, r in rows.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"bootstrap: rows were evaluated on different numbers of frames or seeds: {sizes}")
    n = next(iter(sizes.values()))[0]
    rng = np.random.default_rng(seed)
    reps = []
    for _ in range(n_boot):
        pos = rng.integers(0, n, n)
        reps.append({name: row_scores(r, pos) for name, r in rows.items()})
    return reps
