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


def _check_mode(model, mode: str) -> None:
    if mode not in ("ours", "all_to_all"):
        raise ValueError(f"unknown fastseg inference mode {mode!r}; choose 'ours' or 'all_to_all'")
    if mode == "all_to_all" and model.settings.dec_os != 1:
        raise ValueError("the all-to-all baseline clusters at full resolution: it needs a decoder stride of 1")


def predict(model, image: torch.Tensor, mode: str, post: PostSettings, compactness: float = 10.0,
            outputs: dict[str, torch.Tensor] | None = None, superpixels: np.ndarray | None = None) -> Prediction:
    """One frame (image (3, H, W) in [0, 1]); ``mode``: ``ours`` or ``all_to_all`` (needs a decoder stride of 1).
    ``outputs`` / ``superpixels``: the network's outputs on ``image`` and its superpixel map at the decoder's stride,
    when the caller already has them (:func:`evaluate_rows` shares them between rows); else computed here."""
    _check_mode(model, mode)
    k = model.settings.dec_os
    out = outputs if outputs is not None else _forward(model, image)
    sem_l, cen_l, emb = out["semantic"], out["centre"], out["embedding"]
    with torch.no_grad():
        if mode == "all_to_all":
            sem, inst = all_to_all_instances(sem_l, emb, post)
        else:
            sem, inst = grid_instances(sem_l, cen_l, emb, post)
            index = None
            if k > 1:
                index = superpixels if superpixels is not None else _superpixels(image, k, compactness)
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


def evaluate_rows(rows: Mapping[str, tuple[Sequence, str, PostSettings]], ds: FrameSet, workdir: Path,
                  compactness: float = 10.0) -> dict[str, RowResult]:
    """Every row (name -> (its model of each seed, mode, post-processing settings)) on every frame: seed j's model on
    every frame (key ``<frame>#s<j>``, seed-major), matched by the official evaluator once per row and seed (under
    ``workdir/<row>/seed<j>``); :func:`seed_scores` and :func:`row_scores` accumulate the matches.

    Rows that share a network (the baseline at two radii, ours at two centre thresholds) differ only in their
    post-processing: each network runs once a frame and every row using it post-processes those outputs (the
    superpixel map too is computed once a frame and stride). Only the current frame's outputs are held."""
    for name, (models, mode, _) in rows.items():
        if not len(models):
            raise ValueError(f"row {name!r} has no model")
        for m in models:
            _check_mode(m, mode)
    users: dict[int, list[tuple[str, int]]] = {}  # network -> the (row, seed) pairs that use it, in row order
    nets: dict[int, object] = {}
    for name, (models, _, _) in rows.items():
        for j, m in enumerate(models):
            users.setdefault(id(m), []).append((name, j))
            nets[id(m)] = m
    gt = ds.set if len(ds) == len(ds.set) else _subset(ds)
    done: dict[tuple[str, int], tuple] = {}  # (row, seed) -> (its matches, evaluator args, confusions, instances)
    for net_id, uses in users.items():
        model = nets[net_id]
        preds = {use: [] for use in uses}  # masks bit-packed until matched: several rows' predictions at once
        confs = {use: [] for use in uses}
        for i in range(len(ds)):
            smp = ds.frames[i]
            image = torch.from_numpy(np.ascontiguousarray(smp.rgb)).permute(2, 0, 1).float() / 255
            out = _forward(model, image)
            k = model.settings.dec_os
            index = _superpixels(image, k, compactness) if k > 1 else None
            target = class_index_map(smp.labels)
            for name, j in uses:
                _, mode, post = rows[name]
                p = predict(model, image, mode, post, compactness, outputs=out, superpixels=index)
                confs[(name, j)].append(confusion(p.semantic, target))
                masks = _native(p.masks, ds, i)
                preds[(name, j)].append((np.packbits(masks, axis=-1), masks.shape, p.label_ids, p.scores))
        for name, j in uses:  # this network's rows are complete: match them, free their masks
            unpacked = [(np.unpackbits(b, axis=-1, count=shape[-1]).astype(bool).reshape(shape), lab, sc)
                        for b, shape, lab, sc in preds.pop((name, j))]
            m, args = match_instances(gt, unpacked, Path(workdir) / name.replace(" ", "_").replace(",", "") / f"seed{j}")
            done[(name, j)] = (m, args, confs.pop((name, j)), int(sum(len(p[0]) for p in unpacked)))
    results = {}
    for name, (models, _, _) in rows.items():
        conf_all, matches, keys, counts = [], {}, [], []
        for j in range(len(models)):
            m, args, conf, n = done.pop((name, j))
            conf_all += conf
            counts.append(n)
            for frame, v in m.items():
                matches[f"{frame}#s{j}"] = v
                keys.append(f"{frame}#s{j}")
        results[name] = RowResult(np.stack(conf_all), matches, args, keys, counts, image_scores(matches, args))
    return results


def evaluate_row(models: Sequence, ds: FrameSet, mode: str, post: PostSettings, workdir: Path,
                 compactness: float = 10.0) -> RowResult:
    """One row of :func:`evaluate_rows` (its matches under ``workdir/row``)."""
    return evaluate_rows({"row": (models, mode, post)}, ds, workdir, compactness)["row"]


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
