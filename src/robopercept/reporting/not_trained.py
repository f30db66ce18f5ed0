"""Experiments a profile does not train: one marker for their placeholder tables, and the reason on their claims.

A profile may leave experiments out to fit its budget (don's cpu profile trains Table I and Fig. 5 only). Its stage
still writes every output it declares, so that nothing left over from a run with other parameters stands in for this
one's; what it writes for an experiment it did not train is a **placeholder**:

* **a placeholder table** (:func:`placeholder`) has exactly the columns ``experiment, status``, and every ``status``
  starts with :data:`MARKER` ("not trained at this profile"), followed by the setting that left the experiment out in
  parentheses (:func:`status`). :func:`is_placeholder` is the one test of that definition: the stage writes
  placeholders with :func:`placeholder`, and the site (:mod:`robopercept.site.build`) shows a table that passes
  :func:`is_placeholder` as "Not trained at this profile (…)" and does not count it among the paper tables reproduced;
* **a claim on an untrained experiment's rows** comes out "not evaluated" (its rows are not in the table), and
  :func:`explain_claims` writes why into its ``caveat`` — a column of the claims table
  (:data:`robopercept.reporting.verdicts.COLUMNS`) that the notebook, ``claims.md`` and the site all show — e.g.
  "fig6 not trained at this profile (don_train.experiments: table1, fig5)". A claim that cannot be explained that way
  is an error, not a quiet "not evaluated" (see :func:`explain_claims`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from . import claims, untrained

MARKER = "not trained at this profile"
COLUMNS = ["experiment", "status"]


def status(setting: str) -> str:
    """The status of an untrained experiment: ``"not trained at this profile (<setting>)"``; ``setting`` names the
    parameter that left it out, e.g. ``"don_train.experiments: table1, fig5"``."""
    return f"{MARKER} ({setting})"


def placeholder(experiment: str, setting: str) -> pd.DataFrame:
    """The table an untrained experiment's stage writes in place of its results (one row, :data:`COLUMNS`)."""
    return pd.DataFrame({"experiment": [experiment], "status": [status(setting)]})


def is_placeholder(df: pd.DataFrame) -> bool:
    """True when ``df`` is a placeholder: columns exactly ``experiment, status``, at least one row, and every status
    starting with :data:`MARKER` (a table with numbers of ours is never one)."""
    return (list(df.columns) == COLUMNS and len(df) > 0
            and all(isinstance(s, str) and s.startswith(MARKER) for s in df["status"]))


def reason(df: pd.DataFrame) -> str:
    """A placeholder's status (its distinct statuses joined by "; "), for a reader: "not trained at this profile
    (don_train.experiments: table1, fig5)"."""
    if not is_placeholder(df):
        raise ValueError("not a placeholder table (columns experiment, status; every status starting with "
                         f"{MARKER!r})")
    return "; ".join(dict.fromkeys(df["status"]))


def explain_claims(verdict: pd.DataFrame, claims_file: str | Path, present: Sequence[str],
                   known: Mapping[str, str], skipped: Sequence[str], setting: str) -> pd.DataFrame:
    """``verdict`` (from :func:`claims.evaluate_claims`) with the reason for each claim that names rows missing from
    the table written into its ``caveat`` (appended to a caveat the claims file gives).

    ``present``: the rows of the table the claims were evaluated on; ``known``: every row the experiments have in
    their full design (the paper's sizes) -> its experiment; ``skipped``: the experiments this profile does not
    train; ``setting``: the parameter that says so (``"don_train.experiments: table1, fig5"``). For each row a claim's
    expression names (:func:`robopercept.reporting.untrained.rows_named`) that is not in ``present``:

    * of an experiment in ``skipped``: the caveat says "<experiments> not trained at this profile (<setting>)";
    * of a trained experiment (a point its sweep leaves out at this profile, e.g. the smoke profile's 1 scene of
      Fig. 5): the caveat names the rows, "not in this profile's sweep: …";
    * in no experiment at all (not in ``known``): :class:`claims.ClaimError` — a typo in the claims file.

    A claim whose rows are all in ``present`` but comes out "not evaluated" is a :class:`claims.ClaimError` too: it
    was trained and must be evaluated."""
    spec = claims.load_spec(claims_file)
    exprs = {c["id"]: c["expr"] for c in spec["claims"]}
    have, skip = set(present), set(skipped)
    unknown = {i: [r for r in untrained.rows_named(e) if r not in have and r not in known] for i, e in exprs.items()}
    unknown = {i: rows for i, rows in unknown.items() if rows}
    if unknown:
        raise claims.ClaimError(f"{claims_file}: claims name rows that no experiment has (a typo?): {unknown}")
    out = verdict.copy()
    if "caveat" not in out.columns:
        out["caveat"] = ""
    caveats = []
    for _, row in out.iterrows():
        missing = [r for r in untrained.rows_named(exprs[row["id"]]) if r not in have]
        if not missing and row["verdict"] == "not evaluated":
            raise claims.ClaimError(f"claim {row['id']!r}: every row it names was trained and is in the table, yet it "
                                    f"was not evaluated ({row.get('note', '')})")
        off = list(dict.fromkeys(known[r] for r in missing if known[r] in skip))
        cut = [r for r in missing if known[r] not in skip]
        why = ([f"{', '.join(off)} {status(setting)}"] if off else []) + (
            [f"not in this profile's sweep: {', '.join(repr(r) for r in cut)}"] if cut else [])
        given = row["caveat"].strip() if isinstance(row["caveat"], str) else ""
        caveats.append(" ".join([given, "; ".join(why)]).strip() if why else given)
    out["caveat"] = caveats
    return out
