"""Bring stages' results from another clone into this checkout: their ``dvc.lock`` entries, the outputs those entries
record outside ``artifacts/``, and their timing records — together, or nothing.

    python -m robopercept.reporting.adopt --from /tmp/fresh CLONE_STAGE [STAGE ...] [--root .] [--dry-run]

The committed results are regenerated in a *fresh* clone with an empty DVC cache (README "Stages"): reused shards and
cached outputs hide nondeterminism. Moving a finished stage's results from that clone into the working checkout by
hand is where a regeneration goes wrong: a folder copied over an older one keeps files the new run no longer writes,
a lock entry is merged without its reports (or the reverse), a timing record is forgotten. This does it as one step
and checks it first:

1. every named stage has an entry in the clone's ``dvc.lock`` and a stage in this checkout's ``dvc.yaml``;
2. the clone's files are the bytes its entry recorded (:func:`robopercept.reporting.freshness.output_md5`);
3. with the entries swapped in, each named stage is *current* here (:func:`robopercept.reporting.freshness.check`:
   this checkout's code, notebook, parameters, data, and the upstream stages' entries — adopt a chain together);
4. only then: each output is replaced whole (a folder is swapped, not merged into), the timing records are copied —
   ``reports/timings/stages/<stage>.json`` and every other file under ``reports/timings/`` the run wrote (modified
   between the record's start and its end) — and the entries are written into ``dvc.lock`` in place of the old ones
   (text otherwise untouched, so ``git diff dvc.lock`` shows exactly the adopted stages).

A check that fails names the stage and what is wrong, and nothing is written; the writing itself copies everything
beside its place first and renames back on a failure (:func:`apply`). Nothing here runs DVC or a stage, and of
``artifacts/`` only the outputs git holds (``cache: false`` in ``dvc.yaml``: the shared backbone checkpoint) move
(session 45: without it the lock named the regenerated backbone while git kept the old file): after adopting a
producer, this checkout's other datasets and checkpoints (if it has any) are not the ones the lock describes —
``dvc status`` says so, and ``dvc repro`` or a ``dvc pull`` from the clone's cache brings them.
"""

from __future__ import annotations

import argparse
import calendar
import dataclasses
import json
import re
import shutil
import time
from pathlib import Path

import yaml

from . import freshness

TIMINGS = Path("reports/timings")
_STAGE_LINE = re.compile(r"^  ([A-Za-z0-9_@.-]+):\s*$")


class AdoptError(RuntimeError):
    """A check failed; nothing was written."""


def lock_blocks(text: str) -> tuple[str, dict[str, str]]:
    """``dvc.lock`` text as (everything up to and including ``stages:``, {stage: its block of lines}) in file order."""
    head, sep, body = text.partition("stages:\n")
    if not sep:
        raise AdoptError("dvc.lock has no 'stages:' section")
    blocks: dict[str, str] = {}
    name, cur = None, []
    for line in body.splitlines(keepends=True):
        m = _STAGE_LINE.match(line)
        if m:
            if name is not None:
                blocks[name] = "".join(cur)
            name, cur = m.group(1), [line]
        elif name is None:
            raise AdoptError(f"dvc.lock: unexpected line before the first stage: {line.rstrip()!r}")
        else:
            cur.append(line)
    if name is not None:
        blocks[name] = "".join(cur)
    return head + sep, blocks


def merged_lock(ours: str, theirs: str, stages: list[str]) -> str:
    """``ours`` with the named stages' blocks taken from ``theirs`` (a stage new to ours goes at the end)."""
    head, mine = lock_blocks(ours)
    _, other = lock_blocks(theirs)
    for s in stages:
        if s not in other:
            raise AdoptError(f"stage {s}: no entry in the other clone's dvc.lock (did it run there?)")
        mine[s] = other[s]
    return head + "".join(mine.values())


@dataclasses.dataclass
class Plan:
    stages: list[str]
    outputs: dict[str, str]  # repository-relative path -> the md5 its entry recorded; each replaced whole
    timings: list[str]  # repository-relative files under reports/timings/
    lock_text: str  # the new dvc.lock


def _load(path: Path, what: str) -> dict:
    """freshness's YAML reader (YAML 1.2 floats, a mapping required), its errors as :class:`AdoptError`."""
    try:
        return freshness._load_yaml(path, what)
    except (OSError, ValueError) as e:
        raise AdoptError(str(e).removeprefix("freshness: ")) from None


def _window(rec_path: Path) -> tuple[float, float]:
    """(start, end) of the run a stage record describes, in seconds since the epoch."""
    try:
        rec = json.loads(rec_path.read_text(encoding="utf-8"))
        started = calendar.timegm(time.strptime(rec["started_utc"], "%Y-%m-%dT%H:%M:%SZ"))
        return started, started + float(rec["wall_s"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise AdoptError(f"timing record {rec_path} is unreadable ({e!r})") from None


def _timing_files(src: Path, stage: str) -> list[str]:
    """The stage's own record and the other timing files its run wrote: those last modified inside its run's window
    (the stage runner keeps the mtimes the notebook gave them) and inside no other stage's window in the clone."""
    stages_dir = src / TIMINGS / "stages"
    rec_path = stages_dir / f"{stage}.json"
    if not rec_path.is_file():
        raise AdoptError(f"stage {stage}: no timing record {rec_path} in the other clone (was it run with "
                         "`python -m robopercept.stage`?)")
    slack = 2.0  # the record's times are rounded to the second and a tenth
    start, end = _window(rec_path)
    others = {}
    for r in stages_dir.glob("*.json"):
        if r != rec_path:
            try:
                others[r.stem] = _window(r)
            except AdoptError:
                continue  # another stage's unreadable record: it cannot claim a file
    files = [rec_path.relative_to(src).as_posix()]
    for f in sorted((src / TIMINGS).rglob("*")):
        if not f.is_file() or stages_dir in f.parents:
            continue
        t = f.stat().st_mtime
        if start - slack <= t <= end + slack:
            also = [n for n, (a, b) in others.items() if a - slack <= t <= b + slack]
            if also:
                raise AdoptError(f"stage {stage}: timing file {f} was written while {', '.join(also)} also ran in "
                                 "the other clone; copy it by hand if it is this stage's")
            files.append(f.relative_to(src).as_posix())
    return files


def plan(src: str | Path, stages: list[str], root: str | Path = ".") -> Plan:
    """Every check of the module's docstring; the plan of what :func:`apply` would write."""
    src, root = Path(src).resolve(), Path(root).resolve()
    if not stages:
        raise AdoptError("name at least one stage to adopt")
    if src == root:
        raise AdoptError("the other clone is this checkout")
    for p in (src / "dvc.lock", root / "dvc.lock", root / "dvc.yaml"):
        if not p.is_file():
            raise AdoptError(f"{p} not found")
    spec = _load(root / "dvc.yaml", "dvc.yaml").get("stages") or {}
    unknown = [s for s in stages if s not in spec]
    if unknown:
        raise AdoptError(f"not stages of {root / 'dvc.yaml'}: {', '.join(unknown)}")
    theirs = _load(src / "dvc.lock", "the other clone's dvc.lock").get("stages") or {}
    ours = _load(root / "dvc.lock", "dvc.lock").get("stages") or {}
    new_text = merged_lock((root / "dvc.lock").read_text(encoding="utf-8"),
                           (src / "dvc.lock").read_text(encoding="utf-8"), stages)
    try:
        new = yaml.load(new_text, Loader=freshness._Loader).get("stages") or {}
    except yaml.YAMLError as e:
        raise AdoptError(f"the merged dvc.lock is not valid YAML ({e})") from None
    expected = {**ours, **{s: theirs[s] for s in stages}}
    if new != expected:  # e.g. a stage name the block split did not recognise, merged into its neighbour
        wrong = sorted(k for k in set(new) | set(expected) if new.get(k) != expected.get(k))
        raise AdoptError(f"the merged dvc.lock does not parse to ours with the adopted entries (differs at: "
                         f"{', '.join(wrong)})")
    outputs: dict[str, str] = {}
    for s in stages:
        in_git = freshness.git_committed_outs(spec[s])
        for o in theirs[s].get("outs") or []:
            path = freshness._norm(o["path"])
            if path.split("/")[0] in freshness.ARTIFACT_ROOTS and path not in in_git:
                continue
            f = src / path
            if not f.exists():
                raise AdoptError(f"stage {s}: {path} is missing in the other clone")
            if freshness.output_md5(f) != o.get("md5"):
                raise AdoptError(f"stage {s}: {path} in the other clone is not the bytes its dvc.lock recorded "
                                 "(edited after the run, or the run did not finish)")
            outputs[path] = o["md5"]
    rows = {r.stage: r for r in freshness.check(root, lock={"stages": new})}
    for s in stages:
        reasons = {k: v for k, v in rows[s].reasons.items() if k != "reports"}  # the reports come with it
        after = sorted(set(rows[s].after) - set(stages))
        if reasons or after:
            why = freshness.describe(freshness.Freshness(s, reasons, after))
            raise AdoptError(f"stage {s}: its entry in the other clone is not current in this checkout: {why}")
    timings = [f for s in stages for f in _timing_files(src, s)]
    return Plan(list(stages), outputs, list(dict.fromkeys(timings)), new_text)


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p)
    elif p.exists() or p.is_symlink():
        p.unlink()


def apply(src: str | Path, p: Plan, root: str | Path = ".") -> None:
    """Write the plan: every file and folder is first copied beside its destination (``.adopt-new``) and the copies
    of the outputs hashed against the entries; only then are they renamed into place, the old ones kept aside
    (``.adopt-old``) until ``dvc.lock`` is written, and renamed back if anything fails on the way."""
    src, root = Path(src).resolve(), Path(root).resolve()
    paths = list(p.outputs) + p.timings
    staged: list[tuple[Path, Path, Path]] = []  # (new copy, destination, old aside)
    try:
        for path in paths:
            dst = root / path
            new, old = dst.with_name(dst.name + ".adopt-new"), dst.with_name(dst.name + ".adopt-old")
            _remove(new)
            _remove(old)
            dst.parent.mkdir(parents=True, exist_ok=True)
            (shutil.copytree if (src / path).is_dir() else shutil.copy2)(src / path, new)
            staged.append((new, dst, old))
            if path in p.outputs and freshness.output_md5(new) != p.outputs[path]:
                raise AdoptError(f"{path}: the copy is not the bytes the entry recorded (did the other clone "
                                 "change since the plan?)")
    except BaseException:
        for new, _, _ in staged:
            _remove(new)
        raise
    moved: list[tuple[Path, Path, Path]] = []
    lock = root / "dvc.lock"
    tmp = lock.with_name("dvc.lock.adopt-new")
    try:
        for new, dst, old in staged:
            if dst.exists() or dst.is_symlink():
                dst.rename(old)
            new.rename(dst)
            moved.append((new, dst, old))
        tmp.write_text(p.lock_text, encoding="utf-8")
        tmp.replace(lock)
    except BaseException:
        for new, dst, old in reversed(moved):
            _remove(dst)
            if old.exists() or old.is_symlink():
                old.rename(dst)
        for new, _, _ in staged:
            _remove(new)
        _remove(tmp)
        raise
    for _, _, old in moved:
        _remove(old)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--from", dest="src", required=True, help="the clone the stages ran in")
    ap.add_argument("stages", nargs="+")
    ap.add_argument("--root", default=".", help="this checkout (default: .)")
    ap.add_argument("--dry-run", action="store_true", help="check and list, write nothing")
    a = ap.parse_args(argv)
    try:
        p = plan(a.src, a.stages, a.root)
    except AdoptError as e:
        print(f"adopt: {e}; nothing written")
        return 2
    print(f"adopt: {len(p.stages)} stage(s) from {a.src}: {', '.join(p.stages)}")
    for path in p.outputs:
        print(f"  output  {path}")
    for path in p.timings:
        print(f"  timing  {path}")
    if a.dry_run:
        print("adopt: dry run, nothing written")
        return 0
    apply(a.src, p, a.root)
    rows = freshness.check(a.root)
    print(freshness.summary(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
