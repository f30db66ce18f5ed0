"""Claims that compare a model which never learned.

A training run can fail outright — its validation metric never leaves zero — and a claim that compares
such a row with another is then evidence neither for nor against the paper: a *held* may rest on the
collapse ("B beats A" because A never trained), a *missed* on a failed run ("A beats B" fails for the same
reason). :mod:`robopercept.reporting.claims` evaluates the comparison as written; this module flags it.

The table gives, for each row, a count of its seeds that never learned (a column such as
``untrained_seeds``; what "never learned" means is the caller's rule, stated where the column is made).
:func:`flag` adds to a verdict table the column ``untrained_rows``: the rows a claim's expression names
whose count is above zero (empty when none). :func:`sentence` is the words a notebook appends to the
verdict.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Sequence

import pandas as pd

from . import claims


def rows_named(expr: str) -> list[str]:
    """The rows a claim's expression reads: the string arguments of its metric calls, in order, once each."""
    names: list[str] = []
    calls = [n for n in ast.walk(ast.parse(expr, mode="eval")) if isinstance(n, ast.Call)]
    for node in sorted(calls, key=lambda n: (n.lineno, n.col_offset)):  # source order
        for a in node.args:
            if isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value not in names:
                names.append(a.value)
    return names


def metrics_called(expr: str) -> set[str]:
    """The metric functions a claim's expression calls (``AP50('A') > AP50('B')`` -> {"AP50"})."""
    return {n.func.id for n in ast.walk(ast.parse(expr, mode="eval"))
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


def flag(verdict: pd.DataFrame, claims_file: str | Path, table: pd.DataFrame, column: str,
         metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """``verdict`` (from :func:`claims.evaluate_claims`) with ``untrained_rows``: for each claim, the rows its
    ``expr`` names whose ``column`` in ``table`` is > 0, joined by ", ". ``metrics``: the metric functions that
    a failed head spoils (e.g. fastseg's instance AP, not its semantic IoU); claims calling none of them are never
    flagged (None: every claim can be)."""
    spec = claims.load_spec(claims_file)
    if metrics is not None:
        unknown = set(metrics) - set(spec["metrics"])
        if unknown:
            raise claims.ClaimError(f"flag: metrics {sorted(unknown)} are not in {claims_file}'s metrics "
                                    f"{sorted(spec['metrics'])}")
    key = spec["row_key"]
    if column not in table.columns:
        raise claims.ClaimError(f"the table has no column {column!r} (count of seeds that never learned)")
    counts = dict(zip(table[key].astype(str), pd.to_numeric(table[column], errors="coerce").fillna(0)))
    exprs = {c["id"]: c["expr"] for c in spec["claims"]}
    out = verdict.copy()
    spoiled = {i: metrics is None or bool(metrics_called(e) & set(metrics)) for i, e in exprs.items()}
    out["untrained_rows"] = [", ".join(r for r in rows_named(exprs[i]) if counts.get(r, 0) > 0) if spoiled[i] else ""
                             for i in out["id"]]
    return out


def sentence(row) -> str:
    """The words appended to a flagged claim's verdict ("" when no compared row failed to learn)."""
    rows = row.get("untrained_rows", "") if hasattr(row, "get") else getattr(row, "untrained_rows", "")
    if not rows:
        return ""
    return (f" — **{rows}: a seed never learned (the table's count of untrained seeds), so this verdict is evidence "
            "neither for nor against the paper**")


def count(verdict: pd.DataFrame) -> int:
    """How many claims are flagged."""
    return int((verdict["untrained_rows"] != "").sum())
