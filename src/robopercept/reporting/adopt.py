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

A check that fails names the stage and what is wrong, and nothing is written. Nothing here runs DVC or a stage.
"""

from __future__ import annotations

import argparse
import calendar
import dataclasses
import json
import re
import time
from pathlib import Path

import yaml

from ..stage import _swap_into_place
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
    outputs: list[str]  # repository-relative paths, replaced whole
    timings: list[str]  # repository-relative files under reports/timings/
    lock_text: str  # the new dvc.lock


def _timing_files(src: Path, stage: str) -> list[str]:
    """The stage's own record and the other timing files its run wrote (modified while it ran)."""
    rec_path = src / TIMINGS / "stages" / f"{stage}.json"
    if not rec_path.is_file():
        raise AdoptError(f"stage {stage}: no timing record {rec_path} in the other clone (was it run with "
                         "`python -m robopercept.stage`?)")
    try:
        rec = json.loads(rec_path.read_text())
        started = calendar.timegm(time.strptime(rec["started_utc"], "%Y-%m-%dT%H:%M:%SZ"))
        ended = started + float(rec["wall_s"])
    except (ValueError, KeyError, TypeError) as e:
        raise AdoptError(f"stage {stage}: timing record {rec_path} is unreadable ({e!r})") from None
    files = [rec_path.relative_to(src).as_posix()]
    for f in sorted((src / TIMINGS).rglob("*")):
        if f.is_file() and f != rec_path and (src / TIMINGS / "stages") not in f.parents \
                and started - 1 <= f.stat().st_mtime <= ended + 60:
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
    spec = yaml.safe_load((root / "dvc.yaml").read_text()).get("stages", {})
    unknown = [s for s in stages if s not in spec]
    if unknown:
        raise AdoptError(f"not stages of {root / 'dvc.yaml'}: {', '.join(unknown)}")
    theirs_text = (src / "dvc.lock").read_text()
    theirs = yaml.load(theirs_text, Loader=freshness._Loader).get("stages", {})
    new_text = merged_lock((root / "dvc.lock").read_text(), theirs_text, stages)
    outputs: list[str] = []
    for s in stages:
        for o in theirs[s].get("outs") or []:
            path = freshness._norm(o["path"])
            if path.split("/")[0] in freshness.ARTIFACT_ROOTS:
                continue
            f = src / path
            if not f.exists():
                raise AdoptError(f"stage {s}: {path} is missing in the other clone")
            if freshness.output_md5(f) != o.get("md5"):
                raise AdoptError(f"stage {s}: {path} in the other clone is not the bytes its dvc.lock recorded "
                                 "(edited after the run, or the run did not finish)")
            outputs.append(path)
    rows = {r.stage: r for r in freshness.check(root, lock=yaml.load(new_text, Loader=freshness._Loader))}
    for s in stages:
        reasons = {k: v for k, v in rows[s].reasons.items() if k != "reports"}  # the reports come with it
        if reasons:
            why = freshness.describe(freshness.Freshness(s, reasons))
            raise AdoptError(f"stage {s}: its entry in the other clone is not current in this checkout: {why}")
    timings = [f for s in stages for f in _timing_files(src, s)]
    return Plan(list(stages), outputs, list(dict.fromkeys(timings)), new_text)


def apply(src: str | Path, p: Plan, root: str | Path = ".") -> None:
    src, root = Path(src).resolve(), Path(root).resolve()
    for path in p.outputs + p.timings:
        _swap_into_place(src / path, root / path)  # the stage runner's own: copy beside, then rename
    lock = root / "dvc.lock"
    tmp = lock.with_name("dvc.lock.adopt-tmp")
    tmp.write_text(p.lock_text)
    tmp.replace(lock)


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
