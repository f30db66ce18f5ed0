"""One way to save and load checkpoints, for every paper.

* :func:`save` writes atomically (``.tmp`` then rename) and drops wall-clock fields
  (:data:`VOLATILE_KEYS`, at any depth) so the same weights give the same bytes on a rerun.
* :func:`load` reads with ``weights_only=True`` (no pickled code runs) and, when the file is
  missing, truncated or of the wrong kind, raises :class:`CheckpointError` naming the file and the
  DVC stage that makes it (the checks are :func:`robopercept.common.records.checked_load`'s, shared
  with the JSON records).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from .records import MissingRecordError, RecordError, checked_load

VOLATILE_KEYS = frozenset({"seconds", "wall_s", "train_seconds", "timing_s"})


class CheckpointError(RecordError):
    """A checkpoint is missing, unreadable or not of the expected kind (a :class:`RecordError`, so a ``ValueError``)."""


class MissingCheckpointError(CheckpointError, MissingRecordError):
    """A checkpoint is not there (also a ``FileNotFoundError``)."""


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

    return checked_load(path, lambda p: torch.load(p, map_location="cpu", weights_only=True), stage=stage,
                        kind=kind, required=required, error=CheckpointError, missing_error=MissingCheckpointError)
