"""A claims table as a notebook shows it: the written table (every column a reader needs to audit a verdict), the
short view, and one sentence per claim — the paper's words, our verdict with its margin, and for a claim that did not
hold, where to look (``if_missed``) or why it was not evaluated; a claim comparing a row that never
learned (flagged by :func:`robopercept.reporting.untrained.flag`) says so."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import claims, tables, untrained

COLUMNS = ["id", "section", "quote", "claim", "verdict", "holds", "margin", "margin_lo", "margin_hi", "share_held",
           "caveat"]


def sentences(verdict: pd.DataFrame) -> str:
    lines = []
    for _, r in verdict.iterrows():
        text = f"* **{r['id']}** ({r['section']}): \"{r['quote']}\" — {claims.verdict_sentence(r)}{untrained.sentence(r)}."
        if r["verdict"] == "not evaluated" and r.get("note"):
            text += f" Not evaluated here: {r['note']}."
        elif claims.shows_cause(r):
            text += f" Where to look: {r['if_missed']}"
        lines.append(text)
    return "\n".join(lines)


def claims_report(verdict: pd.DataFrame, out_dir: Path, name: str, caption: str) -> tuple[pd.DataFrame, str]:
    """Write ``verdict`` (from :func:`claims.evaluate_claims`) as table ``name``; return the short view and the
    sentences (markdown) for the notebook to display."""
    cols = COLUMNS + (["untrained_rows"] if "untrained_rows" in verdict.columns else [])  # reporting.untrained.flag
    tables.write_table(verdict[cols], out_dir, name, caption=caption)
    return verdict[["id", "verdict", "margin", "margin_lo", "margin_hi"]].round(2), sentences(verdict)
