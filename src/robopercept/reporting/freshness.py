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
* ``not run``: a stage of ``dvc.yaml`` without a lock entry.

Stale only because an upstream stage is stale is not listed as a reason of its own: rerunning the upstream stage
reruns it. Nothing here runs DVC or reads ``artifacts/``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import re
from pathlib import Path

import yaml

ARTIFACT_ROOTS = ("artifacts",)  # outputs of stages, never in git: compared against the producing stage's entry


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
    reasons: dict[str, list[str]]  # kind -> what differs

    @property
    def current(self) -> bool:
        return not self.reasons


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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


def _dep_paths(stage: dict) -> list[str]:
    out = []
    for d in stage.get("deps", []) or []:
        out.append(d if isinstance(d, str) else next(iter(d)))
    return out


def check(root: str | Path = ".") -> list[Freshness]:
    """One :class:`Freshness` per stage of ``dvc.yaml``, in its order."""
    root = Path(root)
    spec = _load_yaml(root / "dvc.yaml", "dvc.yaml").get("stages", {})
    lock = _load_yaml(root / "dvc.lock", "dvc.lock").get("stages", {}) if (root / "dvc.lock").exists() else {}
    params = _load_yaml(root / "params.yaml", "params.yaml")
    data_dvc = root / "data.dvc"
    data_md5 = None
    if data_dvc.is_file():
        outs = _load_yaml(data_dvc, "data.dvc").get("outs", [])
        data_md5 = outs[0].get("md5") if outs else None
    produced = {}  # output path -> md5 its producing stage recorded
    for name, entry in lock.items():
        for o in entry.get("outs", []) or []:
            produced[o["path"]] = o.get("md5")
    hashes: dict[Path, str] = {}  # a module is a dependency of many stages: hash it once
    result = []
    for name, stage in spec.items():
        entry = lock.get(name)
        if entry is None:
            result.append(Freshness(name, {"not run": ["no dvc.lock entry"]}))
            continue
        reasons: dict[str, list[str]] = {}
        recorded = {d["path"]: d.get("md5") for d in entry.get("deps", []) or []}
        listed = set(_dep_paths(stage))
        added, dropped = sorted(listed - set(recorded)), sorted(set(recorded) - listed)
        if added or dropped:
            reasons["deps"] = [f"added since the run: {p}" for p in added] + [f"no longer listed: {p}" for p in dropped]
        for path, md5 in recorded.items():
            top = path.split("/")[0]
            if top in ARTIFACT_ROOTS or path in produced:
                if path in produced and produced[path] != md5:
                    reasons.setdefault("upstream", []).append(
                        f"{path}: {str(md5)[:8]} here, {str(produced[path])[:8]} in its producing stage's entry")
                continue
            if path == "data" or path.startswith("data/"):
                if path == "data" and data_md5 is not None and md5 != data_md5:
                    reasons.setdefault("data", []).append(f"data/: {str(md5)[:8]} here, data.dvc pins {data_md5[:8]}")
                continue
            f = root / path
            if not f.exists():
                reasons.setdefault("code", []).append(f"{path}: gone")
            elif f.is_file():
                if f not in hashes:
                    hashes[f] = _md5(f)
                if hashes[f] != md5:
                    reasons.setdefault("code", []).append(f"{path}: changed")
        recorded_keys = set()
        for pfile, values in (entry.get("params") or {}).items():
            current = params if pfile == "params.yaml" else _load_yaml(root / pfile, pfile)
            for key, value in values.items():
                recorded_keys.add(key)
                try:
                    now = _lookup(current, key)
                except KeyError:
                    reasons.setdefault("params", []).append(f"{key}: gone from {pfile}")
                    continue
                then_flat, now_flat = {}, {}
                _flatten(key, value, then_flat)
                _flatten(key, now, now_flat)
                for k in sorted(set(then_flat) | set(now_flat)):
                    if k not in now_flat:
                        reasons.setdefault("params", []).append(f"{k}: gone from {pfile}")
                    elif k not in then_flat:
                        reasons.setdefault("params", []).append(f"{k}: new, {now_flat[k]!r}")
                    elif then_flat[k] != now_flat[k]:
                        reasons.setdefault("params", []).append(f"{k}: {then_flat[k]!r} then, {now_flat[k]!r} now")
        for p in stage.get("params", []) or []:
            for key in ([p] if isinstance(p, str) else [k for v in p.values() for k in v]):
                if key not in recorded_keys:
                    reasons.setdefault("params", []).append(f"{key}: read now, not recorded")
        result.append(Freshness(name, reasons))
    return result


def summary(rows: list[Freshness]) -> str:
    stale = [r for r in rows if not r.current]
    lines = [f"{len(rows) - len(stale)} of {len(rows)} stages current"]
    for r in stale:
        lines.append(f"  {r.stage}: " + "; ".join(f"{k} ({len(v)}: {', '.join(v[:3])}{', ...' if len(v) > 3 else ''})"
                                             for k, v in r.reasons.items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=".")
    ap.add_argument("--json", action="store_true", help="one object per stage: {stage, current, reasons}")
    a = ap.parse_args(argv)
    rows = check(a.root)
    if a.json:
        print(json.dumps([{"stage": r.stage, "current": r.current, "reasons": r.reasons} for r in rows], indent=1))
    else:
        print(summary(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
