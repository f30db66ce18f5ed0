"""Reading the records one stage writes and another reads, with errors that name what went wrong and the fix.

A bare ``json.loads(path.read_text())`` on a file an earlier stage wrote fails, when that stage was interrupted or
its outputs were edited, with ``JSONDecodeError: Expecting value: line 1 column 1`` or ``KeyError: 'grasped'``:
nothing says which file, what it is or which stage to rerun (issue #10, item 6). Here every such failure raises
:class:`RecordError` naming the file, what it is (``kind``), the DVC stage that makes it and the command that
remakes it:

* missing → :class:`MissingRecordError` (also a ``FileNotFoundError``, so callers that caught the bare error still
  do): ``dvc repro <stage>`` makes what is missing;
* unreadable (truncated, not UTF-8, corrupt) or incomplete (a ``required`` key absent) → ``dvc repro -f -s <stage>``
  reruns that one stage although DVC sees nothing changed (``-f`` alone would force every stage upstream of it too).

:func:`checked_load` is the one checked loader, shared with :func:`robopercept.common.checkpoints.load`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterable


class RecordError(ValueError):
    """A record a stage wrote is missing, unreadable or incomplete; the message names the file and the stage."""


class MissingRecordError(RecordError, FileNotFoundError):
    """A record a stage writes is not there (also a ``FileNotFoundError``)."""


def rerun_hint(stage: str) -> str:
    """The command that reruns ``stage`` alone although DVC sees no change (a corrupt output is no change to DVC)."""
    return f"dvc repro -f -s {stage}"


def _lacks(obj: Any, key: str) -> bool:
    """Whether ``obj`` lacks ``key``; a dotted key (``"grasped.object"``) is looked up level by level."""
    for part in key.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return True
        obj = obj[part]
    return False


def checked_load(path: str | Path, loader: Callable[[Path], Any], *, stage: str, kind: str,
                 required: Iterable[str] = (), error: type[RecordError] = RecordError,
                 missing_error: type[MissingRecordError] = MissingRecordError) -> Any:
    """``loader(path)``, with every way it can fail named: ``missing_error`` when ``path`` does not exist, ``error``
    when ``loader`` raises (any exception: a truncated file raises a different type in each library) or the result
    lacks a ``required`` key (dotted keys reach into nested dicts). ``stage`` is the DVC stage that writes ``path``,
    ``kind`` what the file is ("grasp record", "Table III trials")."""
    path = Path(path)
    if not path.exists():
        raise missing_error(f"{kind} {path} does not exist; the `{stage}` stage makes it (dvc repro {stage})")
    try:
        obj = loader(path)
    except Exception as e:  # noqa: BLE001 - each format raises its own types for a truncated or corrupt file
        raise error(f"cannot read {kind} {path} ({type(e).__name__}: {e}); it is truncated or corrupt: "
                    f"rerun the `{stage}` stage ({rerun_hint(stage)})") from None
    missing = [k for k in required if _lacks(obj, k)]
    if missing:
        raise error(f"{path} is not a {kind} (no {', '.join(map(repr, missing))}); it was written by "
                    f"other code or cut short: rerun the `{stage}` stage ({rerun_hint(stage)})")
    return obj


def _load_utf8_json(path: Path) -> Any:
    # decode explicitly: read_text() would use the locale's encoding, and json.loads(bytes) would guess UTF-16/32
    return json.loads(path.read_bytes().decode("utf-8"))


def read_json(path: str | Path, *, stage: str, kind: str, required: Iterable[str] = ()) -> Any:
    """The JSON (UTF-8) record at ``path``, written by the DVC stage ``stage``; a missing, truncated, non-UTF-8 or
    incomplete (a ``required`` key absent) file raises :class:`RecordError` naming the file, ``kind`` and the
    stage to rerun."""
    return checked_load(path, _load_utf8_json, stage=stage, kind=kind, required=required)
