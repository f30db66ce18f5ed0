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
