"""The conclusions notebook 3 (§IV, Table I) states in words, computed from its tables.

Every sentence that draws a conclusion from Table I's numbers — whether our -Filter rows are comparable with the
paper's, whether the baselines keep the paper's ranking on each kind of test grasp, whether tuning is what moves
the baselines away from the paper's order — is built here from the numbers alone, so the notebook never types a
conclusion and each branch is tested (``tests/test_graspseg_table1_findings.py``).

Kept apart from :mod:`.table1` (the evaluation) on purpose: these functions only read its tables.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

#: a -Filter row whose test recall is more than this many points from the paper's is judged against it
RECALL_GAP_PTS = 10.0

NUISANCES = ("neighbour moved", "light changed", "glossy object")


# -- recall comparability of the -Filter rows ------------------------------------------------------------------

def recall_comparability(rows: pd.DataFrame, gap_pts: float = RECALL_GAP_PTS) -> pd.DataFrame:
    """Per model -Filter row (columns ``method``, ``recall_pct``, ``paper_recall_pct``): its recall gap to the
    paper's row and the judgement, ``not comparable`` (keeps more than ``gap_pts`` points more of the test
    grasps: its mIOU and error average over grasps the paper's filter would have dropped), ``more selective``
    (more than ``gap_pts`` fewer) or ``within``."""
    rows = rows.dropna(subset=["paper_recall_pct"])
    gap = rows.recall_pct - rows.paper_recall_pct
    return pd.DataFrame({"method": rows.method.to_numpy(), "recall_pct": rows.recall_pct.to_numpy(),
                         "paper_recall_pct": rows.paper_recall_pct.to_numpy(), "gap_pts": gap.to_numpy(),
                         "judgement": np.where(gap > gap_pts, "not comparable",
                                               np.where(gap < -gap_pts, "more selective", "within"))})


def recall_sentence(judged: pd.DataFrame, calibration: str, matched: pd.DataFrame | None = None,
                    gap_pts: float = RECALL_GAP_PTS) -> str:
    """The paragraph under the calibrations table: each -Filter row's recall under Table I's threshold
    (``calibration``) against the paper's, judged by :func:`recall_comparability`, then the recalls under the
    recall-matched threshold (``matched``: indexed by method, columns ``recall_pct``, ``paper_recall_pct``)."""
    text = f"Under Table I's threshold ({calibration}) the -Filter rows keep " + "; ".join(
        f"{r.method} {r.recall_pct:.0f} % ({'more' if r.recall_pct > r.paper_recall_pct else 'fewer'} than the "
        f"paper's {r.paper_recall_pct:g} %)" for r in judged.itertuples()) + " of the test grasps. "
    text += "; ".join(
        f"{r.method} is **not comparable** with the paper's row as it stands (it keeps {r.gap_pts:.0f} points more "
        "of the test grasps than the paper's filter did, so its mIOU and error average over grasps the paper's "
        "filter would have dropped)" if r.judgement == "not comparable" else
        f"{r.method} keeps {-r.gap_pts:.0f} points fewer (its filter is more selective than the paper's)"
        if r.judgement == "more selective" else
        f"{r.method} is within {gap_pts:g} points of the paper's recall" for r in judged.itertuples())
    if len(judged) and matched is not None and len(matched):
        text += (". The recall-matched threshold is set so that Grasp-100's validation keep rate equals the paper's "
                 "Grasp-100-Filter recall; it matches that row only. Under it the test recalls are " + ", ".join(
                     f"{m} {matched.loc[m, 'recall_pct']:.0f} % (paper {matched.loc[m, 'paper_recall_pct']:g} %)"
                     for m in judged.method if m in matched.index) + ".")
    else:
        text += "."
    return text


# -- the baselines' ranking by nuisance -------------------------------------------------------------------------

def nuisance_flags(records: Sequence[Mapping]) -> pd.DataFrame:
    """One row per test grasp (its ``record.json``): which nuisance it has, and ``none`` for none of them."""
    flags = pd.DataFrame({"neighbour moved": [bool(r["neighbours_moved"]) for r in records],
                          "light changed": [bool(r["lighting_changed"]) for r in records],
                          "glossy object": [bool(r["grasped"]["glossy"]) for r in records]})
    flags["none"] = ~flags.any(axis=1)
    return flags


def miou_by_nuisance(results, flags: pd.DataFrame) -> pd.DataFrame:
    """mIOU (%) of each baseline (a :class:`.table1.MethodResult`) on the test grasps with each nuisance,
    unfiltered and, as ``<name>-Filter``, over the grasps with it that the contour filter keeps (Table I's
    -Filter mIOU). NaN where a row has no grasp."""
    def mean_on(values: np.ndarray, where: np.ndarray) -> float:
        return 100 * float(values[where].mean()) if where.any() else float("nan")

    unfiltered = {r.name: {c: mean_on(r.iou, flags[c].to_numpy()) for c in flags.columns} for r in results}
    filtered = {r.name + "-Filter": {c: mean_on(r.iou, flags[c].to_numpy() & r.filtered_keep) for c in flags.columns}
                for r in results}
    return pd.DataFrame({**unfiltered, **filtered}).T


def ranking_orders(unfiltered: pd.DataFrame, filtered: pd.DataFrame, paper_order: Sequence[str],
                   paper_order_f: Sequence[str], kinds: Sequence[str]) -> pd.DataFrame:
    """Our order of the baselines (mIOU, descending) on each kind of test grasp (``kinds``: columns of the two
    frames, e.g. :func:`nuisance_flags`' — the frames may hold others, such as a count) against the paper's,
    unfiltered and -Filter. ``= paper's`` is None where a row has no grasp of that kind (no order to compare)."""
    def order(col: pd.Series) -> list[str]:
        return list(col.astype(float).sort_values(ascending=False).index)

    return pd.DataFrame([{"test grasps": c,
                          "unfiltered, ours": " > ".join(order(unfiltered[c])),
                          "= paper's": None if unfiltered[c].isna().any() else order(unfiltered[c]) == list(paper_order),
                          "-Filter, ours": " > ".join(order(filtered[c])),
                          "= paper's -Filter": None if filtered[c].isna().any()
                          else order(filtered[c]) == list(paper_order_f)}
                         for c in kinds])


def order_sentences(orders: pd.DataFrame) -> str:
    """Where the paper's order holds, per kind (unfiltered, -Filter), on the subsets that can be compared."""
    out = []
    for kind, col in (("unfiltered", "= paper's"), ("-Filter", "= paper's -Filter")):
        ok = orders[orders[col].notna()].assign(same=lambda d, c=col: d[c].astype(bool))
        differs = list(ok.loc[~ok.same, "test grasps"])
        if not len(ok):
            out.append(f"The paper's {kind} order cannot be compared on any subset (a row without grasps there).")
        elif ok.same.all():
            out.append(f"The paper's {kind} order holds on every comparable subset of the test grasps.")
        elif "none" in differs:
            others = [g for g in differs if g != "none"]
            out.append(f"Our {kind} order differs from the paper's on the grasps without any nuisance too, so no "
                       "single nuisance of our world is what makes it differ"
                       + (f" (it also differs on: {', '.join(others)})" if others else "") + ".")
        elif "none" in set(ok["test grasps"]):
            out.append(f"The paper's {kind} order holds on the grasps without nuisance and differs on those with: "
                       + ", ".join(differs) + ".")
        else:
            out.append(f"The paper's {kind} order differs on: " + ", ".join(differs)
                       + " (the grasps without nuisance cannot be compared).")
    return " ".join(out)


# -- tuned baselines against OpenCV's defaults ------------------------------------------------------------------

def defaults_findings(methods: Sequence[str], tuned: pd.DataFrame, at_defaults: pd.DataFrame,
                      subtract_miou: float, paper_table: Mapping[str, Sequence[float]]) -> dict:
    """Compare the background-subtraction baselines tuned (``tuned``: indexed by method, ``mIOU``,
    ``error_pct``) with OpenCV's defaults (``at_defaults``: indexed by method, ``defaults_mIOU``,
    ``defaults_error_pct``); Subtract (``subtract_miou``, tuned) ranks among them in both orders.

    Returns the unfiltered ranking at the defaults and tuned, the paper's, ``lifted`` (methods ranked higher tuned
    than at the defaults *and* scoring higher tuned) and ``errors_as_large`` (methods whose error at the defaults
    is at least the paper's)."""
    everyone = [*methods, "Subtract"]
    paper_order = sorted(everyone, key=lambda m: -paper_table[m][0])
    tuned_miou = {m: float(tuned.loc[m, "mIOU"]) for m in methods} | {"Subtract": float(subtract_miou)}
    rank_tuned = sorted(everyone, key=lambda m: -tuned_miou[m])
    rank_defaults = sorted(everyone, key=lambda m: -(tuned_miou[m] if m == "Subtract"
                                                     else float(at_defaults.loc[m, "defaults_mIOU"])))
    lifted = [m for m in methods if rank_tuned.index(m) < rank_defaults.index(m)
              and tuned_miou[m] > float(at_defaults.loc[m, "defaults_mIOU"])]
    errors_as_large = [m for m in methods if float(at_defaults.loc[m, "defaults_error_pct"]) >= paper_table[m][1]]
    return {"paper_order": paper_order, "rank_tuned": rank_tuned, "rank_defaults": rank_defaults, "lifted": lifted,
            "errors_as_large": errors_as_large}


def defaults_sentence(f: dict, methods: Sequence[str], tuned: pd.DataFrame, at_defaults: pd.DataFrame,
                      paper_table: Mapping[str, Sequence[float]]) -> str:
    """The paragraph under the defaults table, from :func:`defaults_findings`."""
    same = f["rank_defaults"] == f["paper_order"]
    text = ("Unfiltered ranking at OpenCV's defaults (Subtract as tuned): " + " > ".join(f["rank_defaults"])
            + (" — the paper's ranking " if same else " — not the paper's ")
            + f"({' > '.join(f['paper_order'])}); tuned: {' > '.join(f['rank_tuned'])}. "
            + "Errors at the defaults: " + ", ".join(
                f"{m} {at_defaults.loc[m, 'defaults_error_pct']:.0f} % "
                f"(tuned {tuned.loc[m, 'error_pct']:.0f}, paper {paper_table[m][1]:g})" for m in methods) + ". ")
    if not same:
        return text + ("The defaults do not reproduce the paper's ranking either, so tuning alone does not explain "
                       "the difference.")
    lifted, large = f["lifted"], f["errors_as_large"]
    return (text + "So the paper's ranking is what these methods give untuned"
            + (", with errors at least as large as the paper's" if len(large) == len(methods) else
               ", though not with errors as large as the paper's for "
               + ", ".join(m for m in methods if m not in large))
            + "; our tuning is what lifts " + (" and ".join(lifted) if lifted else "no method")
            + (" above their places there." if len(lifted) > 1 else " above its place there.")
            + " Table I keeps the tuned rows: against stronger baselines the claims that the learned models beat "
            "them are the harder test.")
