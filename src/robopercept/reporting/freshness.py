"""Are the committed results current? Each stage's ``dvc.lock`` entry against the checkout, without the artifacts.

    python -m robopercept.reporting.freshness [--root .] [--json]

``dvc status`` answers this only where every artifact is present (on a fresh clone it reports every dataset and
checkpoint as deleted). A reader of ``reports/`` wants to know something narrower, from the files git holds: was each
stage's committed result made by the code, notebook, parameters and raw data of this checkout, and on the outputs its
upstream stages' committed entries recorded? Per stage, the reasons it is not:

* ``code``: a dependency git tracks (a module, the notebook) whose md5 is not the one the lock recorded, or is gone;
* ``params``: a parameter the stage reads whose value in ``params.yaml`` is not the recorded one;
* ``deps``: a dependency ``dvc.yaml`` lists that the lock entry does not (added after the run), or the reverse;
* ``data``: ``data/`` is not the version ``data.dvc`` pins;
* ``upstream``: an input another stage makes (a dataset, a checkpoint) whose recorded md5 is not the md5 the producing
  stage's own entry recorded for it — the two results were made on different runs of the upstream stage (e.g. on
  different machines: see README "Stages" on CPU-dependent bytes), so ``dvc repro`` with the artifacts would rerun it;
* ``cmd`` / ``outs``: the command or the declared outputs differ from the recorded ones;
* ``reports``: a committed output outside ``artifacts/`` (a table, figure, executed notebook, training log) is missing
  or is not the bytes the lock recorded (a file's md5, a folder's DVC listing hash) — a hand edit, or results merged
  from another run without its lock entry (or the reverse: :mod:`robopercept.reporting.adopt` moves both together);
* ``unchecked``: a dependency this module cannot compare (a folder outside ``artifacts/``, an artifact no stage
  records as its output, an entry hashed the DVC 2 way) — counted as not current, to be checked with ``dvc status``;
* ``not run``: a stage of ``dvc.yaml`` without a lock entry.

A stage downstream of a stale one (through any chain of outputs) is not current either: ``after`` names the stale
stages it reads from, apart from its own reasons. Nothing here runs DVC or reads ``artifacts/``.

Current is not the same as *reproducible here*: training stages give the same bytes only on the CPU model that ran
them (README "Stages", "Across machines"). ``--machine`` (and :func:`machines`) reads each stage's timing record
(``reports/timings/stages/<stage>.json``, written by the stage runner with the CPU fingerprint of
:mod:`robopercept.reporting.cpu`) and names the stages made on another CPU than this one, with what differs — the
ones whose rerun here is not expected to reproduce ``dvc.lock`` byte for byte.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import re
from pathlib import Path

import yaml

ARTIFACT_ROOTS = ("artifacts",)
TIMINGS = Path("reports/timings/stages")  # one record per stage: {"commit", "wall_s", "cpu": fingerprint, ...}
# the fingerprint's keys that decide same bytes, as reporting.cpu.same_bytes_expected compares them (kept here, not
# shared: reporting/cpu.py is a dependency of every stage, so moving the tuple there would restale all of them)
CPU_KEYS = ("vendor", "family", "model", "stepping", "caches", "flags", "torch_cpu_capability", "mkldnn", "mkl")  # outputs of stages, never in git: compared against the producing stage's entry


class _Loader(yaml.SafeLoader):
    """YAML 1.2 floats: DVC writes 0.00001 as ``1e-05``, which PyYAML's YAML 1.1 rules read as a string."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+"
               r"|\.[0-9_]+(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))


@dataclasses.dataclass
class Freshness:
    stage: str
    reasons: dict[str, list[str]]  # kind -> what differs, for this stage's own entry
    after: list[str] = dataclasses.field(default_factory=list)  # stale stages upstream of it (transitively)

    @property
    def current(self) -> bool:
        """Its own entry matches the checkout and no stage it reads from is stale."""
        return not self.reasons and not self.after


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dir_md5(path: Path) -> str:
    """A folder's hash as DVC 3 records it in ``dvc.lock``: the md5 of the JSON list of its files' ``{"md5",
    "relpath"}`` (POSIX relative paths, sorted by them; ``json.dumps`` with sorted keys), suffixed ``.dir``."""
    entries = sorted(({"md5": _md5(f), "relpath": f.relative_to(path).as_posix()}
                      for f in path.rglob("*") if f.is_file()), key=lambda e: e["relpath"])
    return hashlib.md5(json.dumps(entries, sort_keys=True).encode("utf-8")).hexdigest() + ".dir"


def output_md5(path: Path) -> str:
    """The md5 DVC records for an output: the file's, or :func:`dir_md5` for a folder."""
    return dir_md5(path) if path.is_dir() else _md5(path)


def _lookup(params: dict, dotted: str):
    cur = params
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            raise KeyError(dotted)
        cur = cur[part]
    return cur


def _flatten(prefix: str, value, out: dict) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value


def _load_yaml(path: Path, what: str) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"freshness: {what} not found at {path}")
    try:
        data = yaml.load(path.read_text(), Loader=_Loader)
    except yaml.YAMLError as e:
        raise ValueError(f"freshness: {path} is not valid YAML ({e})") from None
    if not isinstance(data, dict):
        raise ValueError(f"freshness: {path} does not hold a mapping")
    return data


def _norm(path: str) -> str:
    return Path(path).as_posix().removeprefix("./").rstrip("/")


def _paths(items) -> list[str]:
    """Paths of a dvc.yaml ``deps`` / ``outs`` list (entries are a path or ``{path: {options}}``)."""
    return [_norm(d if isinstance(d, str) else next(iter(d))) for d in items or []]


def _outs(stage: dict) -> list[str]:
    """Everything a dvc.yaml stage writes: ``outs``, ``metrics`` and ``plots`` (the lock lists all under ``outs``)."""
    return [p for key in ("outs", "metrics", "plots") for p in _paths(stage.get(key))
            if key != "plots" or not isinstance(stage.get(key), dict)]


def _producer(path: str, outs_of: dict[str, list[str]]) -> str | None:
    """The stage whose output is ``path`` or a folder holding it."""
    for stage, outs in outs_of.items():
        if any(path == o or path.startswith(o + "/") for o in outs):
            return stage
    return None


def git_committed_outs(stage_spec: dict) -> set[str]:
    """The stage's outputs that ``dvc.yaml`` keeps out of DVC's cache (``cache: false``): git holds them, so a checkout
    has the bytes — under ``artifacts/`` too (the shared backbone checkpoint) — and they are checked, and adopted, like
    the reports."""
    out = set()
    for o in stage_spec.get("outs") or []:
        if isinstance(o, dict):
            (path, opts), = o.items()
            if (opts or {}).get("cache") is False:
                out.add(_norm(path))
    return out


def check(root: str | Path = ".", lock: dict | None = None) -> list[Freshness]:
    """One :class:`Freshness` per stage of ``dvc.yaml``, in its order. ``lock``: a parsed ``dvc.lock`` to judge
    instead of the checkout's (what :mod:`robopercept.reporting.adopt` would write)."""
    root = Path(root)
    spec = _load_yaml(root / "dvc.yaml", "dvc.yaml").get("stages", {})
    if lock is None:
        lock = _load_yaml(root / "dvc.lock", "dvc.lock") if (root / "dvc.lock").exists() else {}
    lock = lock.get("stages", {}) or {}
    params = _load_yaml(root / "params.yaml", "params.yaml")
    data_dvc = root / "data.dvc"
    data_md5 = None
    if data_dvc.is_file():
        outs = _load_yaml(data_dvc, "data.dvc").get("outs", [])
        data_md5 = outs[0].get("md5") if outs else None
    produced = {}  # output path -> md5 its producing stage recorded
    for name, entry in lock.items():
        for o in entry.get("outs", []) or []:
            produced[_norm(o["path"])] = o.get("md5")
    hashes: dict[Path, str] = {}  # a module is a dependency of many stages: hash it once
    dvcignore = root / ".dvcignore"
    ignores = dvcignore.is_file() and any(line.strip() and not line.lstrip().startswith("#")
                                          for line in dvcignore.read_text().splitlines())
    result = []
    for name, stage in spec.items():
        entry = lock.get(name)
        if entry is None:
            result.append(Freshness(name, {"not run": ["no dvc.lock entry"]}))
            continue
        reasons: dict[str, list[str]] = {}

        def add(kind: str, text: str) -> None:
            reasons.setdefault(kind, []).append(text)

        if " ".join(str(stage.get("cmd", "")).split()) != " ".join(str(entry.get("cmd", "")).split()):
            add("cmd", f"{entry.get('cmd')!r} then, {stage.get('cmd')!r} now")
        listed_outs = set(_outs(stage))
        recorded_outs = {_norm(o["path"]) for o in entry.get("outs") or []}
        for p in sorted(listed_outs - recorded_outs):
            add("outs", f"added since the run: {p}")
        for p in sorted(recorded_outs - listed_outs):
            add("outs", f"no longer listed: {p}")
        recorded = {_norm(d["path"]): d for d in entry.get("deps", []) or []}
        listed = set(_paths(stage.get("deps")))
        for p in sorted(listed - set(recorded)):
            add("deps", f"added since the run: {p}")
        for p in sorted(set(recorded) - listed):
            add("deps", f"no longer listed: {p}")
        for path, dep in recorded.items():
            md5 = dep.get("md5")
            if dep.get("hash") != "md5":  # DVC 2 entries (no ``hash``) hashed text after dos2unix: not comparable
                add("unchecked", f"{path}: recorded with hash {dep.get('hash')!r}")
                continue
            if path in produced:
                if produced[path] != md5:
                    add("upstream", f"{path}: {str(md5)[:8]} here, {str(produced[path])[:8]} in its producing "
                                    "stage's entry")
                continue
            if path.split("/")[0] in ARTIFACT_ROOTS:
                add("unchecked", f"{path}: made by no stage's recorded output")
                continue
            if path == "data":
                if data_md5 is not None and md5 != data_md5:
                    add("data", f"data/: {str(md5)[:8]} here, data.dvc pins {data_md5[:8]}")
                continue
            f = root / path
            if not f.exists():
                add("code", f"{path}: gone")
            elif f.is_file():
                if f not in hashes:
                    hashes[f] = _md5(f)
                if hashes[f] != md5:
                    add("code", f"{path}: changed")
            else:  # a folder outside artifacts/ (DVC hashes its listing; not recomputed here)
                add("unchecked", f"{path}: a folder dependency")
        in_git = git_committed_outs(stage)
        for o in entry.get("outs") or []:
            path = _norm(o["path"])
            if (path.split("/")[0] in ARTIFACT_ROOTS and path not in in_git) or not o.get("md5"):
                continue
            if o.get("hash") != "md5":
                add("unchecked", f"{path}: output recorded with hash {o.get('hash')!r}")
                continue
            f = root / path
            if f.is_dir() and ignores:
                add("unchecked", f"{path}: a folder output, and .dvcignore has patterns this module does not apply")
            elif not f.exists():
                add("reports", f"{path}: missing")
            elif output_md5(f) != o["md5"]:
                add("reports", f"{path}: not the bytes the run recorded")
        recorded_keys = set()
        for pfile, values in (entry.get("params") or {}).items():
            current = params if pfile == "params.yaml" else _load_yaml(root / pfile, pfile)
            for key, value in (values or {}).items():
                recorded_keys.add(key)
                try:
                    now = _lookup(current, key)
                except KeyError:
                    add("params", f"{key}: gone from {pfile}")
                    continue
                then_flat, now_flat = {}, {}
                _flatten(key, value, then_flat)
                _flatten(key, now, now_flat)
                for k in sorted(set(then_flat) | set(now_flat)):
                    if k not in now_flat:
                        add("params", f"{k}: gone from {pfile}")
                    elif k not in then_flat:
                        add("params", f"{k}: new, {now_flat[k]!r}")
                    elif then_flat[k] != now_flat[k]:
                        add("params", f"{k}: {then_flat[k]!r} then, {now_flat[k]!r} now")
        listed_keys = set()
        for p in stage.get("params", []) or []:
            if isinstance(p, str):
                listed_keys.add(p)
            else:
                listed_keys.update(k for v in p.values() for k in (v or []))
        for key in sorted(listed_keys - recorded_keys):
            add("params", f"{key}: read now, not recorded")
        for key in sorted(recorded_keys - listed_keys):
            add("params", f"{key}: recorded, no longer read")
        result.append(Freshness(name, reasons))
    _propagate(result, spec)
    return result


def _propagate(rows: list[Freshness], spec: dict) -> None:
    """Fill each row's ``after``: the stale stages it reads from, directly or through other stages. A stage stale only
    by its ``reports`` (a committed table edited, say) passes that on only to a stage that reads one of those reports:
    the others read its artifacts, which the lock still describes."""
    outs_of = {name: _outs(st) for name, st in spec.items()}
    by_name = {r.stage: r for r in rows}
    bad_reports = {r.stage: [t.rsplit(": ", 1)[0] for t in r.reasons.get("reports", [])] for r in rows}
    code_stale = {r.stage for r in rows if set(r.reasons) - {"reports"}}
    memo: dict[str, set[str]] = {}

    def after(name: str) -> set[str]:
        if name not in memo:
            memo[name] = set()  # a cycle (not a valid dvc.yaml) ends here instead of recursing forever
            found: set[str] = set()
            for d in _paths(spec.get(name, {}).get("deps")):
                q = _producer(d, outs_of)
                if q is None or q == name:
                    continue
                if q in code_stale or any(d == b or d.startswith(b + "/") or b.startswith(d + "/")
                                          for b in bad_reports.get(q, [])):
                    found.add(q)
                found |= after(q)
            memo[name] = found
        return memo[name]

    for name, r in by_name.items():
        r.after = sorted(after(name))


def describe(r: Freshness, limit: int = 3) -> str:
    """One line of why ``r`` is not current."""
    parts = [f"{k} ({len(v)}: {', '.join(v[:limit])}{', ...' if len(v) > limit else ''})" for k, v in r.reasons.items()]
    if r.after:
        parts.append("after stale " + ", ".join(r.after))
    return "; ".join(parts)


def summary(rows: list[Freshness]) -> str:
    stale = [r for r in rows if not r.current]
    lines = [f"{len(rows) - len(stale)} of {len(rows)} stages current"]
    lines += [f"  {r.stage}: {describe(r)}" for r in stale]
    return "\n".join(lines)


def cpu_label(fp: dict | None) -> str:
    """A fingerprint in a few words: ``AuthenticAMD family 25 model 17 (torch AVX512)``."""
    if not fp:
        return "CPU not recorded"
    return (f"{fp.get('vendor', '?')} family {fp.get('family', '?')} model {fp.get('model', '?')}"
            f" (torch {fp.get('torch_cpu_capability', '?')})")


@dataclasses.dataclass
class Machine:
    stage: str
    made_on: dict | None  # the CPU fingerprint of the run that made the committed result (None: not recorded)
    differs: list[str]  # fingerprint keys that differ from this machine's (empty: same bytes expected)

    @property
    def same(self) -> bool | None:
        """True: the same CPU as here; False: another one; None: the record does not say."""
        return None if self.made_on is None else not self.differs


def machines(root: str | Path = ".", here: dict | None = None) -> list[Machine]:
    """Per stage of ``dvc.yaml``: the CPU its committed result was made on (its timing record's ``cpu``) against
    ``here`` (default: this machine's :func:`robopercept.reporting.cpu.fingerprint`). A missing or unreadable record,
    or one without ``cpu`` (runs before session 26 recorded none), gives ``made_on=None``."""
    root = Path(root)
    if here is None:
        from .cpu import fingerprint
        here = fingerprint()
    spec = _load_yaml(root / "dvc.yaml", "dvc.yaml").get("stages", {})
    out = []
    for name in spec:
        made_on = None
        try:
            made_on = json.loads((root / TIMINGS / f"{name}.json").read_text()).get("cpu") or None
        except (OSError, ValueError, AttributeError):
            made_on = None
        differs = [k for k in CPU_KEYS if made_on is not None and made_on.get(k) != here.get(k)]
        out.append(Machine(name, made_on, differs))
    return out


def machine_summary(rows: list[Machine], here: dict) -> str:
    same = [m.stage for m in rows if m.same]
    other = [m for m in rows if m.same is False]
    unknown = [m.stage for m in rows if m.same is None]
    lines = [f"this machine: {cpu_label(here)}",
             f"  made on this CPU ({len(same)}): {', '.join(same) or '-'}"]
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for m in other:
        groups.setdefault((cpu_label(m.made_on), tuple(m.differs)), []).append(m.stage)
    lines += [f"  made on {label} ({len(stages)}; differs: {', '.join(keys)}): {', '.join(stages)}"
              for (label, keys), stages in groups.items()]
    lines.append(f"  CPU not recorded ({len(unknown)}): {', '.join(unknown) or '-'}")
    if other or unknown:
        lines.append("  a rerun of a training stage reproduces its bytes only on the CPU that made them "
                     "(README \"Across machines\"); data stages reproduce across x86 machines with the BLAS pin")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=".")
    ap.add_argument("--json", action="store_true", help="one object per stage: {stage, current, reasons}")
    ap.add_argument("--machine", action="store_true",
                    help="also: the CPU each committed result was made on, against this machine's")
    a = ap.parse_args(argv)
    rows = check(a.root)
    here = ms = None
    if a.machine:
        from .cpu import fingerprint
        here = fingerprint()
        ms = {m.stage: m for m in machines(a.root, here)}
    if a.json:
        out = []
        for r in rows:
            item = {"stage": r.stage, "current": r.current, "reasons": r.reasons, "after": r.after}
            if ms is not None:
                item["made_on"], item["cpu_differs"] = ms[r.stage].made_on, ms[r.stage].differs
            out.append(item)
        print(json.dumps(out, indent=1))
    else:
        print(summary(rows))
        if ms is not None:
            print(machine_summary(list(ms.values()), here))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
