"""Normalize an executed notebook so that a rerun with the same inputs gives the same file.

papermill records wall-clock timestamps, durations and absolute paths; those go. Outputs that
mention the repository's absolute path get ``<repo>`` instead, so the committed notebook does not
depend on where the repository was cloned.
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import paths

_CELL_META_DROP = ("papermill", "execution")
_PM_KEEP = ("parameters", "default_parameters", "version")


def _scrub(text: str, replacements: list[tuple[str, str]]) -> str:
    for old, new in replacements:
        text = text.replace(old, new)
    return text


def normalize_notebook(nb, input_path: Path | None = None, replacements: list[tuple[str, str]] | None = None):
    """Return ``nb`` with volatile metadata removed (modifies and returns the same object).
    ``replacements`` (old, new) are applied first, to sources and outputs (e.g. a scratch folder)."""
    root = str(paths.root())
    repl = list(replacements or []) + [(root, "<repo>")]
    home = os.path.expanduser("~")
    if home and home != "/":
        repl.append((home, "~"))
    pm = nb.metadata.get("papermill", {})
    nb.metadata["papermill"] = {k: pm[k] for k in _PM_KEEP if k in pm}
    if input_path is not None:
        p = Path(input_path)
        nb.metadata["papermill"]["input_path"] = str(p.relative_to(root)) if p.is_relative_to(root) else p.name
    for key in ("widgets",):
        nb.metadata.pop(key, None)
    for k, cell in enumerate(nb.cells):
        if "id" in cell:  # nbformat draws random cell ids; number them so reruns give the same bytes
            cell["id"] = f"cell-{k:03d}"
        for key in _CELL_META_DROP:
            cell.metadata.pop(key, None)
        cell.source = _scrub(cell.source, repl[:-1]) if replacements else cell.source
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if "text" in out:
                out["text"] = _scrub(out["text"], repl)
            data = out.get("data", {})
            for mime in ("text/plain", "text/html", "text/markdown"):
                if mime in data:
                    val = data[mime]
                    data[mime] = _scrub(val, repl) if isinstance(val, str) else [_scrub(v, repl) for v in val]
            if "traceback" in out:
                out["traceback"] = [_scrub(t, repl) for t in out["traceback"]]
    return nb


def strip_outputs(nb):
    """A source notebook as stored in git: no outputs, no execution counts."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    return nb
