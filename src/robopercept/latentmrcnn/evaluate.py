"""§V-B/C Table I: predicting a validation set with each inference mode, and its MR@HP / AR-IoG / mAP with bootstrap
intervals over images.

Modes (the rows of Table I):

=========================  =========================================================================================
``maskrcnn``               the baseline Mask R-CNN's detections
``union_nms``              Latent-MaskRCNN, ``k`` prior samples merged by Union-NMS (Algorithm 2)
``confidence``             Latent-MaskRCNN, ``k`` prior samples, p-confidence masks (Algorithm 1; Table I: p = 0.9)
``prior_mean``             Latent-MaskRCNN decoding the prior mean (§IV-D)
=========================  =========================================================================================

A detection's mask is torchvision's mask probability thresholded at 0.5. Every mode's predictions are written as
COCO results and scored by :mod:`.metrics` (MR@HP with IoP matching, AR with IoG matching, mAP with IoU). The
bootstrap resamples validation images (the same resample for every mode: comparisons are paired) and re-accumulates
pycocotools' per-image evaluations — no image is re-matched — for the one area range and max-detections Table I reads
(:func:`resampled_scores`; :func:`resampled` is pycocotools' own accumulate, the reference it is tested against).
"""

from __future__ import annotations

import copy
import dataclasses
from types import SimpleNamespace
from typing import Sequence

import numpy as np
import torch

from . import metrics as M
from .confidence import confidence_masks, union_nms
from .data import InstanceSet

MODES = ("maskrcnn", "union_nms", "confidence", "prior_mean")
MODE_LABELS = {"maskrcnn": "MaskRCNN", "union_nms": "Latent Union NMS", "confidence": "Latent Confidence Mask",
               "prior_mean": "Latent Prior Mean"}


@dataclasses.dataclass(frozen=True)
class InferenceSettings:
    k: int = 8  # samples (authors' benchmarks: Apparel 16, COCO 10, Cityscapes 8)
    p: float = 0.9  # Table I's confidence level
    nms_iou: float = 0.3  # Union-NMS threshold (the authors' Table I benchmark; their default 0.5)
    min_score: float = 0.1  # confidence masks: sample detections <= this are dropped, and the greedy loop stops below it
    mask_threshold: float = 0.5
    seed: int = 0


def _masks_scores(det: dict, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    masks = (det["masks"][:, 0] > threshold).numpy() if len(det["masks"]) else \
        np.zeros((0, *det["masks"].shape[-2:]), bool)
    return masks, det["scores"].numpy().astype(float)


@torch.no_grad()
def predict(model, ds: InstanceSet, mode: str, s: InferenceSettings, p: float | None = None,
            samples: list | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per image (masks (n, H, W), scores (n,)). ``samples`` (from :func:`sample_set`) reuses decoded samples, so a
    p sweep decodes once."""
    if mode not in MODES:
        raise ValueError(f"unknown inference mode {mode!r}; choose from {MODES}")
    model.eval()
    out = []
    for i in range(len(ds)):
        if mode in ("maskrcnn", "prior_mean"):
            x, _ = ds.item(i)
            out.append(_masks_scores(model([x])[0], s.mask_threshold))
            continue
        per = samples[i] if samples is not None else sample_image(model, ds, i, s)
        if mode == "union_nms":
            out.append(union_nms(per, s.nms_iou))
        else:
            out.append(confidence_masks(per, s.p if p is None else p, s.min_score))
    return out


def sample_image(model, ds: InstanceSet, i: int, s: InferenceSettings) -> list[tuple[np.ndarray, np.ndarray]]:
    """The ``k`` prior samples of image ``i`` (a generator seeded by (seed, i): the same samples in every run)."""
    model.eval()
    x, _ = ds.item(i)
    g = torch.Generator().manual_seed(int(np.random.SeedSequence([s.seed, i]).generate_state(1)[0]))
    return [_masks_scores(d, s.mask_threshold) for d in model.sample([x], s.k, generator=g)[0]]


def sample_set(model, ds: InstanceSet, s: InferenceSettings) -> list:
    return [sample_image(model, ds, i, s) for i in range(len(ds))]


def gt_coco(ds: InstanceSet):
    """pycocotools' COCO of the set (class-agnostic sets map every category to 1)."""
    import contextlib
    import io

    from pycocotools.coco import COCO

    doc = copy.deepcopy(ds.doc)
    keep = {im["id"] for im in ds.images}  # only the images evaluated (a head() of the set)
    doc["images"] = [im for im in doc["images"] if im["id"] in keep]
    doc["annotations"] = [a for a in doc["annotations"] if a["image_id"] in keep]
    if ds.class_agnostic:
        doc["categories"] = [{"id": 1, "name": "object"}]
        for a in doc["annotations"]:
            a["category_id"] = 1
    doc.setdefault("info", {})
    c = COCO()
    c.dataset = doc
    with contextlib.redirect_stdout(io.StringIO()):
        c.createIndex()
    return c


def results(ds: InstanceSet, preds: Sequence[tuple[np.ndarray, np.ndarray]], labels: Sequence | None = None) -> list[dict]:
    """COCO results dicts of per-image predictions (category 1 unless ``labels`` per image are given)."""
    out = []
    for i, (m, sc) in enumerate(preds):
        image_id = ds.images[i]["id"]
        if labels is None:
            out += M.results_for(image_id, m, sc)
        else:
            for c in sorted(set(labels[i].tolist())):
                sel = labels[i] == c
                out += M.results_for(image_id, m[sel], sc[sel], int(c))
    return out


def evaluators(gt, res: list[dict], use_cats: bool) -> dict[str, M.OverlapEval]:
    """The three evaluations of Table I: IoP at the paper's θ (MR@HP), IoG at 0.5:0.95 (AR), IoU (mAP)."""
    return {"MR@HP": M.evaluate(gt, res, "iop", M.PAPER_THETAS, use_cats),
            "AR": M.evaluate(gt, res, "iog", M.COCO_THRESHOLDS, use_cats),
            "mAP": M.evaluate(gt, res, "iou", M.COCO_THRESHOLDS, use_cats)}


SCORES = {"MR@HP": M.mr_at_hp, "AR": M.average_recall, "mAP": M.mean_ap}


def table_row(evs: dict[str, M.OverlapEval]) -> dict[str, float]:
    return {name: SCORES[name](ev) for name, ev in evs.items()}


def resampled(ev: M.OverlapEval, positions: np.ndarray) -> M.OverlapEval:
    """``ev`` re-accumulated over the images at ``positions`` (with repeats): a bootstrap replicate, without
    matching any image again. pycocotools lays ``evalImgs`` out as [category][area][image]."""
    import contextlib
    import io

    p = ev.params
    n_img = len(p.imgIds)
    n_cat = len(p.catIds) if p.useCats else 1
    n_area = len(p.areaRng)
    new = copy.copy(ev)
    new.params = copy.deepcopy(p)
    new.params.imgIds = list(range(len(positions)))
    new._paramsEval = copy.deepcopy(new.params)
    new.evalImgs = [ev.evalImgs[k * n_area * n_img + a * n_img + int(i)]
                    for k in range(n_cat) for a in range(n_area) for i in positions]
    with contextlib.redirect_stdout(io.StringIO()):
        new.accumulate()
    return new


def resampled_scores(ev: M.OverlapEval, positions: np.ndarray) -> SimpleNamespace:
    """What Table I's scores read of :func:`resampled` — the precision and recall of area ``all`` at the largest
    max-detections — and nothing else, computed without pycocotools' accumulate: a stand-in with ``params`` and
    ``eval["precision"]`` (T, R, K, 1, 1) / ``eval["recall"]`` (T, K, 1, 1) that :data:`SCORES` read as they read an
    accumulated evaluation, with the same numbers bit for bit (``tests/unit/latentmrcnn/test_evaluate.py`` holds it
    against :func:`resampled` on random evaluations).

    pycocotools' accumulate walks every (area, max-detections) pair — 12 where Table I reads one — and makes
    precision monotone with a Python loop over every detection; the bootstrap called it 14,400 times per run
    (3 sets x 2 seeds x 4 modes x 3 overlaps x 200 replicates). Here the same steps, vectorised: detections of the
    resampled images concatenated in their order, ranked by a stable sort on the negated score, cumulative true /
    false positives per threshold, precision made non-increasing from the right (a running maximum equals the loop's
    pairwise replacement), and COCO's interpolated precision read at the recall thresholds (0 past the largest
    recall reached, as pycocotools leaves it)."""
    p = ev.params
    n_img, n_area = len(p.imgIds), len(p.areaRng)
    n_cat = len(p.catIds) if p.useCats else 1
    T, R, max_det = len(p.iouThrs), len(p.recThrs), p.maxDets[-1]
    precision, recall = -np.ones((T, R, n_cat, 1, 1)), -np.ones((T, n_cat, 1, 1))
    for k in range(n_cat):
        evals = [ev.evalImgs[k * n_area * n_img + int(i)] for i in positions]  # area index 0: "all"
        evals = [e for e in evals if e is not None]
        if not evals:
            continue
        scores = np.concatenate([e["dtScores"][0:max_det] for e in evals])
        order = np.argsort(-scores, kind="mergesort")
        matched = np.concatenate([e["dtMatches"][:, 0:max_det] for e in evals], axis=1)[:, order]
        ignored = np.concatenate([e["dtIgnore"][:, 0:max_det] for e in evals], axis=1)[:, order]
        n_pos = np.count_nonzero(np.concatenate([e["gtIgnore"] for e in evals]) == 0)
        if n_pos == 0:
            continue
        tp = np.cumsum(np.logical_and(matched, np.logical_not(ignored)), axis=1).astype(float)
        fp = np.cumsum(np.logical_and(np.logical_not(matched), np.logical_not(ignored)), axis=1).astype(float)
        nd = tp.shape[1]
        if nd == 0:
            precision[:, :, k, 0, 0], recall[:, k, 0, 0] = 0.0, 0.0
            continue
        rc = tp / n_pos
        pr = np.maximum.accumulate((tp / (fp + tp + np.spacing(1)))[:, ::-1], axis=1)[:, ::-1]
        recall[:, k, 0, 0] = rc[:, -1]
        for t in range(T):
            at = np.searchsorted(rc[t], p.recThrs, side="left")
            precision[t, :, k, 0, 0] = np.where(at < nd, pr[t, np.minimum(at, nd - 1)], 0.0)
    return SimpleNamespace(params=p, eval={"precision": precision, "recall": recall})


def bootstrap_rows(evs_by_mode: dict[str, dict[str, M.OverlapEval]], n_boot: int, seed: int) -> list[dict]:
    """``n_boot`` replicates of every mode's row, each resampling the same images for every mode (paired)."""
    any_ev = next(iter(next(iter(evs_by_mode.values())).values()))
    n = len(any_ev.params.imgIds)
    rng = np.random.default_rng(seed)
    reps = []
    for _ in range(n_boot):
        pos = rng.integers(0, n, n)
        reps.append({mode: {name: SCORES[name](resampled_scores(ev, pos)) for name, ev in evs.items()}
                     for mode, evs in evs_by_mode.items()})
    return reps
