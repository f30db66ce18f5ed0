"""Where things live. Every path in the project resolves through here.

Notebooks run with their own folder as the working directory (Jupyter) or with the repository
root (papermill from DVC). Both resolve relative paths against :func:`root`, so a notebook behaves
the same wherever it is started.
"""

from __future__ import annotations

import os
from pathlib import Path

_MARKERS = ("pyproject.toml", "dvc.yaml")


def root() -> Path:
    """The repository root.

    ``ROBOPERCEPT_ROOT`` overrides it (tests point it at a temporary copy). Otherwise the first
    ancestor of this file holding both ``pyproject.toml`` and ``dvc.yaml`` (the src layout with an
    editable install), else of the working directory.
    """
    env = os.environ.get("ROBOPERCEPT_ROOT")
    if env:
        return Path(env).resolve()
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for cand in (start, *start.parents):
            if all((cand / m).exists() for m in _MARKERS):
                return cand
    raise FileNotFoundError(
        "cannot find the robopercept repository root (a folder with pyproject.toml and dvc.yaml); "
        "set ROBOPERCEPT_ROOT"
    )


def resolve(path: str | os.PathLike[str]) -> Path:
    """Absolute path: relative paths are taken from the repository root."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else root() / p


def data_dir() -> Path:
    """Raw inputs tracked by ``data.dvc`` (object catalog). Never written by a stage."""
    return root() / "data"


def catalog_dir(data: str | os.PathLike[str] = "data") -> Path:
    return resolve(data) / "catalog"


def ensure_dir(path: str | os.PathLike[str]) -> Path:
    p = resolve(path)
    p.mkdir(parents=True, exist_ok=True)
    return p
