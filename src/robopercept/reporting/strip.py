"""``python -m robopercept.reporting.strip FOLDER``: strip outputs from every source notebook."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from .notebooks import strip_outputs


def main(argv: list[str] | None = None) -> int:
    folder = Path((argv or sys.argv[1:] or ["notebooks"])[0])
    for path in sorted(folder.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        nb = nbformat.read(path, as_version=4)
        before = nbformat.writes(nb)
        after = nbformat.writes(strip_outputs(nb))
        if before != after:
            path.write_text(after, encoding="utf-8")
            print(f"stripped {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
