"""§IV-A: statistics of a grasp-interaction dataset, and why image subtraction fails on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..common.records import read_json
from ..formats.grasp_pairs import SPLITS, iter_grasp_folders, read_sample
from .baselines import grey_blur, subtract
from .metrics import iou, relative_error


# the fields of a grasp's record.json that :func:`records` reads
RECORD_KEYS = ("grasped.object", "grasped.category", "grasped.glossy", "grasped.visible_px", "objects_in_bin",
               "grasp.sealed_cups", "grasp.active_cups", "neighbours_moved", "lighting_changed", "bumped_instance")


def records(root: Path) -> pd.DataFrame:
    """One row per stored grasp: split, object, category, motion and lighting flags, mask size."""
    rows = []
    for split in SPLITS:
        for folder in iter_grasp_folders(root, split):
            r = read_json(folder / "record.json", stage="graspseg_grasp_data", kind="grasp record",
                          required=RECORD_KEYS)
            moved = [m for m in r["neighbours_moved"].values()]
            rows.append({
                "split": split, "folder": str(folder.relative_to(root)), "object": r["grasped"]["object"],
                "category": r["grasped"]["category"], "glossy": r["grasped"]["glossy"],
                "visible_px": r["grasped"]["visible_px"], "objects_in_bin": r["objects_in_bin"],
                "sealed_cups": r["grasp"]["sealed_cups"], "active_cups": sum(r["grasp"]["active_cups"]),
                "neighbour_moved": bool(moved), "neighbours_moved": len(moved),
                "lighting_changed": r["lighting_changed"], "bumped": r["bumped_instance"] is not None,
            })
    if not rows:
        raise ValueError(f"no grasps found under {root}")
    return pd.DataFrame(rows)


def split_table(summary: dict, recs: pd.DataFrame, image_px: int) -> pd.DataFrame:
    """The §IV-A statistics table, one row per split."""
    out = []
    for split, s in summary["splits"].items():
        r = recs[recs.split == split]
        out.append({
            "split": split, "pairs": s["pairs"], "attempts": s["attempts"],
            "success_rate": s["pairs"] / s["attempts"] if s["attempts"] else np.nan,
            "bins": s["bins"], "objects_per_bin": r.objects_in_bin.mean() if len(r) else np.nan,
            "neighbour_moved": r.neighbour_moved.mean() if len(r) else np.nan,
            "lighting_changed": r.lighting_changed.mean() if len(r) else np.nan,
            "glossy_grasped": r.glossy.mean() if len(r) else np.nan,
            "mask_pct_median": 100 * r.visible_px.median() / image_px if len(r) else np.nan,
        })
    return pd.DataFrame(out)


def subtraction_diagnostics(root: Path, split: str, threshold: float, ksize: int) -> pd.DataFrame:
    """Per-grasp IOU and relative error of Subtract on a labeled split, with the nuisance flags."""
    rows = []
    for folder in iter_grasp_folders(root, split):
        s = read_sample(folder)
        if s.visible is None:
            raise ValueError(f"{folder} has no labels; subtraction diagnostics need a labeled split")
        pred = subtract(s.before, s.after, threshold, ksize)
        gb, ga = grey_blur(s.before, 1), grey_blur(s.after, 1)
        rows.append({"folder": str(folder.relative_to(root)), "iou": iou(pred, s.visible),
                     "error": relative_error(pred, s.visible),
                     # how much the grasped object's pixels changed in grey level: near 0 when the
                     # object and what lies under it have the same luminance (isoluminant colours)
                     "grey_contrast": float(np.abs(gb[s.visible] - ga[s.visible]).mean()),
                     "neighbour_moved": bool(s.record["neighbours_moved"]),
                     "lighting_changed": s.record["lighting_changed"], "glossy": s.record["grasped"]["glossy"]})
    return pd.DataFrame(rows)


def nuisance_breakdown(diag: pd.DataFrame) -> pd.DataFrame:
    """Subtract mIOU with and without each nuisance (the 'why' of Table I's Subtract row)."""
    clean = ~(diag.neighbour_moved | diag.lighting_changed | diag.glossy)
    groups = {
        "all": np.ones(len(diag), bool), "no nuisance": clean.values,
        "neighbour moved": diag.neighbour_moved.values, "lighting changed": diag.lighting_changed.values,
        "glossy object": diag.glossy.values,
    }
    return pd.DataFrame([{"subset": k, "grasps": int(m.sum()),
                          "mIOU": 100 * diag.iou[m].mean() if m.any() else np.nan,
                          "error_pct": 100 * diag.error[m].mean() if m.any() else np.nan}
                         for k, m in groups.items()])
