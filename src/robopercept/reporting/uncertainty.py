"""Uncertainty of a results table: a hierarchical bootstrap over seeds and test units.

A results table has one row per method (a trained run, a baseline) and metrics that are *ratios of
sums over test units* — Top-1 = hits / images, mIOU over kept predictions = Σ IoU·kept / Σ kept,
recall = Σ true positives / Σ positives. Two sources of noise move such a number: which test units
were drawn (the bootstrap over units) and which training seed was drawn (the bootstrap over seeds).
One replicate of the table:

* per *unit group* (the single-object test images, the cluttered test scenes, ...), one multiset of
  units drawn with replacement — **shared by every row**, so two methods are compared on the same
  resampled images (a paired bootstrap: what cancels between methods cancels here too);
* per *row*, its seeds drawn with replacement (independently: seeds of two runs are unrelated);
* each metric = mean over the drawn seeds of ``scale · Σ_units num / Σ_units den``.

With every unit once and every seed once this is the point estimate: the mean over seeds of each
seed's ratio. A metric with no per-unit data (e.g. Top-1 after the first epoch, one number per seed)
is a group with a single unit, so only its seeds are resampled. With one seed, only units are
resampled — the intervals then leave out seed noise, and tables say so. With few seeds the seed
bootstrap has few distinct resamples (10 for 3 seeds) and underestimates the seed variance by about
(n − 1)/n: intervals are, if anything, a little narrow.

:func:`bootstrap` returns the point table and ``n_boot`` replicate tables with the same rows and
columns; :mod:`robopercept.reporting.claims` turns them into verdicts (held / missed / inconclusive).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd


@dataclasses.dataclass(frozen=True)
class Ratio:
    """``metric = scale · Σ num / Σ den`` over the units of ``group``."""

    group: str
    num: str
    den: str | None = None  # None: count of units (den = 1 per unit)
    scale: float = 100.0


def _cube(units: pd.DataFrame, group: str, col: str | None, rows: list[str], n_seeds: int,
          row_key: str, seed_key: str, unit_key: str) -> np.ndarray:
    """rows x seeds x units array of ``col`` (1 for ``None``; NaN where a row has no data)."""
    sub = units[units["group"] == group]
    unit_ids = sorted(sub[unit_key].unique())
    pos = {u: k for k, u in enumerate(unit_ids)}
    out = np.full((len(rows), n_seeds, len(unit_ids)), np.nan)
    r_index = {r: k for k, r in enumerate(rows)}
    vals = np.ones(len(sub)) if col is None else sub[col].to_numpy(float)
    for r, s, u, v in zip(sub[row_key], sub[seed_key], sub[unit_key], vals):
        out[r_index[r], int(s), pos[u]] = v
    return out


def bootstrap(units: pd.DataFrame, ratios: dict[str, Ratio], *, row_key: str = "method", seed_key: str = "seed",
              unit_key: str = "unit", n_boot: int = 1000, seed: int = 0) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Point table and ``n_boot`` replicate tables (see the module docstring).

    ``units``: long frame, one row per (row, seed, group, unit) with the numerator/denominator
    columns the ``ratios`` name; ``group`` says which test units a metric is computed over. Seeds
    are numbered 0..n-1 per row; rows may have different numbers of seeds. Missing cells give NaN.
    """
    if units.empty:
        raise ValueError("bootstrap: no per-unit results (empty table)")
    for c in ("group", row_key, seed_key, unit_key):
        if c not in units.columns:
            raise ValueError(f"bootstrap: the per-unit table has no {c!r} column")
    if n_boot < 1:
        raise ValueError(f"bootstrap: n_boot must be >= 1, got {n_boot}")
    dup = units.duplicated(["group", row_key, seed_key, unit_key])
    if dup.any():
        first = units[dup].iloc[0]
        raise ValueError(f"bootstrap: duplicate result for row {first[row_key]!r}, seed {first[seed_key]}, "
                         f"group {first['group']!r}, unit {first[unit_key]!r}")
    numbering = units.groupby(row_key)[seed_key].agg(lambda s: sorted(set(s)) == list(range(len(set(s)))))
    if not numbering.all():
        raise ValueError(f"bootstrap: seeds must be numbered 0..n-1 per row; not so for {list(numbering[~numbering].index)}")
    rows = list(dict.fromkeys(units[row_key]))
    seeds_of = units.groupby(row_key)[seed_key].nunique().reindex(rows).to_numpy()
    n_seeds = int(units[seed_key].max()) + 1
    cubes = {}
    for name, r in ratios.items():
        if r.group not in set(units["group"]):
            raise ValueError(f"bootstrap: metric {name!r} needs unit group {r.group!r}, which the table lacks")
        num = _cube(units, r.group, r.num, rows, n_seeds, row_key, seed_key, unit_key)
        den = _cube(units, r.group, r.den, rows, n_seeds, row_key, seed_key, unit_key)
        cubes[name] = (num, den, r.scale)
    groups = sorted({r.group for r in ratios.values()})
    n_units = {g: next(c[0].shape[2] for n, c in cubes.items() if ratios[n].group == g) for g in groups}

    def table(unit_w: dict[str, np.ndarray], seed_w: np.ndarray) -> pd.DataFrame:
        data = {row_key: rows}
        for name, (num, den, scale) in cubes.items():
            w = unit_w[ratios[name].group]
            with np.errstate(invalid="ignore", divide="ignore"):
                per_seed = scale * np.nansum(num * w, axis=2) / np.nansum(den * w, axis=2)  # rows x seeds
            per_seed = np.where(np.isnan(num).all(axis=2), np.nan, per_seed)
            with np.errstate(invalid="ignore"):
                sw = np.where(np.isnan(per_seed), 0.0, seed_w)
                total = sw.sum(axis=1)
                data[name] = np.where(total > 0, np.nansum(per_seed * sw, axis=1) / np.where(total > 0, total, 1),
                                      np.nan)
        return pd.DataFrame(data)

    seed_point = np.zeros((len(rows), n_seeds))
    for k, n in enumerate(seeds_of):
        seed_point[k, :n] = 1.0
    point = table({g: np.ones(n_units[g]) for g in groups}, seed_point)
    rng = np.random.default_rng(seed)
    reps = []
    for _ in range(n_boot):
        unit_w = {g: np.bincount(rng.integers(0, n_units[g], n_units[g]), minlength=n_units[g]).astype(float)
                  for g in groups}
        seed_w = np.zeros((len(rows), n_seeds))
        for k, n in enumerate(seeds_of):
            seed_w[k, :n] = np.bincount(rng.integers(0, n, n), minlength=n)
        reps.append(table(unit_w, seed_w))
    return point, reps


def interval(replicates: list[pd.DataFrame], column: str, row_key: str = "method",
             level: float = 0.95) -> pd.DataFrame:
    """Percentile interval of ``column`` per row over the replicates (columns ``lo``, ``hi``)."""
    stacked = np.stack([r[column].to_numpy(float) for r in replicates])
    a = (1 - level) / 2
    with np.errstate(all="ignore"):
        lo, hi = np.nanquantile(stacked, a, axis=0), np.nanquantile(stacked, 1 - a, axis=0)
    return pd.DataFrame({row_key: replicates[0][row_key].to_numpy(), f"{column}_lo": lo, f"{column}_hi": hi})


def wilson_interval(successes: int, trials: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval (95 % by default) of a success rate ``successes / trials``, as fractions.
    Better than the normal approximation near 0 % and 100 % and for the ~100-trial tables of robot
    experiments."""
    if trials <= 0:
        return float("nan"), float("nan")
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * np.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def seed_difference(a, b, k: float = 2.0) -> dict:
    """Is the difference of two models' per-seed results beyond their seed noise?

    ``a`` and ``b`` are one number per trained seed (NaN ignored). The difference of the seed means is read
    against ``k`` standard errors: with ≥ 2 seeds on both sides, ``sqrt(var_a / n_a + var_b / n_b)``; with a
    single run on one side, that run is one draw from a spread taken to be the other side's, so
    ``s · sqrt(1 + 1 / n)``; with one seed on both sides there is no spread to read against and the verdict says
    so. Returns ``diff`` (mean a − mean b), ``se``, ``k``, ``n_a``, ``n_b`` and ``verdict``: "beyond" | "inside" |
    "no seed spread".
    """
    xa = np.asarray(a, float)
    xb = np.asarray(b, float)
    xa, xb = xa[~np.isnan(xa)], xb[~np.isnan(xb)]
    if len(xa) == 0 or len(xb) == 0:
        raise ValueError(f"seed_difference needs >= 1 seed on each side, got {len(xa)} and {len(xb)}")
    diff = float(xa.mean() - xb.mean())
    na, nb = len(xa), len(xb)
    if na >= 2 and nb >= 2:
        se = float(np.sqrt(xa.var(ddof=1) / na + xb.var(ddof=1) / nb))
    elif na >= 2 or nb >= 2:
        many = xa if na >= 2 else xb
        se = float(many.std(ddof=1) * np.sqrt(1 + 1 / len(many)))
    else:
        se = float("nan")
    verdict = "no seed spread" if np.isnan(se) else ("beyond" if abs(diff) > k * se else "inside")
    return {"diff": diff, "se": se, "k": k, "n_a": na, "n_b": nb, "verdict": verdict}
