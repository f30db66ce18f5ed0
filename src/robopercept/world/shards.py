"""One sharded, resumable runner for every generator and every parallel sweep.

A *plan* is a list of :class:`Shard` s, each a unit of work whose result is a folder
``<out_dir>/<shard.key>/`` holding its files and a ``shard.json`` (the shard's stats plus an md5
manifest of its files). The runner guarantees, whatever the executor and however often it is
interrupted:

* **a shard depends only on (its task's code, data/, parameters, seed, shard)** — the task builds
  fresh simulation state for every shard (no world is reused across shards), so shard *k* alone
  equals shard *k* after shards ``0..k-1``, and 1 worker equals *n* workers;
* **no stale data** — the plan's *identity* (:func:`plan_identity`: parameters, seed, the md5 of the
  code of the modules the task uses and of the inputs it reads) is stored in ``plan.json``; a
  different identity wipes ``out_dir`` before anything runs, so editing the generator starts over (a plan
  whose identity does not fix which shards are planned passes ``prune_unplanned``: :func:`run_plan`);
* **atomic shards** — a shard is written to ``<key>.tmp`` and renamed when complete; leftovers are
  removed; a finished shard whose files no longer match its manifest (a truncated or edited file)
  is regenerated, with a message naming it;
* **any executor** — ``executor`` may be any ``concurrent.futures.Executor``-like object (``submit``
  returning futures), e.g. a Dask ``distributed`` client's ``get_executor()``; by default a spawn
  process pool of ``workers`` processes whose workers die with their parent (``PR_SET_PDEATHSIG``).

Nothing volatile goes into a shard: timings are returned to the caller in memory only.
"""

from __future__ import annotations

import ctypes
import dataclasses
import hashlib
import json
import os
import shutil
import signal
import sys
import time
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

SHARD_FILE = "shard.json"
PLAN_FILE = "plan.json"
TIMING_KEY = "_timing"  # a task may return timings under this key: handed back, never written


class ShardError(RuntimeError):
    """A shard could not be produced or read back; the message names the shard and its folder."""


@dataclasses.dataclass(frozen=True)
class Shard:
    """One unit of work: ``key`` is its folder under the output (``"train/shard_00003"``)."""

    key: str
    count: int  # items the shard produces (progress only)
    seed: int
    info: tuple[tuple[str, Any], ...] = ()  # extra fields the task reads (split, first index, ...)

    def get(self, name: str, default: Any = None) -> Any:
        return dict(self.info).get(name, default)


# ---------------------------------------------------------------------------------------------
# Identity: what the bytes of a plan depend on
# ---------------------------------------------------------------------------------------------


def code_hash(modules: Iterable[str]) -> str:
    """md5 over the source of ``modules`` and of every robopercept module they import, directly or
    not (:func:`robopercept.codedeps.closure`): editing any code a generator runs starts it over."""
    from ..codedeps import ROOT, closure, module_path

    files: set[Path] = set()
    for name in set(modules):
        path = module_path(name)
        if path is None:
            raise ValueError(f"code_hash: {name!r} is not a robopercept module")
        files.add(path)
        files.update(closure(name))
    h = hashlib.md5()
    for f in sorted(files):
        h.update(f.relative_to(ROOT).as_posix().encode() + b"\0")
        h.update(f.read_bytes())
    return h.hexdigest()


def tree_hash(folder: str | os.PathLike[str], skip_names: Iterable[str] = ()) -> str:
    """md5 over every file (relative path + bytes) under ``folder``, but files named in ``skip_names``."""
    folder = Path(folder)
    skip = set(skip_names)
    h = hashlib.md5()
    for f in sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in skip):
        h.update(str(f.relative_to(folder)).encode() + b"\0")
        h.update(_file_md5(f).encode())
    return h.hexdigest()


def dataset_md5(folder: str | os.PathLike[str]) -> str:
    """md5 over a generated dataset's files without the shard runner's own records (``plan.json``, every
    ``shard.json``): ``plan.json`` holds the md5 of the generator's *code*, so :func:`tree_hash` changes with any
    edit of the generator even when it writes the same bytes; this hash changes only when a file a reader sees
    does. For the plan identity of what is trained on a dataset (an edit that changes no byte keeps the models)."""
    return tree_hash(folder, skip_names=(PLAN_FILE, SHARD_FILE))


RUN_ONLY = ("workers",)  # parameters that say how a plan runs, never what it writes


def recorded_config(config: Mapping[str, Any]) -> dict:
    """``config`` as a dataset records it (``dataset.json``): without :data:`RUN_ONLY` parameters, so that
    another worker count writes the same bytes and gives the dataset the same DVC hash (issue #10)."""
    return {k: v for k, v in config.items() if k not in RUN_ONLY}


def plan_identity(*, generator: str, config: Mapping[str, Any], seed: int, code_modules: Iterable[str],
                  inputs: Mapping[str, str | os.PathLike[str]] = (), ignore: Iterable[str] = RUN_ONLY) -> dict:
    """The identity stored in ``plan.json``: parameters (minus ``ignore``: e.g. the worker count,
    which never changes bytes), seed, the md5 of the code and of each input folder."""
    skip = set(ignore)
    return {
        "generator": generator,
        "seed": seed,
        "config": {k: v for k, v in sorted(config.items()) if k not in skip},
        "code_md5": code_hash(code_modules),
        "inputs_md5": {k: tree_hash(v) for k, v in sorted(dict(inputs).items())},
    }


# ---------------------------------------------------------------------------------------------
# Writing and checking one shard
# ---------------------------------------------------------------------------------------------


def _file_md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _manifest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): _file_md5(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != SHARD_FILE}


def read_shard(folder: Path) -> dict | None:
    """The stats of a finished shard, or None if it is missing, unreadable or its files no longer
    match the manifest written with it."""
    fn = folder / SHARD_FILE
    if not fn.exists():
        return None
    try:
        doc = json.loads(fn.read_text())
        files, stats = doc["files"], doc["stats"]
    except (ValueError, KeyError, TypeError):
        return None
    return stats if _manifest(folder) == files else None


def run_one(task: Callable[[Shard, Path], dict], shard: Shard, out_dir: str) -> dict:
    """Produce one shard (in the worker): ``task(shard, tmp_folder) -> stats`` then rename.
    ``stats[TIMING_KEY]``, if the task returns it, is handed back but not written."""
    out = Path(out_dir)
    final = out / shard.key
    tmp = final.with_name(final.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        stats = dict(task(shard, tmp))
        timing = stats.pop(TIMING_KEY, None)
        doc = {"key": shard.key, "seed": shard.seed, "stats": stats, "files": _manifest(tmp)}
        (tmp / SHARD_FILE).write_text(json.dumps(doc, sort_keys=True, indent=1) + "\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():
        shutil.rmtree(final)
    tmp.replace(final)
    return {**stats, TIMING_KEY: timing} if timing is not None else stats


# ---------------------------------------------------------------------------------------------
# Worker processes that die with their parent
# ---------------------------------------------------------------------------------------------


def _die_with_parent(parent: int) -> None:
    """Process-pool initializer: SIGKILL this worker when the process that started it dies."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:  # pragma: no cover - no libc: fall back to the check below only
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A spawn process pool whose workers die with this process and run one thread each."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                               initializer=_die_with_parent, initargs=(os.getpid(),))


# ---------------------------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------------------------


def _prune_unplanned(out: Path, planned: set[str]) -> list[str]:
    """Remove the shard folders under ``out`` whose key is not in ``planned`` (and the folders they leave empty);
    return the removed keys. A folder is a shard folder when it holds a ``shard.json``."""
    removed = []
    for record in sorted(out.rglob(SHARD_FILE)):
        folder = record.parent
        key = folder.relative_to(out).as_posix()
        if folder == out or key in planned or not record.exists():  # planned, or in a folder removed already
            continue
        if any(k.startswith(key + "/") for k in planned):  # holds a planned shard: never removed with it
            continue
        print(f"shard {folder} is not in the plan: removing it", file=sys.stderr)
        shutil.rmtree(folder)
        removed.append(key)
        parent = folder.parent
        while parent != out and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    return removed


@dataclasses.dataclass
class RunResult:
    """What :func:`run_plan` returns: every shard's stats (plan order) and what this call did.
    ``generated``/``wall_s`` are for logs and timing reports only, never for DVC-tracked files."""

    stats: dict[str, dict]
    generated: list[str]
    repaired: list[str]
    wall_s: float
    timings: dict[str, dict] = dataclasses.field(default_factory=dict)  # per generated shard

    def timing_total(self) -> dict[str, float]:
        """Timings summed over the shards generated by this call (seconds, per key)."""
        out: dict[str, float] = {}
        for t in self.timings.values():
            for k, v in t.items():
                out[k] = round(out.get(k, 0.0) + float(v), 4)
        return out


def run_plan(out_dir: str | os.PathLike[str], identity: Mapping[str, Any], shards: list[Shard],
             task: Callable[[Shard, Path], dict], *, workers: int = 1, executor: Executor | None = None,
             progress: bool = True, desc: str = "shards", unit: str = "item",
             prune_unplanned: bool = False) -> RunResult:
    """Produce every shard of the plan in ``out_dir`` (resuming finished ones); see the module doc.

    ``task`` must be a module-level function (it is pickled to the workers) that builds its own
    simulation state from ``shard`` alone.

    ``prune_unplanned``: remove every shard folder (a folder holding a ``shard.json``) under ``out_dir`` whose key is
    not in ``shards``, before anything runs. A caller must pass True when its ``identity`` leaves out which shards
    are planned (e.g. it hashes what each shard depends on but not how many there are, so that a longer plan resumes
    the shorter one's shards): otherwise a shorter plan under the same identity keeps the longer one's extra shards,
    and ``out_dir`` — a DVC output — depends on what ran before. The default (False) keeps them, for a caller that
    fills one folder with several partial plans in turn; where the identity covers the plan (every caller of this
    repository: its config or hashed inputs fix the shard list), a changed plan has a changed identity, which wipes
    ``out_dir`` anyway, and the flag changes nothing. Files outside shard folders (a generator's ``dataset.json``,
    merged annotations) are never touched.
    """
    from tqdm import tqdm

    out = Path(out_dir)
    keys = [s.key for s in shards]
    if len(set(keys)) != len(keys):
        raise ShardError(f"{out}: duplicate shard keys in the plan")
    plan_fn = out / PLAN_FILE
    identity = json.loads(json.dumps(identity, sort_keys=True))
    if out.exists():
        try:
            same = json.loads(plan_fn.read_text()) == identity
        except (OSError, ValueError):
            same = False
        if not same:  # written by other code, inputs or parameters: start over rather than mix
            shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    plan_fn.write_text(json.dumps(identity, sort_keys=True, indent=1) + "\n")
    for leftover in list(out.rglob("*.tmp")):
        if leftover.is_dir():
            shutil.rmtree(leftover)
    if prune_unplanned:
        _prune_unplanned(out, set(keys))
    stats: dict[str, dict] = {}
    repaired: list[str] = []
    for s in shards:
        folder = out / s.key
        st = read_shard(folder)
        if st is not None:
            stats[s.key] = st
        elif folder.exists():  # incomplete or corrupt: regenerate it
            repaired.append(s.key)
            print(f"shard {folder} is incomplete or its files do not match its manifest: regenerating it",
                  file=sys.stderr)
            shutil.rmtree(folder)
    todo = [s for s in shards if s.key not in stats]
    bar = tqdm(total=sum(s.count for s in shards), initial=sum(s.count for s in shards if s.key in stats),
               desc=desc, unit=unit, disable=not progress, mininterval=5)
    t0 = time.perf_counter()

    timings: dict[str, dict] = {}

    def _done(s: Shard, result: dict) -> None:
        result = dict(result)
        if TIMING_KEY in result:
            timings[s.key] = result.pop(TIMING_KEY)
        stats[s.key] = json.loads(json.dumps(result, sort_keys=True))  # what read_shard would return
        bar.update(s.count)

    try:
        if executor is None and (workers <= 1 or len(todo) <= 1):
            for s in todo:
                _done(s, run_one(task, s, str(out)))
        else:
            own = executor is None
            ex = process_pool(min(workers, len(todo))) if own else executor
            try:
                futs = {ex.submit(run_one, task, s, str(out)): s for s in todo}
                for fut in as_completed(futs):
                    s = futs[fut]
                    try:
                        _done(s, fut.result())
                    except Exception as e:
                        raise ShardError(f"shard {out / s.key} failed: {type(e).__name__}: {e}") from e
            finally:
                if own:
                    ex.shutdown(wait=True, cancel_futures=True)
    finally:
        bar.close()
    return RunResult({k: stats[k] for k in keys}, [s.key for s in todo], repaired, time.perf_counter() - t0, timings)
