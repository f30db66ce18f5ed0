"""Wall-clock in an executed notebook: progress bars and elapsed times make reruns differ.

Executed notebooks are DVC-tracked stage outputs, so "same code + data + parameters -> same bytes"
holds only if none of their outputs carries a time. tqdm bars are the usual leak (they print at
start and at close, with elapsed time and rate); notebooks pass ``progress=False`` to the shard
runner's callers.
"""

from __future__ import annotations

import re

import nbformat

PATTERNS = {
    "progress bar": re.compile(r"\d+%\|.*\|\s*\d+/\d+"),
    "elapsed<remaining": re.compile(r"\[\d{1,2}:\d{2}(:\d{2})?<"),
    "rate": re.compile(r"\d(\.\d+)?\s?(s/it|it/s)\b"),
    "carriage return": re.compile(r"\r(?!\n)"),
}


def volatile_outputs(nb) -> list[str]:
    """``cell k: <kind>: <line>`` for every output line that looks like wall-clock."""
    found = []
    for k, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            texts = [out.get("text", "")] + [v for m, v in out.get("data", {}).items() if m.startswith("text/")]
            for text in texts:
                text = text if isinstance(text, str) else "".join(text)
                for kind, pat in PATTERNS.items():
                    for line in text.splitlines():
                        if pat.search(line) or (kind == "carriage return" and pat.search(text)):
                            found.append(f"cell {k}: {kind}: {line.strip()[:120]!r}")
                            break
    return found


def assert_no_volatile_outputs(path) -> None:
    found = volatile_outputs(nbformat.read(str(path), as_version=4))
    assert not found, (f"{path}: outputs carry wall-clock (pass progress=False, or keep the timing out of "
                       f"the notebook): " + "; ".join(found[:5]))
