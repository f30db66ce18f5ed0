"""Tables: ``reports/tables/<paper>/<name>.csv`` and ``.md``, ours beside the paper's.

The paper's numbers only ever sit in columns whose name starts with ``paper``; :func:`write_table`
refuses a frame that mixes them into ours under an unlabeled name.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .. import paths


def write_table(df: pd.DataFrame, directory: str | os.PathLike[str], name: str, *, caption: str = "",
                float_format: str = "{:.4g}") -> tuple[Path, Path]:
    """Write ``df`` as CSV and as a Markdown table with an optional caption line."""
    if df.empty:
        raise ValueError(f"table {name} is empty")
    out = paths.resolve(directory)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / f"{name}.csv"
    md = out / f"{name}.md"
    df.to_csv(csv, index=False, float_format="%.6g", lineterminator="\n")
    shown = df.copy()
    for col in shown.columns:
        if pd.api.types.is_float_dtype(shown[col]):
            shown[col] = shown[col].map(lambda v: "" if pd.isna(v) else float_format.format(v))
    text = (f"{caption}\n\n" if caption else "") + shown.to_markdown(index=False) + "\n"
    md.write_text(text, encoding="utf-8")
    return csv, md


def write_metrics(metrics: dict, path: str | os.PathLike[str]) -> Path:
    """JSON metrics (sorted keys, floats rounded to 6 significant digits) for DVC ``metrics:``."""
    import json

    import math

    import numpy as np

    def _round(v):
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        if isinstance(v, (float, np.floating)):
            return None if math.isnan(v) else float(f"{float(v):.6g}")  # JSON has no NaN
        if isinstance(v, np.integer):
            return int(v)
        if isinstance(v, dict):
            return {k: _round(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [_round(x) for x in v]
        return v

    out = paths.resolve(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(_round(metrics), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out


VERDICTS = ("held", "missed", "inconclusive", "not evaluated")


def _verdict(v) -> str:
    if isinstance(v, str):
        if v not in VERDICTS:
            raise ValueError(f"unknown claim verdict {v!r}; expected one of {VERDICTS}")
        return v
    if v is None or (isinstance(v, float) and v != v):
        return "not evaluated"
    return "held" if bool(v) else "missed"


def metrics_document(*, paper: str, stage: str, profile: str, values=None, tables=None, claims=None) -> dict:
    """The one metrics shape of every paper's stages (what ``dvc metrics show`` lists)::

        {"paper": ..., "stage": ..., "profile": ...,
         "values": {name: scalar or nested dict of scalars},
         "tables": {table: {row: {column: number}}},
         "claims": {"verdicts": {claim_id: "held" | "missed" | "inconclusive" | "not evaluated"},
                    "count": {"held": n, "missed": n, "inconclusive": n, "not evaluated": n, "total": n}}}

    ``tables`` takes DataFrames (first column = row key) or nested dicts; ``claims`` takes the frame of
    :func:`robopercept.reporting.claims.evaluate_claims` (columns ``id`` and ``verdict`` or ``holds``) or a
    dict ``id -> verdict``. Sections left out are absent, never empty placeholders.
    """
    import pandas as pd

    doc: dict = {"paper": paper, "stage": stage, "profile": profile}
    if values:
        doc["values"] = dict(values)
    if tables:
        out = {}
        for name, t in tables.items():
            if isinstance(t, pd.DataFrame):
                key = t.columns[0]
                out[name] = {str(r[key]): {c: r[c] for c in t.columns[1:]} for r in t.to_dict("records")}
            else:
                out[name] = dict(t)
        doc["tables"] = out
    if claims is not None:
        if isinstance(claims, pd.DataFrame):
            col = "verdict" if "verdict" in claims.columns else "holds"
            verdicts = {str(i): _verdict(v) for i, v in zip(claims["id"], claims[col])}
        else:
            verdicts = {str(k): _verdict(v) for k, v in dict(claims).items()}
        count = {v: sum(x == v for x in verdicts.values()) for v in VERDICTS}
        doc["claims"] = {"verdicts": verdicts, "count": {**count, "total": len(verdicts)}}
    return doc

