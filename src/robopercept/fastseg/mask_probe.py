"""Why do found centres not give masks? A diagnostic of §III-B's assignment step on trained networks.

    python -m robopercept.fastseg.mask_probe MODELS DATASET [--row "MNv2 OSk"] [--seed 0] [--threshold 0.15]
        [--val 20] [--assign 0.1 0.2 0.4 inf]

For one trained network (``MODELS``: the ``fastseg_train`` stage's folder, e.g. ``artifacts/models/fastseg``) and
``--val`` validation frames, runs the centre-based post-processing at centre threshold ``--threshold`` once per
assignment distance in ``--assign`` (the paper's filter is δ_a = 0.1: elements farther than it from every centre are
dropped; ``inf``: no filter) and prints, per distance: predicted instances, the share of the predicted classes'
elements left unassigned, and for each predicted instance its best IoU with a ground-truth instance of its class
(median, share >= 0.5) and its area over that instance's area (median). A filter that drops most of each instance
shows as a small area ratio that grows as the distance does. Nothing it prints enters a DVC output.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch

from .dataset import FrameSet
from .evaluate import CLASS_LABEL_IDS
from .postprocess import PostSettings, grid_instances, upsample_instances
from .superpixels import grid_slic


@torch.no_grad()
def probe(model, ds: FrameSet, threshold: float, assign: list[float], compactness: float = 10.0,
          min_pixels: int = 10) -> list[dict]:
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    if not assign or any(not a > 0 for a in assign):
        raise ValueError(f"assignment distances must be > 0 (inf: no filter), got {assign}")
    if len(ds) == 0:
        raise ValueError("mask_probe: no validation frames")
    k = model.settings.dec_os
    outs = []
    for i in range(len(ds)):
        f = ds.frames[i]
        image = torch.from_numpy(np.ascontiguousarray(f.rgb)).permute(2, 0, 1).float() / 255
        out = model(image[None])
        index = grid_slic(np.ascontiguousarray(f.rgb), k, compactness).numpy() if k > 1 else None
        outs.append((f, out, index))
    rows = []
    for a in assign:
        post = PostSettings(centre_threshold=threshold, assign_distance=a, min_pixels=min_pixels)
        n_inst, unassigned, total, ious, ratios = 0, 0, 0, [], []
        for f, out, index in outs:
            sem, inst = grid_instances(out["semantic"][0], out["centre"][0], out["embedding"][0], post)
            classes = {i.class_index for i in inst}
            in_class = np.isin(sem, list(classes)) if classes else np.zeros(sem.shape, bool)
            covered = np.zeros(sem.shape, bool)
            for i in inst:
                covered |= i.mask
            total += int(in_class.sum())
            unassigned += int((in_class & ~covered).sum())
            sem_full, inst = upsample_instances(sem, inst, index, post.min_pixels)
            gt, gt_labels = f.instance_masks()
            n_inst += len(inst)
            for i in inst:
                same = gt[gt_labels == CLASS_LABEL_IDS[i.class_index]]
                if len(same) == 0:
                    ious.append(0.0)
                    continue
                inter = (same & i.mask).sum((1, 2))
                union = (same | i.mask).sum((1, 2))
                j = int(np.argmax(inter / np.maximum(union, 1)))
                ious.append(float(inter[j] / max(union[j], 1)))
                ratios.append(float(i.mask.sum() / max(same[j].sum(), 1)))
        rows.append({"assign_distance": a, "instances": n_inst,
                     "unassigned_share": unassigned / total if total else math.nan,
                     "iou_median": float(np.median(ious)) if ious else math.nan,
                     "iou_at_least_0.5": float(np.mean(np.array(ious) >= 0.5)) if ious else math.nan,
                     "area_ratio_median": float(np.median(ratios)) if ratios else math.nan})
    return rows


def main(argv=None) -> None:
    from .sweep import load_model

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", help="fastseg_train's models folder (artifacts/models/fastseg)")
    ap.add_argument("dataset", help="the Cityscapes-layout folder (artifacts/datasets/fastseg_cityscapes)")
    ap.add_argument("--row", default="MNv2 OSk")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threshold", type=float, default=0.15)
    ap.add_argument("--val", type=int, default=20)
    ap.add_argument("--assign", type=float, nargs="+", default=[0.1, 0.2, 0.4, math.inf])
    ap.add_argument("--height", type=int, default=128)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    model, _ = load_model(Path(a.models), a.row, a.seed)
    ds = FrameSet(a.dataset, "val", size=(a.height, a.width), n=a.val)
    for r in probe(model, ds, a.threshold, a.assign):
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()), flush=True)


if __name__ == "__main__":
    main()
