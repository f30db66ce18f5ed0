"""Did two runs of the pipeline give the same bytes? Two checkouts' results, compared stage by stage.

    python -m robopercept.reporting.compare CHECKOUT_A CHECKOUT_B [--json]

The reproduction check of issue #10: one fresh clone (an empty DVC cache) runs ``dvc repro`` on the final code, a
second fresh clone runs ``make repro`` — and the two must agree byte for byte, apart from the files that only record
timings (``reports/timings/``, kept out of every DVC-tracked output and executed notebook for this reason). Run it on
the two clones (or on a clone and this checkout, to check a regeneration against the committed results). Per stage of
``dvc.yaml``:

* ``inputs``: the stage's recorded dependencies (code, notebook, parameters, data, upstream outputs) differ between
  the two ``dvc.lock`` files — the runs are not comparable for it (named, not counted as a mismatch of outputs);
* ``outputs``: the recorded md5 of an output differs (a dataset, checkpoint, table, figure, executed notebook):
  the same inputs gave other bytes. The two runs' CPU fingerprints (their timing records) are printed beside it:
  training stages reproduce their bytes only on the CPU model that made them (README "Across machines");
* ``files``: a file under ``reports/`` (``reports/timings/`` apart) differs, or is in one checkout only — also the
  files no lock entry records.

Nothing here runs DVC or a stage, and ``artifacts/`` is not read: the lock's hashes stand for them (each clone's
``dvc repro`` checked its outputs against its own lock). Exit status 0 when everything compared is the same, 1 when
something differs, 2 when a checkout cannot be read.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
from pathlib import Path

from .freshness import CPU_KEYS, _load_yaml

REPORTS = Path("reports")
TIMINGS = REPORTS / "timings"


@dataclasses.dataclass
class StageComparison:
    stage: str
    inputs: list[str]  # dependencies whose recorded md5 (or parameter value) differs
    outputs: list[str]  # outputs whose recorded md5 differs, or that one lock records and the other not
    cpu_a: dict | None = None  # the timing record's CPU fingerprint of each side's run
    cpu_b: dict | None = None
    missing: str | None = None  # "a", "b" or "both": the lock with no entry for the stage

    @property
    def same(self) -> bool:
        return not self.inputs and not self.outputs and self.missing is None

    @property
    def same_cpu(self) -> bool | None:
        if self.cpu_a is None or self.cpu_b is None:
            return None
        return all(self.cpu_a.get(k) == self.cpu_b.get(k) for k in CPU_KEYS)


@dataclasses.dataclass
class Comparison:
    stages: list[StageComparison]
    files_differ: list[str]  # under reports/ (timings apart), present in both
    only_a: list[str]
    only_b: list[str]

    @property
    def same(self) -> bool:
        return all(s.same for s in self.stages) and not (self.files_differ or self.only_a or self.only_b)


def _entries(items) -> dict[str, str]:
    """A lock entry's deps/outs as {path: md5}."""
    return {d["path"]: d.get("md5", "") for d in items or []}


def _params(entry: dict) -> dict[str, object]:
    out = {}
    for file, values in (entry.get("params") or {}).items():
        for k, v in (values or {}).items():
            out[f"{file}:{k}"] = v
    return out


def _cpu(root: Path, stage: str) -> dict | None:
    try:
        return json.loads((root / TIMINGS / "stages" / f"{stage}.json").read_text()).get("cpu") or None
    except (OSError, ValueError, AttributeError):
        return None


def _files(root: Path) -> dict[str, str]:
    base = root / REPORTS
    if not base.is_dir():
        return {}
    out = {}
    for f in sorted(base.rglob("*")):
        rel = f.relative_to(root)
        if f.is_file() and TIMINGS not in rel.parents:
            out[rel.as_posix()] = hashlib.md5(f.read_bytes()).hexdigest()
    return out


def compare(a: str | Path, b: str | Path) -> Comparison:
    """Compare checkout ``a`` with checkout ``b`` (each: a ``dvc.yaml``, a ``dvc.lock`` and ``reports/``)."""
    a, b = Path(a), Path(b)
    for root in (a, b):
        if not root.is_dir():
            raise FileNotFoundError(f"compare: {root} is not a folder")
    spec = _load_yaml(a / "dvc.yaml", f"dvc.yaml of {a}").get("stages", {})
    lock_a = _load_yaml(a / "dvc.lock", f"dvc.lock of {a}").get("stages", {})
    lock_b = _load_yaml(b / "dvc.lock", f"dvc.lock of {b}").get("stages", {})
    stages = []
    for name in list(spec) + [s for s in lock_b if s not in spec]:
        ea, eb = lock_a.get(name), lock_b.get(name)
        if ea is None or eb is None:
            stages.append(StageComparison(name, [], [], _cpu(a, name), _cpu(b, name),
                                          missing="both" if ea is None and eb is None else ("a" if ea is None else "b")))
            continue
        da, db = _entries(ea.get("deps")), _entries(eb.get("deps"))
        pa, pb = _params(ea), _params(eb)
        inputs = sorted({p for p in da.keys() | db.keys() if da.get(p) != db.get(p)}
                        | {p for p in pa.keys() | pb.keys() if pa.get(p) != pb.get(p)})
        if ea.get("cmd") != eb.get("cmd"):
            inputs.append("cmd")
        oa, ob = _entries(ea.get("outs")), _entries(eb.get("outs"))
        outputs = sorted(p for p in oa.keys() | ob.keys() if oa.get(p) != ob.get(p))
        stages.append(StageComparison(name, inputs, outputs, _cpu(a, name), _cpu(b, name)))
    fa, fb = _files(a), _files(b)
    return Comparison(stages=stages,
                      files_differ=sorted(p for p in fa.keys() & fb.keys() if fa[p] != fb[p]),
                      only_a=sorted(fa.keys() - fb.keys()), only_b=sorted(fb.keys() - fa.keys()))


def _cpu_note(s: StageComparison) -> str:
    return {True: "same CPU", False: "different CPUs (training stages are not expected to match)",
            None: "CPU not recorded on one side"}[s.same_cpu]


def report(c: Comparison, a: str, b: str, limit: int = 5) -> str:
    same = [s.stage for s in c.stages if s.same]
    lines = [f"A = {a}", f"B = {b}", f"stages with the same inputs and outputs ({len(same)} of {len(c.stages)}): "
             + (", ".join(same) or "-")]
    for s in c.stages:
        if s.missing:
            lines.append(f"  {s.stage}: no dvc.lock entry in {'A and B' if s.missing == 'both' else s.missing.upper()}")
        elif s.inputs:
            lines.append(f"  {s.stage}: not comparable, its inputs differ: {', '.join(s.inputs[:limit])}"
                         + (f" (+{len(s.inputs) - limit} more)" if len(s.inputs) > limit else ""))
        elif s.outputs:
            lines.append(f"  {s.stage}: the same inputs gave other outputs: {', '.join(s.outputs[:limit])}"
                         + (f" (+{len(s.outputs) - limit} more)" if len(s.outputs) > limit else "")
                         + f" [{_cpu_note(s)}]")
    for label, items in (("files under reports/ that differ", c.files_differ), ("only in A", c.only_a),
                         ("only in B", c.only_b)):
        if items:
            lines.append(f"{label} ({len(items)}): " + ", ".join(items[:limit * 2])
                         + (f" (+{len(items) - 2 * limit} more)" if len(items) > 2 * limit else ""))
    lines.append("the same bytes (reports/timings/ apart)" if c.same else "NOT the same bytes")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", help="a checkout that ran the pipeline (its dvc.lock and reports/)")
    ap.add_argument("b", help="another one")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    try:
        c = compare(args.a, args.b)
    except (FileNotFoundError, ValueError) as e:
        print(f"compare: {e}")
        return 2
    if args.json:
        print(json.dumps({"same": c.same, "stages": [dataclasses.asdict(s) | {"same": s.same} for s in c.stages],
                          "files_differ": c.files_differ, "only_a": c.only_a, "only_b": c.only_b}, indent=1))
    else:
        print(report(c, args.a, args.b))
    return 0 if c.same else 1


if __name__ == "__main__":
    raise SystemExit(main())
