"""§IV-B's claims read against our Table I, once at the paper's centre threshold and once on the tuned-threshold rows.

Table I holds two rows per network: ``Ours <r>`` (the paper's centre threshold) and ``Ours <r>, tuned threshold``
(our departure: the threshold chosen on training frames, :mod:`robopercept.fastseg.threshold`). The claims file names
the paper's rows only, so each reading picks one of the two, renamed as the paper's; the baseline (no centres) is the
same row in both readings, and ``Ours, baseline network`` is the OS1 row of the baseline's encoder.

Seeds: the table's rows are seed means and the bootstrap resamples frames (:mod:`robopercept.fastseg.evaluate`), so
the interval does not see how far the seeds disagree. Each claim is therefore also read on each seed's table alone
(column ``caveat``: "held on s of n seeds", with each seed's margin); a claim held or missed on the seed mean but not
on every seed is *inconclusive* — two seeds that point opposite ways are no evidence either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..reporting import claims, untrained

TUNED = ", tuned threshold"
METRICS = ("mAP@50", "mAP", "IoU")


def unlearned_seeds(instances: Sequence[int], seed_map50: Sequence[float], paper_map50: float,
                    share: float) -> int:
    """Seeds of one row whose instance heads did not learn: they predicted no instance on any frame, or their mAP@50
    is below ``share`` of the paper's mAP@50 for the row (NaN paper value: only the first rule applies). A claim
    comparing such a row is flagged: "B beats A" with both near zero is evidence neither for nor against the paper."""
    if len(instances) != len(seed_map50):
        raise ValueError(f"unlearned_seeds: {len(instances)} instance counts for {len(seed_map50)} seeds' scores")
    floor = share * paper_map50 if np.isfinite(paper_map50) else 0.0
    return int(sum(n == 0 or m < floor for n, m in zip(instances, seed_map50)))


def seed_table(scores: Mapping[str, Sequence[Mapping[str, float]]],
               instances: Mapping[str, Sequence[int]]) -> pd.DataFrame:
    """Table I per seed (``table1_seeds``): one row per (method, seed) with the three metrics of that seed's model scored
    alone and the instances it predicted over all frames. ``scores``: method -> each seed's scores
    (:func:`robopercept.fastseg.evaluate.seed_scores`); ``instances``: method -> each seed's instance count."""
    rows = []
    for name, per in scores.items():
        if len(per) != len(instances[name]):
            raise ValueError(f"seed_table: {name!r} has {len(per)} seeds' scores and {len(instances[name])} "
                             "instance counts")
        rows += [{"method": name, "seed": j, **{m: sc[m] for m in METRICS}, "instances": int(instances[name][j])}
                 for j, sc in enumerate(per)]
    return pd.DataFrame(rows, columns=["method", "seed", *METRICS, "instances"])


def seed_tables(table1_seeds: pd.DataFrame) -> list[pd.DataFrame]:
    """:func:`seed_table` split into one table per seed (``method`` and the metrics), as :func:`claims_verdict` reads."""
    return [g.drop(columns=["seed", "instances"]).reset_index(drop=True)
            for _, g in table1_seeds.groupby("seed", sort=True)]


def metrics_flags(verdict: pd.DataFrame, verdict_tuned: pd.DataFrame | None) -> dict:
    """What the metrics file holds beside the verdicts: the claims flagged for comparing a row that never learned, and
    the tuned-threshold reading's verdicts and flags — so a dashboard that reads verdicts cannot drop them."""
    out = {"flagged_untrained": {r.id: r.untrained_rows for r in verdict.itertuples() if r.untrained_rows}}
    if verdict_tuned is not None:
        out |= {"tuned_verdicts": dict(zip(verdict_tuned.id, verdict_tuned.verdict)),
                "tuned_flagged_untrained": {r.id: r.untrained_rows for r in verdict_tuned.itertuples()
                                            if r.untrained_rows}}
    return out


def as_paper_rows(frame: pd.DataFrame, tuned_rows: bool, baseline_model: str) -> pd.DataFrame:
    """``frame``'s rows under the names the claims file reads (see the module docstring)."""
    if "method" not in frame.columns:
        raise ValueError(f"as_paper_rows: the table has no 'method' column (columns {list(frame.columns)})")
    ours = frame.method.str.startswith("Ours ")
    picked = frame[ours & (frame.method.str.endswith(TUNED) == tuned_rows)]
    out = pd.concat([frame[~ours], picked.assign(method=picked.method.str.removesuffix(TUNED))], ignore_index=True)
    base = out[out.method == f"Ours {baseline_model}"]
    if base.empty:
        raise ValueError(f"as_paper_rows: no row 'Ours {baseline_model}' (the baseline's encoder at OS1) among "
                         f"{sorted(out.method)}")
    return pd.concat([out, base.assign(method="Ours, baseline network")], ignore_index=True)


def claims_verdict(table1: pd.DataFrame, replicates: Sequence[Mapping[str, Mapping[str, float]]],
                   claims_file: str | Path, baseline_model: str, tuned_rows: bool,
                   seed_tables: Sequence[pd.DataFrame] | None = None) -> pd.DataFrame:
    """The claims of ``claims_file`` on Table I (``method``, the three metrics and ``untrained_seeds``) with paired
    bootstrap ``replicates`` (method -> metric -> value, as :func:`robopercept.fastseg.evaluate.bootstrap` returns).
    Claims comparing a row with a seed whose instance heads did not learn (:func:`unlearned_seeds`, counted in
    ``untrained_seeds``) are flagged — on instance AP only: a claim on semantic IoU alone is never flagged.
    ``seed_tables``: one table per seed (``method`` and the three metrics of that seed's models alone); a claim whose
    seeds do not all agree with its verdict becomes inconclusive (see the module docstring), and so does a flagged
    claim (:func:`untrained_inconclusive`)."""
    table = as_paper_rows(table1[["method", *METRICS, "untrained_seeds"]], tuned_rows, baseline_model)
    reps = [as_paper_rows(pd.DataFrame([{"method": n, **{m: v[m] for m in METRICS}} for n, v in rep.items()]),
                          tuned_rows, baseline_model) for rep in replicates]
    out = untrained.flag(claims.evaluate_claims(claims_file, table, reps), claims_file, table, "untrained_seeds",
                         metrics=["AP", "AP50"])
    if seed_tables:
        per_seed = [claims.evaluate_claims(claims_file, as_paper_rows(t[["method", *METRICS]], tuned_rows,
                                                                      baseline_model)).set_index("id")
                    for t in seed_tables]
        out = agree_over_seeds(out, per_seed)
    return pd.concat([untrained_inconclusive(out), not_evaluated(claims_file)], ignore_index=True)


NOT_EVALUATED_KEYS = ("id", "section", "quote", "claim", "reason")


def not_evaluated(claims_file: str | Path) -> pd.DataFrame:
    """The sentences the claims file lists under ``not_evaluated`` (a wall-clock half measured by the benchmark, a
    comparison with methods we do not train), as verdict rows with verdict "not evaluated" and the reason in ``note``
    — so a tally of the paper's claims counts them instead of leaving them out. Same columns as
    :func:`claims_verdict`'s other rows."""
    spec = claims.load_spec(claims_file)
    entries = spec.get("not_evaluated") or []
    if not isinstance(entries, list):
        raise claims.ClaimError(f"{claims_file}: 'not_evaluated' must be a list of entries")
    taken = {c["id"] for c in spec["claims"]}
    rows = []
    for e in entries:
        missing = [k for k in NOT_EVALUATED_KEYS if not str((e or {}).get(k, "")).strip()]
        if missing:
            raise claims.ClaimError(f"{claims_file}: not_evaluated entry {(e or {}).get('id', '?')!r} lacks "
                                    f"{', '.join(missing)}")
        if e["id"] in taken:
            raise claims.ClaimError(f"{claims_file}: duplicate claim id {e['id']!r}")
        taken.add(e["id"])
        rows.append({"id": e["id"], "section": e["section"], "quote": " ".join(str(e["quote"]).split()),
                     "claim": " ".join(str(e["claim"]).split()), "expr": "", "holds": None, "margin": np.nan,
                     "margin_lo": np.nan, "margin_hi": np.nan, "share_held": np.nan, "verdict": "not evaluated",
                     "baseline_collapsed": False, "caveat": "", "if_missed": "",
                     "note": " ".join(str(e["reason"]).split()), "untrained_rows": ""})
    return pd.DataFrame(rows)


def untrained_inconclusive(verdict: pd.DataFrame) -> pd.DataFrame:
    """``verdict`` with every held / missed claim that compares a row whose instance heads did not learn (a non-empty
    ``untrained_rows``) turned inconclusive, the comparison's own outcome kept in ``caveat``: "B beats A" with A near
    zero is evidence neither for nor against the paper, and a count of verdicts must not read it as support.
    An inconclusive claim on such a row says so in ``caveat`` too (its interval is not the only reason)."""
    out = verdict.copy()
    for i, row in out.iterrows():
        if not row["untrained_rows"]:
            continue
        if row["verdict"] in (claims.HELD, claims.MISSED):
            text = (f"the comparison alone says '{row['verdict']}', but {row['untrained_rows']} did not learn "
                    "instances, so inconclusive")
            out.at[i, "verdict"] = claims.INCONCLUSIVE
        elif row["verdict"] == claims.INCONCLUSIVE:
            text = f"{row['untrained_rows']} did not learn instances"
        else:
            continue
        out.at[i, "caveat"] = "; ".join(x for x in (row["caveat"], text) if x)
    return out


def agree_over_seeds(verdict: pd.DataFrame, per_seed: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """``verdict`` with each evaluated claim's per-seed reading in ``caveat`` (inconclusive ones too: the seeds say
    whether the interval or a split is why) and held / missed turned inconclusive where a seed disagrees.
    ``per_seed``: :func:`claims.evaluate_claims` of each seed's table, indexed by claim id."""
    out = verdict.copy()
    for i, row in out.iterrows():
        seeds = [s.loc[row["id"]] for s in per_seed if row["id"] in s.index and s.loc[row["id"]]["holds"] is not None]
        if not seeds or row["verdict"] not in (claims.HELD, claims.MISSED, claims.INCONCLUSIVE):
            continue
        held = sum(bool(s["holds"]) for s in seeds)
        text = (f"held on {held} of {len(seeds)} seeds (margins "
                + ", ".join(f"{s['margin']:+.2f}" for s in seeds) + ")")
        agree = held == len(seeds) if row["verdict"] == claims.HELD else held == 0
        if row["verdict"] != claims.INCONCLUSIVE and not agree:
            text += f"; the seed mean's '{row['verdict']}' is not on every seed, so inconclusive"
            out.at[i, "verdict"] = claims.INCONCLUSIVE
        out.at[i, "caveat"] = "; ".join(x for x in (row["caveat"], text) if x)
    return out
