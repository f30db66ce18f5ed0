"""§V-B/C Table I, §V-D Fig. 5 and appendix Table III / Fig. 8, assembled from per-(set, seed) predictions.

Table I's cell for (set, mode, metric) is the mean over seeds of the metric on the validation images; its bootstrap
replicates resample validation images (one resample shared by every mode and seed: comparisons are paired) and seeds
(one resample shared by every mode: Mask R-CNN and Latent-MaskRCNN of one seed were trained as a pair). Row keys are
``"<set>: <mode label>"`` so that one claims file covers every set.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pandas as pd

from . import evaluate as E
from . import metrics as M
from .paper import PAPER_DATASET, TABLE1, TABLE1_METRICS


@dataclasses.dataclass
class SeedEvaluation:
    """Everything the evaluation notebook needs of one (set, seed): Table I's evaluations of the four modes, the
    latent's diagnostics per image, and — for the first seed, which Fig. 5, Table III and Figs. 4/7/8 use — the sweep's
    points and the example images' samples and Mask R-CNN detections. Masks of the other images stay in the worker."""

    set_name: str
    seed_index: int
    evaluators: dict[str, dict[str, M.OverlapEval]]  # mode -> {"MR@HP", "AR", "mAP"}
    agreement: list[float]  # per image: :func:`sample_agreement` of its k samples
    masks_per_sample: list[int]  # per image and sample: masks scoring above 0.5
    sweep: list[dict] | None = None  # first seed: Fig. 5's rows (MaskRCNN, then confidence masks at every p)
    points: dict[str, dict] | None = None  # first seed: :func:`picking_table`'s input
    fig8: tuple[pd.DataFrame, pd.DataFrame] | None = None  # first seed: best overlaps of MaskRCNN and of Table I's p
    examples: dict | None = None  # first seed: the first images' samples and MaskRCNN detections (Figs. 4, 7)


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """torch on one thread, as in a pool worker: a (set, seed) evaluates to the same bytes in or out of the pool."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _slim(ev: M.OverlapEval) -> M.OverlapEval:
    """An evaluation without what only matching needed (the COCO objects, overlaps, per-image annotations): what
    Table I's scores and bootstrap read — ``params``, ``evalImgs``, ``eval`` — crosses the process boundary."""
    ev.cocoGt = ev.cocoDt = None
    ev.ious, ev._gts, ev._dts = {}, None, None
    return ev


def evaluate_seed(job: tuple[str, int], *, models_dir: str, datasets_dir: str, ecfg, s: E.InferenceSettings,
                  first_seed: int = 0) -> SeedEvaluation:
    """One (set, seed) of the evaluation notebook, on one torch thread: the set's validation images predicted with
    every mode (one set of ``k`` prior samples per image serves Union-NMS, the confidence masks and every p of the
    sweep), scored by :func:`evaluate.evaluators`; for ``first_seed`` also Fig. 5's sweep — Mask R-CNN's point from its
    detections above ``pick_score_thresh`` (the masks a robot picks from; Table III's AUC and Fig. 8 use every
    detection) and the confidence masks at each p (at Table I's p, Table I's own)."""
    from .confidence import confidence_masks
    from .data import InstanceSet
    from .sweep import load_model

    set_name, k = job
    with _one_thread():
        root = Path(datasets_dir) / f"latentmrcnn_{set_name}"
        val = InstanceSet(root / "annotations" / "instances_val.json", root, class_agnostic=True,
                          stage="latentmrcnn_data").head(ecfg.n_val)
        mrcnn, _ = load_model(Path(models_dir), set_name, "maskrcnn", k)
        latent, _ = load_model(Path(models_dir), set_name, "latent", k)
        samples = E.sample_set(latent, val, s)
        preds = {"maskrcnn": E.predict(mrcnn, val, "maskrcnn", s),
                 "union_nms": E.predict(latent, val, "union_nms", s, samples=samples),
                 "confidence": E.predict(latent, val, "confidence", s, samples=samples),
                 "prior_mean": E.predict(latent, val, "prior_mean", s)}
        gt = E.gt_coco(val)
        out = SeedEvaluation(
            set_name, k, {m: {name: _slim(ev) for name, ev in E.evaluators(gt, E.results(val, p), use_cats=False).items()}
                          for m, p in preds.items()},
            agreement=[sample_agreement(smp) for smp in samples],
            masks_per_sample=[int((sc > 0.5).sum()) for smp in samples for _, sc in smp])
        if k != first_seed:
            return out
        gts = [val.ground_truth(i)[0] for i in range(len(val))]
        thresh = ecfg.pick_score_thresh
        picked = [(m[sc > thresh], sc[sc > thresh]) for m, sc in preds["maskrcnn"]]
        per_mr = per_image_picks(picked, gts, ecfg.gripper_radius_px)
        ov_mr = best_overlaps(preds["maskrcnn"], gts)
        out.sweep = [{"set": set_name, "method": "MaskRCNN", "p": np.nan, **pooled_picks(per_mr),
                      "iop_above_0.95_pct": 100 * float((ov_mr.iop > 0.95).mean()) if len(ov_mr) else np.nan}]
        out.points = {f"{set_name}: MaskRCNN": {"per_image": per_mr, "overlaps": ov_mr}}
        for p in sorted(set(ecfg.p_sweep) | {ecfg.p}):
            conf = preds["confidence"] if p == ecfg.p else [confidence_masks(smp, p, ecfg.min_score) for smp in samples]
            ov = best_overlaps(conf, gts)
            per_conf = per_image_picks(conf, gts, ecfg.gripper_radius_px)
            out.sweep.append({"set": set_name, "method": "Confidence", "p": p, **pooled_picks(per_conf),
                              "iop_above_0.95_pct": 100 * float((ov.iop > 0.95).mean()) if len(ov) else np.nan})
            out.points[f"{set_name}: Confidence p={p:g}"] = {"per_image": per_conf, "overlaps": ov}  # Fig. 5's claims
            if p == ecfg.p:
                out.points[f"{set_name}: Confidence mask"] = {"per_image": per_conf, "overlaps": ov}
                out.fig8 = (ov_mr, ov)
        n = min(ecfg.n_examples, len(val))
        out.examples = {"samples": samples[:n], "maskrcnn": preds["maskrcnn"][:n]}
        return out


def evaluate_all(sets: Sequence[str], seeds: int, *, models_dir: Path, datasets_dir: Path, ecfg,
                 s: E.InferenceSettings) -> dict[tuple[str, int], SeedEvaluation]:
    """:func:`evaluate_seed` for every (set, seed), on ``ecfg.workers`` processes (one torch thread each; with 1, in
    this process on one thread: the same bytes either way). First seeds go first: they also run the sweep."""
    from ..world.shards import process_pool

    jobs = [(name, k) for k in range(seeds) for name in sets]
    task = functools.partial(evaluate_seed, models_dir=str(models_dir), datasets_dir=str(datasets_dir), ecfg=ecfg, s=s)
    if ecfg.workers == 1 or len(jobs) == 1:
        results = [task(job) for job in jobs]
    else:
        with process_pool(min(ecfg.workers, len(jobs))) as pool:
            results = list(pool.map(task, jobs))
    return {job: r for job, r in zip(jobs, results)}


def row_key(set_name: str, mode: str) -> str:
    return f"{set_name}: {E.MODE_LABELS[mode]}"


def table1(per_seed: dict[tuple[str, int], dict[str, dict[str, M.OverlapEval]]], n_boot: int,
           seed: int) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """``per_seed[(set, k)][mode]`` = the three evaluators of one mode. Returns (table, replicates)."""
    sets = sorted({s for s, _ in per_seed}, key=list(PAPER_DATASET).index)
    rng = np.random.default_rng(seed)
    rows, reps = [], [[] for _ in range(n_boot)]
    for s in sets:
        seeds = sorted(k for t, k in per_seed if t == s)
        modes = list(per_seed[s, seeds[0]])
        n_img = len(next(iter(per_seed[s, seeds[0]][modes[0]].values())).params.imgIds)
        point = {(k, m): E.table_row(per_seed[s, k][m]) for k in seeds for m in modes}
        draws = [(rng.integers(0, n_img, n_img), rng.integers(0, len(seeds), len(seeds))) for _ in range(n_boot)]
        rep_scores = {(k, m): [{name: E.SCORES[name](E.resampled_scores(ev, pos)) for name, ev in per_seed[s, k][m].items()}
                               for pos, _ in draws] for k in seeds for m in modes}
        paper = TABLE1.get(PAPER_DATASET.get(s, ""), {})
        for m in modes:
            label = E.MODE_LABELS[m]
            row = {"method": row_key(s, m), "set": s, "mode": label, "seeds": len(seeds)}
            for name in TABLE1_METRICS:
                vals = [point[k, m][name] for k in seeds]
                row[name] = float(np.mean(vals))
                row[f"{name}_std"] = float(np.std(vals, ddof=1)) if len(vals) > 1 else float("nan")
            for j, name in enumerate(TABLE1_METRICS):
                row[f"paper_{name}"] = paper[label][j] if label in paper else float("nan")
            rows.append(row)
            for r, (_, seed_pick) in enumerate(draws):
                reps[r].append({"method": row_key(s, m), **{
                    name: float(np.mean([rep_scores[seeds[i], m][r][name] for i in seed_pick]))
                    for name in TABLE1_METRICS}})
    table = pd.DataFrame(rows)
    replicates = [pd.DataFrame(r) for r in reps]
    add_intervals(table, replicates, TABLE1_METRICS)
    return table, replicates


def best_overlaps(preds: Sequence[tuple[np.ndarray, np.ndarray]], gts: Sequence[np.ndarray]) -> pd.DataFrame:
    """Per predicted mask: its score, its best IoU with a ground-truth mask, and its largest IoP (|p ∩ g| / |p|)
    with any ground-truth mask (Fig. 8, right: how much of a prediction lies on one item) — the two maxima may be
    reached on different ground-truth masks."""
    rows = []
    for i, ((masks, scores), gt) in enumerate(zip(preds, gts)):
        if len(masks) == 0:
            continue
        p = masks.reshape(len(masks), -1).astype(np.float32)
        g = np.asarray(gt).reshape(len(gt), p.shape[1]).astype(np.float32)  # (0, H*W) when an image has none
        inter = p @ g.T if len(gt) else np.zeros((len(p), 0), np.float32)
        area_p, area_g = p.sum(1), g.sum(1)
        iou = inter / np.maximum(area_p[:, None] + area_g[None] - inter, 1) if len(gt) else inter
        best = iou.argmax(1) if len(gt) else np.zeros(len(p), int)
        iop_all = inter / np.maximum(area_p[:, None], 1)
        for j in range(len(p)):
            b = float(iou[j, best[j]]) if len(gt) else 0.0
            iop = float(iop_all[j].max()) if len(gt) else 0.0
            rows.append({"image": i, "score": float(scores[j]), "iou": b, "iop": iop})
    return pd.DataFrame(rows, columns=["image", "score", "iou", "iop"])


def per_image_picks(preds, gts, radius: int) -> list[tuple[int, int, int, int]]:
    """Per image of one prediction set: (D, N) of :func:`metrics.double_pick`, the predicted masks' area and the
    ground-truth masks' area (pixels of each union; :func:`metrics.pickable_area_fraction` is their ratio)."""
    out = []
    for (m, _), g in zip(preds, gts):
        gt_area = int(np.asarray(g, bool).any(0).sum()) if len(g) else 0
        pred_area = int(np.asarray(m, bool).any(0).sum()) if len(m) else 0
        out.append((*M.double_pick(m, g, radius), pred_area, gt_area))
    return out


def pooled_picks(per_image: Sequence[tuple[int, int, int, int]]) -> dict[str, float]:
    """Fig. 5's point, pooled over images: the double-pick rate D/N (%) and the pickable-area fraction, "the area of
    all the predicted masks over the area of all the ground truth masks" (§V-D), over the images that have ground
    truth."""
    d, n = sum(x[0] for x in per_image), sum(x[1] for x in per_image)
    pred = sum(x[2] for x in per_image if x[3] > 0)
    gt = sum(x[3] for x in per_image)
    return {"double_pick_pct": 100 * d / n if n else float("nan"), "circles_in_one_mask": n,
            "pickable_area_fraction": pred / gt if gt else float("nan")}


def add_intervals(table: pd.DataFrame, replicates: list[pd.DataFrame], columns: Sequence[str],
                  ignore_nan: bool = False) -> None:
    """``<column>_lo`` / ``_hi``: the 95 % percentile interval of each row's value over the replicates (in place)."""
    pct = np.nanpercentile if ignore_nan else np.percentile
    for name in columns:
        if not replicates:
            table[f"{name}_lo"] = table[f"{name}_hi"] = np.nan
            continue
        vals = np.array([[rep.set_index("method").loc[k, name] for k in table.method] for rep in replicates])
        table[f"{name}_lo"], table[f"{name}_hi"] = pct(vals, 2.5, axis=0), pct(vals, 97.5, axis=0)


def picking_table(points: dict[str, dict], n_boot: int, seed: int) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Fig. 5, Fig. 8 (right) and Table III as one table: per row (e.g. ``"apparel: MaskRCNN"``,
    ``"apparel: Confidence p=0.9"``) the double-pick rate (%), the pickable-area fraction, the ROC AUC of scores
    predicting IoU > 0.5 and the share of predictions with IoP > 0.95, with paired
    image-bootstrap replicates and their 95 % intervals. ``points[row] = {"per_image": [(d, n, frac)], "overlaps": DataFrame}`` — every row
    over the same images."""
    rng = np.random.default_rng(seed)
    keys = list(points)
    n_img = len(points[keys[0]]["per_image"])
    by_image = {}
    for k in keys:
        ov = points[k]["overlaps"]
        img = ov.image.to_numpy()
        by_image[k] = [(ov.score.to_numpy()[img == i], ov.iou.to_numpy()[img == i], ov.iop.to_numpy()[img == i])
                       for i in range(n_img)]

    def row(key: str, idx: np.ndarray) -> dict:
        sc = np.concatenate([by_image[key][i][0] for i in idx])
        io = np.concatenate([by_image[key][i][1] for i in idx])
        ip = np.concatenate([by_image[key][i][2] for i in idx])
        return {"method": key, **pooled_picks([points[key]["per_image"][i] for i in idx]),
                "auc": M.roc_auc(sc, io > 0.5) if len(sc) else float("nan"),
                "iop_above_0.95_pct": 100 * float((ip > 0.95).mean()) if len(ip) else float("nan"),
                "predictions": len(sc)}

    every = np.arange(n_img)
    table = pd.DataFrame([row(k, every) for k in keys])
    replicates = []
    for _ in range(n_boot):
        idx = rng.integers(0, n_img, n_img)
        replicates.append(pd.DataFrame([row(k, idx) for k in keys]))
    add_intervals(table, replicates, ("double_pick_pct", "pickable_area_fraction", "auc", "iop_above_0.95_pct"),
                  ignore_nan=True)
    return table, replicates


def sample_agreement(samples: Sequence[tuple[np.ndarray, np.ndarray]], min_score: float = 0.5,
                     iou: float = 0.5) -> float:
    """How alike the ``k`` latent samples of one image are: over ordered pairs of samples (i, j), the share of
    sample i's masks scoring above ``min_score`` that some mask of sample j (also above ``min_score``) overlaps with
    IoU >= ``iou``. 1.0: every sample predicts the same instances (the prior's latents change nothing, so
    confidence masks reduce to one sample's masks); lower: the samples disagree. NaN when no sample has a mask."""
    from scipy import sparse

    kept = []
    for m, sc in samples:
        m = np.asarray(m, bool)[np.asarray(sc) > min_score]
        kept.append(m.reshape(len(m), int(np.prod(m.shape[1:])) if m.ndim == 3 else 0))
    sizes = [len(a) for a in kept]
    if not any(sizes):
        return float("nan")
    # every pair's intersection at once (a sparse product: masks cover a few percent of an image); the counts are
    # exact integers, so in float32 they and the IoU below equal a dense product's bit for bit
    flat = sparse.csr_matrix(np.concatenate([a for a in kept if len(a)]), dtype=np.float32)
    inter_all = (flat @ flat.T).toarray()
    area_all = inter_all.diagonal().copy()
    start = np.concatenate([[0], np.cumsum(sizes)])
    hits = total = 0
    for i, a in enumerate(kept):
        for j, b in enumerate(kept):
            if i == j or len(a) == 0:
                continue
            total += len(a)
            if len(b) == 0:
                continue
            rows, cols = slice(start[i], start[i + 1]), slice(start[j], start[j + 1])
            inter = inter_all[rows, cols]
            union = area_all[rows][:, None] + area_all[cols][None] - inter
            hits += int(((inter / np.maximum(union, 1)) >= iou).any(1).sum())
    return hits / total if total else float("nan")


NEARLY_DETERMINISTIC = 0.9  # another sample reproduces more than this share of a sample's masks


def latent_use_sentences(diag: pd.DataFrame, agree_th: float = NEARLY_DETERMINISTIC) -> list[str]:
    """What the samples' agreement (``diag``: one row per set with ``set`` and ``sample_agreement``, the mean of
    :func:`sample_agreement` over images and seeds) allows one to say about the claims on confidence masks and
    Union-NMS, one paragraph per group of sets: agreement above ``agree_th`` — the latent changes little, so those
    claims test a nearly deterministic model; at or under it — the latent is used, so identical samples do not explain
    a miss; NaN — no sample mask scored above 0.5, agreement not measured."""
    if not 0 < agree_th < 1:
        raise ValueError(f"latent_use_sentences: agree_th must lie in (0, 1), got {agree_th}")
    if len(diag) == 0:
        raise ValueError("latent_use_sentences: no set to describe (empty diagnostics table)")
    agreement = diag["sample_agreement"]
    same = diag[agreement > agree_th].set.tolist()
    differ = diag[agreement <= agree_th].set.tolist()
    unmeasured = diag[agreement.isna()].set.tolist()
    out = []
    if same:
        out.append(f"The samples agree on more than {100 * agree_th:.0f} % of their masks on "
                   f"{'every set' if len(same) == len(diag) else ', '.join(same)}: there the latent changes little, "
                   "so the comparisons of confidence masks and Union-NMS with MaskRCNN test a nearly deterministic "
                   "model; whether a longer schedule (the paper profile) changes that is not measured here.")
    if differ:
        out.append(f"On {', '.join(differ)} the samples differ (agreement at or under {100 * agree_th:.0f} %): the "
                   "latent is used there, so a miss on that set is not explained by identical samples.")
    if unmeasured:
        out.append(f"On {', '.join(unmeasured)} no sample has a mask scoring above 0.5, so agreement is not "
                   "measured there.")
    return out
