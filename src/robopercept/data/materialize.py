"""Materialize ``data/`` (the raw inputs tracked by ``data.dvc``) on any machine, offline.

A fresh clone has no DVC remote to pull from unless a team configures one (README: "Adding a
DVC remote"). So ``data/`` is also rebuildable: :func:`build` regenerates it from installed,
pinned packages, and :func:`verify` checks the bytes against the hash ``data.dvc`` records.

``data.manifest.json`` (in git, beside ``data.dvc``) lists the md5 of every file of ``data/``. It is
what :func:`check_files` compares against — file by file, naming what differs — and what every
stage that reads ``data/`` checks before it starts (``robopercept.stage``). That matters because
``dvc repro`` itself accepts a changed ``data/``: it re-hashes the folder and rewrites ``data.dvc``
to match (and stages it), so ``data.dvc`` alone cannot catch a corrupted catalog; the stage that
refuses it puts the commit's ``data.dvc`` back (:func:`restore_pin`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import yaml

from .. import paths
from ..world.catalog import build_catalog


class DataMismatch(RuntimeError):
    """``data/`` exists but its bytes differ from what ``data.dvc`` records."""


def _dvc(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    import sys

    beside = Path(sys.executable).parent / "dvc"  # the environment's own dvc, even when not on PATH
    exe = str(beside) if beside.exists() else shutil.which("dvc")
    if exe is None:
        raise RuntimeError(f"no `dvc` next to {sys.executable} nor on PATH; install the project (make setup)")
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


MANIFEST = "data.manifest.json"


def manifest_path() -> Path:
    return paths.root() / MANIFEST


def file_hashes(data_dir: Path | None = None) -> dict[str, str]:
    """md5 of every file under ``data/`` by relative path."""
    root = data_dir or paths.data_dir()
    return {str(f.relative_to(root)): hashlib.md5(f.read_bytes()).hexdigest()
            for f in sorted(root.rglob("*")) if f.is_file()}


def write_manifest(data_dir: Path | None = None) -> Path:
    fn = manifest_path()
    fn.write_text(json.dumps({"files": file_hashes(data_dir)}, indent=1, sort_keys=True) + "\n")
    return fn


def check_files(data_dir: Path | None = None) -> str:
    """Raise :class:`DataMismatch` naming every file of ``data/`` that differs from the manifest."""
    root = data_dir or paths.data_dir()
    fn = manifest_path()
    if not fn.exists():
        raise DataMismatch(f"{fn} is missing; it is committed with data.dvc (recreate it with "
                           "`python -m robopercept.data manifest` from a verified data/)")
    try:
        want = json.loads(fn.read_text())["files"]
    except (ValueError, KeyError, TypeError):
        raise DataMismatch(f"{fn} is not a valid manifest (expected {{\"files\": {{path: md5}}}})") from None
    if not root.exists():
        raise DataMismatch(f"{root} does not exist; run `python -m robopercept.data materialize` (or `make data`)")
    have = file_hashes(root)
    changed = sorted(k for k in want if k in have and have[k] != want[k])
    missing = sorted(set(want) - set(have))
    extra = sorted(set(have) - set(want))
    if changed or missing or extra:
        parts = []
        for label, names in (("changed", changed), ("missing", missing), ("unexpected", extra)):
            if names:
                shown = ", ".join(f"data/{n}" for n in names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
                parts.append(f"{label}: {shown}")
        raise DataMismatch("data/ differs from data.manifest.json (" + "; ".join(parts) + "). Restore it with "
                           "`python -m robopercept.data materialize`; if `dvc repro` already rewrote data.dvc, "
                           "`git checkout data.dvc` first.")
    return f"data/ matches data.manifest.json ({len(want)} files)"


def _git(root: Path, *args: str) -> subprocess.CompletedProcess | None:
    """``git`` in ``root``; None when git is missing or ``root`` is not the top of a work tree (a test's temporary
    project inside no repository, or a folder inside someone else's)."""
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=root, capture_output=True, text=True)
        if top.returncode != 0 or Path(top.stdout.strip()).resolve() != root.resolve():
            return None
        return subprocess.run(["git", *args], cwd=root, capture_output=True)
    except OSError:
        return None


def restore_pin(root: Path | None = None) -> str | None:
    """Put back the commit's ``data.dvc`` (work tree and index) when it differs from ``HEAD``'s; say what was done.

    ``dvc repro`` re-hashes a changed ``data/`` and rewrites ``data.dvc`` to match — with ``core.autostage`` it
    also stages it — before any stage runs (``frozen: true`` does not stop it). A stage that then refuses the
    changed ``data/`` (:func:`check_files`) calls this, so the refused bytes are not left pinned and staged, ready to
    be committed. None (nothing done) outside a git checkout, when ``HEAD`` has no ``data.dvc``, or when the work
    tree's and the index's ``data.dvc`` are already ``HEAD``'s.
    """
    root = root or paths.root()
    head = _git(root, "show", "HEAD:data.dvc")
    if head is None or head.returncode != 0:
        return None
    fn = root / "data.dvc"
    index = _git(root, "show", ":data.dvc")
    if fn.exists() and fn.read_bytes() == head.stdout and index is not None and index.stdout == head.stdout:
        return None
    res = _git(root, "checkout", "HEAD", "--", "data.dvc")  # the work tree and the index, in one step
    if res is None or res.returncode != 0:
        err = res.stderr.decode(errors="replace").strip() if res is not None else "git unavailable"
        return (f"data.dvc differs from the commit's and could not be restored ({err}); "
                "run `git checkout HEAD -- data.dvc`")
    return ("data.dvc (re-pinned to the changed data/ by `dvc repro`) was restored to the commit's, in the work tree "
            "and the index")


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
    check_files()  # names the files that differ
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
        write_manifest()
        return "built data/ and created data.dvc and data.manifest.json (first run); commit both"
    if paths.data_dir().exists() and _matches():
        how = "already present"
    elif _has_remote() and _dvc("pull", "data.dvc", check=False).returncode == 0 and _matches():
        how = "pulled from the DVC remote"
    else:
        build()
        verify()  # also commits the verified bytes to the local cache for `dvc status` / `dvc repro`
        how = "rebuilt offline and verified"
    return f"data/ {how}: matches data.dvc ({recorded_hash()})"
