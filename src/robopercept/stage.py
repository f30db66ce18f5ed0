"""Run one notebook as one DVC stage: ``python -m robopercept.stage notebooks/<...>.py``.

The stage convention (README, "Stages"):

1. **The stage is found in dvc.yaml** by its notebook: the stage whose ``cmd`` runs this notebook.
   Its ``params:`` list names the params.yaml sections it reads (so DVC tracks exactly those) and
   its ``outs:`` under ``reports/`` are what the notebook must write.
2. **Parameters are read here, not on a command line.** params.yaml is validated as a whole
   (unknown key, wrong type, out-of-range value → an error naming the key, before the kernel
   starts) and the stage's sections are handed to the notebook's ``params`` variable through
   papermill. No value ever passes through a shell.
3. **Inputs are checked first**: a stage that depends on ``data/`` refuses to start when ``data/``
   differs from ``data.manifest.json``, naming the files (:mod:`robopercept.data.materialize`), and
   puts back the commit's ``data.dvc`` that ``dvc repro`` rewrote to the changed ``data/`` before
   any stage ran (:func:`robopercept.data.materialize.restore_pin`).
4. **Reports are replaced atomically on success.** The notebook writes its reports into a scratch
   folder; only when it finished are the stage's declared ``reports/`` outputs moved into place
   (each file or folder swapped by rename). A failed run leaves the previous reports untouched
   (dvc.yaml marks them ``persist: true`` so DVC does not delete them first); its error names
   the stage, the failing cell and the executed notebook, which is kept for inspection. Files
   under ``reports/timings/`` are the only undeclared outputs allowed (timings are kept apart from
   DVC-tracked outputs). A notebook that finished but wrote an undeclared report, or missed a
   declared one, is refused before anything moves; the error names the scratch folder holding
   what it wrote and the executed notebook, both kept.
5. The executed notebook is normalized (papermill's timestamps and absolute paths removed) and
   becomes ``reports/notebooks/<same path>.ipynb``.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Mapping

import yaml

from . import paths
from .config import ConfigError, read_params, validate_params

DEFAULT_KERNEL = "robopercept"
PARAMS_VARIABLE = "params"  # the notebook variable that receives the stage's sections
TOP_LEVEL = ("profile", "seed")
TIMINGS = "timings"  # reports/timings/: wall-clock records, committed but not DVC outputs


class StageFailed(RuntimeError):
    """The notebook raised; the message names the stage, the cell and the kept executed notebook."""


@dataclasses.dataclass(frozen=True)
class StageSpec:
    """What dvc.yaml says about the stage that runs one notebook."""

    name: str
    notebook: str  # relative to the repository root
    sections: tuple[str, ...]  # params.yaml sections (and top-level keys) under ``params:``
    report_outs: tuple[str, ...]  # outs under reports/, relative to reports/
    deps: tuple[str, ...]

    @property
    def reads_data(self) -> bool:
        return any(d == "data" or d.startswith("data/") for d in self.deps)


def _out_path(entry: Any) -> str:
    return next(iter(entry)) if isinstance(entry, dict) else str(entry)


def read_dvc_yaml(path: Path | None = None) -> dict:
    fn = path or paths.root() / "dvc.yaml"
    try:
        doc = yaml.safe_load(fn.read_text())
    except FileNotFoundError:
        raise ConfigError(f"missing {fn}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("stages"), dict):
        raise ConfigError(f"{fn}: no 'stages' mapping")
    return doc


def stage_of(notebook: str | Path, dvc_yaml: Path | None = None) -> StageSpec:
    """The dvc.yaml stage whose command runs ``notebook``."""
    nb = paths.resolve(notebook)
    rel = str(nb.relative_to(paths.root())) if nb.is_relative_to(paths.root()) else str(notebook)
    found = []
    for name, st in read_dvc_yaml(dvc_yaml)["stages"].items():
        cmd = st.get("cmd", "")
        words = cmd.split() if isinstance(cmd, str) else []
        if rel in words:
            found.append((name, st))
    if len(found) != 1:
        raise ConfigError(f"{rel}: expected exactly one dvc.yaml stage running this notebook, found "
                          f"{len(found)} ({', '.join(n for n, _ in found) or 'none'})")
    name, st = found[0]
    sections = []
    for entry in st.get("params", []) or []:
        if isinstance(entry, dict):  # {params-file: [keys]} form is not used here
            raise ConfigError(f"dvc.yaml stage {name}: params must be a list of params.yaml keys")
        sections.append(str(entry))
    outs = [_out_path(o) for key in ("outs", "metrics", "plots") for o in (st.get(key) or [])]
    report_outs = tuple(str(Path(o).relative_to("reports")) for o in outs if o.startswith("reports/"))
    return StageSpec(name, rel, tuple(sections), report_outs, tuple(str(d) for d in st.get("deps", []) or []))


def stage_params(spec: StageSpec, params: Mapping[str, Any]) -> dict[str, Any]:
    """The stage's slice of a whole (validated) params mapping, plus its name."""
    validate_params(params)
    missing = [s for s in spec.sections if s not in params]
    if missing:
        raise ConfigError(f"stage {spec.name}: params.yaml has no {', '.join(missing)}")
    for key in TOP_LEVEL:
        if key not in spec.sections:
            raise ConfigError(f"stage {spec.name}: dvc.yaml must list '{key}' under params")
    out = {"stage": spec.name}
    out.update({s: params[s] for s in spec.sections})
    return out


# ---------------------------------------------------------------------------------------------
# The notebook's parameters cell
# ---------------------------------------------------------------------------------------------


def read_source(path: Path):
    """The notebook object of a jupytext script (``.py``) or a notebook (``.ipynb``)."""
    import jupytext

    if not path.exists():
        raise FileNotFoundError(f"notebook source {path} does not exist")
    return jupytext.read(path)


def parameters_of(nb) -> dict[str, Any]:
    """Names and default values assigned in the cell tagged ``parameters``."""
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ConfigError(f"the notebook must have exactly one cell tagged 'parameters' (found {len(cells)})")
    out: dict[str, Any] = {}
    for node in ast.parse(cells[0].source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            out[node.targets[0].id] = ast.literal_eval(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            out[node.target.id] = ast.literal_eval(node.value)
    return out


def check_parameters(defaults: dict[str, Any], given: dict[str, Any], where: str) -> dict[str, Any]:
    """Refuse unknown names and values whose type differs from the default's."""
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ConfigError(f"{where}: unknown parameter(s) {', '.join(unknown)}; the notebook's parameters are "
                          f"{', '.join(sorted(defaults))}")
    for name, value in given.items():
        d = defaults[name]
        if d is None or value is None:
            continue
        ok = (isinstance(value, bool) == isinstance(d, bool)) and (
            isinstance(value, type(d)) or (isinstance(d, float) and isinstance(value, int))
        )
        if not ok:
            raise ConfigError(f"{where}: parameter {name} expects {type(d).__name__} (default {d!r}), "
                              f"got {value!r} ({type(value).__name__})")
    return given


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------


def _failed_cell(executed: Path) -> str:
    """'cell N (first line of its source)' of the first cell with an error output."""
    import nbformat

    try:
        nb = nbformat.read(executed, as_version=4)
    except Exception:  # noqa: BLE001 - best effort for the message only
        return "an unknown cell"
    code = [c for c in nb.cells if c.cell_type == "code"]
    for k, cell in enumerate(code):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
            return f"code cell {k + 1} (`{first[:80]}`)"
    return "an unknown cell"


def _swap_into_place(src: Path, dst: Path) -> None:
    """Replace ``dst`` (file or folder) by ``src`` with renames inside ``dst``'s folder."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    new = dst.with_name(dst.name + ".new")
    old = dst.with_name(dst.name + ".old")
    for p in (new, old):
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    if src.is_dir():
        shutil.copytree(src, new)
    else:
        shutil.copy2(src, new)
    if dst.exists():
        dst.rename(old)
    new.rename(dst)
    if old.is_dir():
        shutil.rmtree(old)
    elif old.exists():
        old.unlink()


def _publish(spec: StageSpec, staged: Path, reports: Path) -> list[Path]:
    """Move the staged reports into ``reports``: every declared out must be there; nothing else may
    be, except timing records. Both are checked before anything moves, so a refusal (:class:`StageFailed`)
    leaves ``reports`` as it was and ``staged`` untouched for inspection."""
    missing = [o for o in spec.report_outs if not (staged / o).exists()]
    if missing:
        raise StageFailed(f"stage {spec.name}: the notebook did not write its declared output(s) "
                          + ", ".join(f"reports/{m}" for m in missing))
    declared = [staged / o for o in spec.report_outs]
    extra = [p for p in staged.rglob("*") if p.is_file() and not p.relative_to(staged).parts[0] == TIMINGS
             and not any(p == d or d in p.parents for d in declared)]
    if extra:
        raise StageFailed(f"stage {spec.name}: the notebook wrote undeclared report(s) "
                          + ", ".join(f"reports/{p.relative_to(staged)}" for p in extra[:10])
                          + "; declare them under the stage's outs in dvc.yaml")
    written = []
    for o in spec.report_outs:
        _swap_into_place(staged / o, reports / o)
        written.append(reports / o)
    timings = staged / TIMINGS
    if timings.exists():
        for f in timings.rglob("*"):
            if f.is_file():
                _swap_into_place(f, reports / f.relative_to(staged))
    return written


def _record_run(spec: StageSpec, staged: Path, params: Mapping[str, Any], started: float, commit: str,
                cpu: Mapping[str, Any]) -> None:
    """``reports/timings/stages/<stage>.json``: the commit the run started from (``+dirty`` when the tree had
    uncommitted changes; taken at the start, so a checkout moved during a long run is not what is recorded), the
    machine's CPU fingerprint (:func:`robopercept.reporting.cpu.fingerprint`: two records compare byte for byte only
    on matching fingerprints), profile, start time and wall time of this run — kept apart from DVC-tracked outputs."""
    import json

    fn = staged / TIMINGS / "stages" / f"{spec.name}.json"
    fn.parent.mkdir(parents=True, exist_ok=True)
    fn.write_text(json.dumps({"stage": spec.name, "notebook": spec.notebook, "commit": commit,
                              "profile": params.get("profile"), "seed": params.get("seed"),
                              "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
                              "wall_s": round(time.time() - started, 1), "cpu": dict(cpu)}, indent=1) + "\n")


def run(notebook: str | Path, *, params: Mapping[str, Any] | None = None, notebook_args: Mapping[str, Any] | None = None,
        reports_dir: str | Path = "reports", kernel: str = DEFAULT_KERNEL, log_output: bool = False,
        dvc_yaml: Path | None = None) -> Path:
    """Run the stage of ``notebook`` with ``params`` (default: params.yaml) and publish its reports
    into ``reports_dir``; return the executed notebook's path. ``notebook_args`` sets other
    variables of the parameters cell (``artifacts_dir``, ``data_dir``, ...)."""
    import nbformat
    import papermill as pm

    from .reporting.notebooks import normalize_notebook

    source = paths.resolve(notebook)
    spec = stage_of(source, dvc_yaml)
    nb = read_source(source)
    defaults = parameters_of(nb)
    if PARAMS_VARIABLE not in defaults:
        raise ConfigError(f"{spec.notebook}: the parameters cell must define `{PARAMS_VARIABLE} = {{}}`")
    args = dict(notebook_args or {})
    if PARAMS_VARIABLE in args:
        raise ConfigError(f"{spec.notebook}: `{PARAMS_VARIABLE}` comes from params.yaml, not from notebook_args")
    whole = dict(params) if params is not None else read_params()
    given = {PARAMS_VARIABLE: stage_params(spec, whole), **args}
    check_parameters(defaults, given, where=spec.notebook)
    data_dir = paths.resolve(args.get("data_dir", defaults.get("data_dir", "data")))
    if spec.reads_data and data_dir == paths.data_dir():
        from .data.materialize import DataMismatch, check_files, restore_pin

        try:
            check_files()  # raises DataMismatch naming the files that differ
        except DataMismatch as e:  # `dvc repro` has already re-pinned the changed data/ into data.dvc: undo that
            restored = restore_pin()
            raise DataMismatch(f"stage {spec.name}: {e}" + (f"\n{restored}" if restored else "")) from None
    reports = paths.resolve(reports_dir)
    reports.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"robopercept-{spec.name}-"))
    staged = scratch / "reports"
    given["reports_dir"] = str(staged)
    if "reports_dir" not in defaults:
        raise ConfigError(f"{spec.notebook}: the parameters cell must define `reports_dir`")
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": f"Python ({kernel})", "language": "python"}
    from .reporting.cpu import fingerprint
    from .reporting.provenance import git_commit

    commit, cpu = git_commit(), fingerprint()  # at the start: what the run is made from, and where
    started = time.time()
    src_nb = scratch / source.with_suffix(".ipynb").name
    nbformat.write(nb, src_nb)
    executed = scratch / ("executed-" + src_nb.name)
    try:
        pm.execute_notebook(str(src_nb), str(executed), parameters=given, kernel_name=kernel,
                            cwd=str(source.parent), log_output=log_output, progress_bar=False)
    except Exception as e:
        raise StageFailed(f"stage {spec.name} failed in {_failed_cell(executed)} of {spec.notebook}: "
                          f"{type(e).__name__}: {str(e).strip().splitlines()[-1] if str(e).strip() else ''}\n"
                          f"the executed notebook is kept at {executed}; reports/ was left as it was") from e
    public = str(reports_dir) if not Path(reports_dir).is_absolute() else str(reports)
    result = normalize_notebook(nbformat.read(executed, as_version=4), input_path=source,
                                replacements=[(str(staged), public)])
    result.metadata["papermill"]["parameters"] = {**given, "reports_dir": public}
    nb_rel = Path("notebooks") / Path(spec.notebook).relative_to("notebooks").with_suffix(".ipynb")
    (staged / nb_rel).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(result, staged / nb_rel)
    _record_run(spec, staged, whole, started, commit, cpu)
    try:
        _publish(spec, staged, reports)
    except StageFailed as e:  # refused before anything moved: keep what the notebook wrote, and say where
        raise StageFailed(f"{e}\nnothing was published and reports/ was left as it was; what the notebook wrote is "
                          f"kept in {staged} and the executed notebook at {executed}") from None
    shutil.rmtree(scratch, ignore_errors=True)
    return reports / nb_rel


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m robopercept.stage", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebook", type=Path, help="jupytext source, e.g. notebooks/00_environment.py")
    ap.add_argument("-k", "--kernel", default=DEFAULT_KERNEL, help="Jupyter kernel name")
    ap.add_argument("--profile", default=None,
                    help="run on this profile's values instead of params.yaml (no effect on dvc.lock)")
    ap.add_argument("--reports-dir", default="reports", help="where the reports are published (default: reports)")
    ap.add_argument("--artifacts-dir", default=None, help="override the notebook's artifacts_dir")
    ap.add_argument("--log-output", action="store_true", help="stream cell output while running")
    args = ap.parse_args(argv)
    from .config import load_profile
    from .data.materialize import DataMismatch
    from .notebook import watch_parent

    watch_parent()  # exit when dvc (our parent) dies; the kernel follows us, the pool workers follow it

    extra = {"artifacts_dir": args.artifacts_dir} if args.artifacts_dir else {}
    try:
        params = load_profile(args.profile) if args.profile else None
        out = run(args.notebook, params=params, notebook_args=extra, reports_dir=args.reports_dir,
                  kernel=args.kernel, log_output=args.log_output)
    except (ConfigError, FileNotFoundError, DataMismatch, StageFailed) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
