"""A claims table as a notebook shows it: the written table (every column a reader needs to audit a verdict), the
short view, and one sentence per claim — the paper's words, our verdict with its margin, the claim's caveat when
the claims file gives one (e.g. a claim that holds for another reason than the paper's), and for a claim that did not
hold, where to look (``if_missed``) or why it was not evaluated; a claim comparing a row that never
learned (flagged by :func:`robopercept.reporting.untrained.flag`) says so. Every notebook renders its claims
with :func:`sentences`, so a caveat written in a claims file reaches the reader the same way in each paper."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import claims, tables, untrained

COLUMNS = ["id", "section", "quote", "claim", "verdict", "holds", "margin", "margin_lo", "margin_hi", "share_held",
           "caveat"]


def _text(value) -> str:
    """A free-text cell as written, "" for an empty one (a CSV read back gives NaN)."""
    return value.strip() if isinstance(value, str) else ""


def sentence(row) -> str:
    """One claim as a markdown list item: ``* **id** (section): "quote" — verdict (margin, interval)``, then the
    untrained-row flag, the caveat (italic) and, for a claim that did not hold, why it was not evaluated or where to
    look. ``row``: a row of :func:`claims.evaluate_claims`' table (a mapping)."""
    text = f"* **{row['id']}** ({row['section']}): \"{row['quote']}\" — {claims.verdict_sentence(row)}"
    text += f"{untrained.sentence(row)}."
    if _text(row.get("caveat")):
        text += f" *{_text(row['caveat'])}*"
    if row["verdict"] == "not evaluated" and _text(row.get("note")):
        text += f" Not evaluated here: {_text(row['note'])}."
    elif claims.shows_cause(row):
        text += f" Where to look: {row['if_missed']}"
    return text


def sentences(verdict: pd.DataFrame) -> str:
    """:func:`sentence` for every claim, one line each."""
    return "\n".join(sentence(r) for _, r in verdict.iterrows())


def claims_report(verdict: pd.DataFrame, out_dir: Path, name: str, caption: str) -> tuple[pd.DataFrame, str]:
    """Write ``verdict`` (from :func:`claims.evaluate_claims`) as table ``name``; return the short view and the
    sentences (markdown) for the notebook to display."""
    cols = COLUMNS + (["untrained_rows"] if "untrained_rows" in verdict.columns else [])  # reporting.untrained.flag
    tables.write_table(verdict[cols], out_dir, name, caption=caption)
    return verdict[["id", "verdict", "margin", "margin_lo", "margin_hi"]].round(2), sentences(verdict)
