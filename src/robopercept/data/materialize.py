"""Materialize ``data/`` (the raw inputs tracked by ``data.dvc``) on any machine, offline.

A fresh clone has no DVC remote to pull from unless a team configures one (README: "Adding a
DVC remote"). So ``data/`` is also rebuildable: :func:`build` regenerates it from installed,
pinned packages, and :func:`verify` checks the bytes against the hash ``data.dvc`` records.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from .. import paths
from ..world.catalog import build_catalog


class DataMismatch(RuntimeError):
    """``data/`` exists but its bytes differ from what ``data.dvc`` records."""


def _dvc(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    exe = shutil.which("dvc")
    if exe is None:
        raise RuntimeError("the `dvc` command is not on PATH; run inside the project's .venv (make setup)")
    return subprocess.run([exe, *args], cwd=paths.root(), capture_output=True, text=True, check=check)


def recorded_hash(dvc_file: Path | None = None) -> str | None:
    """The md5 of ``data/`` recorded in ``data.dvc`` (None if the file does not exist yet)."""
    fn = dvc_file or paths.root() / "data.dvc"
    if not fn.exists():
        return None
    doc = yaml.safe_load(fn.read_text())
    try:
        return doc["outs"][0]["md5"]
    except (KeyError, IndexError, TypeError):
        raise DataMismatch(f"{fn} is malformed: no outs[0].md5") from None


def build(data_dir: Path | None = None) -> Path:
    """Rebuild ``data/`` from scratch (the catalog is all it holds today)."""
    out = data_dir or paths.data_dir()
    out.mkdir(parents=True, exist_ok=True)
    build_catalog(out)
    return out


def _hash_of_workspace() -> str:
    """DVC's own md5 of ``data/``, computed by ``dvc commit`` (which also fills the local cache).

    ``dvc status`` cannot be used on a fresh clone: with an empty cache it reports "not in cache"
    even when the bytes match. ``dvc commit`` rewrites ``data.dvc`` with the workspace's hash, so the
    recorded file is restored byte for byte afterwards whatever the outcome.
    """
    fn = paths.root() / "data.dvc"
    original = fn.read_text()
    try:
        res = _dvc("commit", "--force", "data.dvc", check=False)
        if res.returncode != 0:
            raise DataMismatch(f"`dvc commit data.dvc` failed: {res.stderr.strip() or res.stdout.strip()}")
        return recorded_hash()
    finally:
        fn.write_text(original)


def verify() -> str:
    """Raise :class:`DataMismatch` unless ``data/`` has the md5 that ``data.dvc`` records."""
    rec = recorded_hash()
    if rec is None:
        raise DataMismatch("data.dvc does not exist yet; create it with `dvc add data` after `build`")
    if not paths.data_dir().exists():
        raise DataMismatch("data/ does not exist; run `python -m robopercept.data materialize`")
    actual = _hash_of_workspace()
    if actual != rec:
        raise DataMismatch(
            f"data/ differs from data.dvc (recorded md5 {rec}, workspace md5 {actual}). If you rebuilt it "
            "offline, your installed package versions probably differ from the pinned ones "
            "(pyproject.toml); reinstall with `make setup`, or pull data/ from the team's DVC remote."
        )
    return f"data/ matches data.dvc ({rec})"


def _matches() -> bool:
    try:
        verify()
        return True
    except DataMismatch:
        return False


def _has_remote() -> bool:
    res = _dvc("remote", "list", check=False)
    return res.returncode == 0 and bool(res.stdout.strip())


def materialize() -> str:
    """Make ``data/`` match ``data.dvc``: keep, pull or rebuild, then cache it for DVC."""
    if recorded_hash() is None:
        build()
        _dvc("add", "data")
        return "built data/ and created data.dvc (first run); commit data.dvc"
    if paths.data_dir().exists() and _matches():
        how = "already present"
    elif _has_remote() and _dvc("pull", "data.dvc", check=False).returncode == 0 and _matches():
        how = "pulled from the DVC remote"
    else:
        build()
        verify()  # also commits the verified bytes to the local cache for `dvc status` / `dvc repro`
        how = "rebuilt offline and verified"
    return f"data/ {how}: matches data.dvc ({recorded_hash()})"
