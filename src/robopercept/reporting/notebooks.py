"""Normalize an executed notebook so that a rerun with the same inputs gives the same file.

papermill records wall-clock timestamps, durations and absolute paths; those go. Outputs that
mention the repository's absolute path get ``<repo>`` instead, so the committed notebook does not
depend on where the repository was cloned.

Worker processes write to the kernel's stderr: each pybullet worker prints a "pybullet build time"
banner, so the number of such lines depends on how many workers started (a resumed run starts
fewer), and how the kernel chunks that text into stream outputs depends on timing. Both would make
reruns differ; so the banner lines are dropped and consecutive stream outputs of the same stream are
merged into one (the second fresh-clone reproduction of session 4 caught the chunking).
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import paths

_CELL_META_DROP = ("papermill", "execution")
_NOISE_PREFIXES = ("pybullet build time:",)  # printed once per worker process at import
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
        cell["outputs"] = _merge_streams(cell.get("outputs", []))
    return nb


def _merge_streams(outputs: list) -> list:
    """Drop worker banners; merge consecutive stream outputs of the same name; drop empty streams."""
    merged: list = []
    for out in outputs:
        if out.get("output_type") == "stream":
            text = out["text"] if isinstance(out["text"], str) else "".join(out["text"])
            text = "".join(line for line in text.splitlines(keepends=True) if not line.startswith(_NOISE_PREFIXES))
            if not text:
                continue
            prev = merged[-1] if merged else None
            if prev is not None and prev.get("output_type") == "stream" and prev.get("name") == out.get("name"):
                prev["text"] = prev["text"] + text
                continue
            out["text"] = text
        merged.append(out)
    return merged


def strip_outputs(nb):
    """A source notebook as stored in git: no outputs, no execution counts."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    return nb
