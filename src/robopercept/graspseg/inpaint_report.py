"""The inpainting comparison's statistics (§III-B.3's "is diffusion worth it here?", a measurement the paper
does not make): per-image scores from :func:`robopercept.graspseg.inpaint.evaluate_inpainters` become

* each inpainter's mean absolute error with a 95 % bootstrap interval over images, and
* the paired difference between two inpainters that filled the *same* images — resampling images, not
  inpainters, so that an image's difficulty, shared by both, cancels.

Kept out of ``inpaint.py``: Table II's stage imports that module (it trains with the inpainter), and the
report's arithmetic is not a reason to retrain Table II.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class PairedDifference:
    """``candidate − reference`` mean absolute error over the images both filled, with its bootstrap interval."""

    candidate: str
    reference: str
    images: int
    mean: float
    lo: float
    hi: float

    @property
    def verdict(self) -> str:
        """``"lower"`` / ``"higher"`` when the interval excludes 0 (the candidate errs less / more), else ``"unclear"``."""
        return "lower" if self.hi < 0 else "higher" if self.lo > 0 else "unclear"


def summarize_inpainters(scores: pd.DataFrame, candidate: str, reference: str, n_boot: int = 1000,
                         seed: int = 0) -> tuple[pd.DataFrame, PairedDifference]:
    """Per-inpainter summary (``inpainter, images, MAE, MAE_lo, MAE_hi, PSNR_dB``, in ``scores``' order) and
    the paired ``candidate − reference`` difference, both from one random stream seeded by ``seed``
    (the per-inpainter intervals draw first, so the numbers depend only on ``scores``, ``n_boot`` and ``seed``).

    ``scores``: one row per (inpainter, image) with columns ``inpainter, image, mae, psnr_db``."""
    missing = {"inpainter", "image", "mae", "psnr_db"} - set(scores.columns)
    if missing:
        raise ValueError(f"summarize_inpainters: scores lack the column(s) {sorted(missing)}")
    if n_boot < 1:
        raise ValueError(f"summarize_inpainters: n_boot must be >= 1, got {n_boot}")
    names = list(dict.fromkeys(scores.inpainter))
    for role, name in (("candidate", candidate), ("reference", reference)):
        if name not in names:
            raise ValueError(f"summarize_inpainters: {role} {name!r} has no scores (inpainters scored: {names})")
    rng = np.random.default_rng(seed)
    rows = []
    for name, g in scores.groupby("inpainter", sort=False):
        boots = [g.sample(len(g), replace=True, random_state=rng.integers(2 ** 31)).mae.mean() for _ in range(n_boot)]
        rows.append({"inpainter": name, "images": len(g), "MAE": g.mae.mean(), "MAE_lo": np.percentile(boots, 2.5),
                     "MAE_hi": np.percentile(boots, 97.5), "PSNR_dB": g.psnr_db.mean()})
    paired = scores.pivot(index="image", columns="inpainter", values="mae")[[candidate, reference]].dropna()
    diff = (paired[candidate] - paired[reference]).to_numpy()
    boot = [diff[rng.integers(0, len(diff), len(diff))].mean() for _ in range(n_boot)]
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return pd.DataFrame(rows), PairedDifference(candidate, reference, len(diff), float(diff.mean()), float(lo),
                                                float(hi))
