"""One way to save and load checkpoints, for every paper.

* :func:`save` writes atomically (``.tmp`` then rename) and drops wall-clock fields
  (:data:`VOLATILE_KEYS`, at any depth) so the same weights give the same bytes on a rerun.
* :func:`load` reads with ``weights_only=True`` (no pickled code runs) and, when the file is
  missing, truncated or of the wrong kind, raises :class:`CheckpointError` naming the file and the
  DVC stage that makes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

VOLATILE_KEYS = frozenset({"seconds", "wall_s", "train_seconds", "timing_s"})


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable or not of the expected kind."""


def strip_volatile(obj: Any) -> Any:
    """``obj`` without any dict entry named in :data:`VOLATILE_KEYS` (recursively)."""
    if isinstance(obj, dict):
        return {k: strip_volatile(v) for k, v in obj.items() if k not in VOLATILE_KEYS}
    if isinstance(obj, (list, tuple)):
        return type(obj)(strip_volatile(v) for v in obj)
    return obj


def save(obj: dict, path: str | Path) -> Path:
    """``torch.save`` of ``obj`` minus wall-clock fields, written atomically."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(strip_volatile(obj), tmp)
    tmp.replace(path)
    return path


def load(path: str | Path, *, stage: str, required: Iterable[str] = ("model",), kind: str = "checkpoint") -> dict:
    """The checkpoint at ``path`` (weights only); errors name the file and ``stage`` that makes it."""
    import torch

    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{kind} {path} does not exist; the `{stage}` stage makes it (dvc repro {stage})")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many types for a truncated or corrupt file
        raise CheckpointError(f"cannot read {kind} {path} ({type(e).__name__}: {e}); it is truncated or corrupt: "
                              f"rerun the `{stage}` stage (dvc repro -f {stage})") from None
    missing = [k for k in required if not isinstance(ckpt, dict) or k not in ckpt]
    if missing:
        raise CheckpointError(f"{path} is not a {kind} (no {', '.join(map(repr, missing))}); "
                              f"the `{stage}` stage makes it")
    return ckpt
