"""Run one notebook as one DVC stage: ``python -m robopercept.stage NOTEBOOK -k KERNEL -p NAME VALUE ...``.

The stage convention (README, "Stages"):

1. The source is the notebook's jupytext script ``notebooks/<paper>/<n>_<slug>.py`` (paired with a
   stripped ``.ipynb``), so merely running the notebook in Jupyter does not invalidate the stage.
2. Each ``-p`` must name a variable of the notebook's ``parameters`` cell and agree with its
   default's type; anything else fails here, before the kernel starts.
3. papermill executes the notebook with the named kernel, working directory = the notebook's folder.
4. The executed notebook is normalized (papermill timestamps, durations and absolute paths removed)
   and written atomically to ``reports/notebooks/<paper>/<n>_<slug>.ipynb``. A failed run writes
   nothing under ``reports/``; the failed notebook is kept in a temporary folder and named.
"""

from __future__ import annotations

import argparse
import ast
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from . import paths
from .config import ConfigError

DEFAULT_KERNEL = "robopercept"


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


def parse_value(text: str) -> Any:
    """A ``-p`` value as YAML (``3`` -> int, ``0.5`` -> float, ``true`` -> bool, else str)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


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


def default_output(source: Path) -> Path:
    rel = paths.resolve(source).relative_to(paths.root() / "notebooks")
    return paths.root() / "reports" / "notebooks" / rel.with_suffix(".ipynb")


def run(source: Path, parameters: dict[str, Any], output: Path | None = None,
        kernel: str = DEFAULT_KERNEL, log_output: bool = False) -> Path:
    """Execute ``source`` with ``parameters``; write the normalized notebook to ``output``."""
    import nbformat
    import papermill as pm

    from .reporting.notebooks import normalize_notebook

    source = paths.resolve(source)
    nb = read_source(source)
    check_parameters(parameters_of(nb), parameters, where=str(source.relative_to(paths.root())
                                                              if source.is_relative_to(paths.root()) else source))
    output = paths.resolve(output) if output else default_output(source)
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": f"Python ({kernel})", "language": "python"}
    scratch = Path(tempfile.mkdtemp(prefix="robopercept-stage-"))
    src_nb = scratch / source.with_suffix(".ipynb").name
    nbformat.write(nb, src_nb)
    executed = scratch / ("executed-" + src_nb.name)
    try:
        pm.execute_notebook(str(src_nb), str(executed), parameters=parameters, kernel_name=kernel,
                            cwd=str(source.parent), log_output=log_output, progress_bar=False)
    except Exception:
        print(f"notebook failed; the executed copy is at {executed}", file=sys.stderr)
        raise
    result = normalize_notebook(nbformat.read(executed, as_version=4), input_path=source)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    nbformat.write(result, tmp)
    tmp.replace(output)
    return output


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m robopercept.stage", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebook", type=Path, help="jupytext source, e.g. notebooks/00_environment.py")
    ap.add_argument("-k", "--kernel", default=DEFAULT_KERNEL, help="Jupyter kernel name")
    ap.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    ap.add_argument("-o", "--output", type=Path, default=None,
                    help="executed notebook (default: reports/notebooks/<same path>.ipynb)")
    ap.add_argument("--log-output", action="store_true", help="stream cell output while running")
    args = ap.parse_args(argv)
    params = {name: parse_value(value) for name, value in args.parameter}
    try:
        out = run(args.notebook, params, args.output, args.kernel, args.log_output)
    except (ConfigError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
