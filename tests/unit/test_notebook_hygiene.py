"""Source notebooks: stored without outputs, paired with their script, one parameters cell, no
definitions, and every stage's -p names a notebook parameter."""

import ast
import re
import shlex

import jupytext
import nbformat
import pytest
import yaml

from robopercept import paths
from robopercept.stage import parameters_of

ROOT = paths.root()
SOURCES = sorted(p for p in (ROOT / "notebooks").rglob("*.py"))
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def test_every_script_has_its_notebook():
    assert SOURCES, "no notebooks found"
    assert {p.with_suffix("") for p in SOURCES} == {p.with_suffix("") for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_source_notebook_has_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: cells {dirty} hold outputs; run `make notebooks` to strip them"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_and_script_agree(path):
    a = jupytext.read(path)
    b = jupytext.read(path.with_suffix(".py"))
    strip = lambda nb: [(c.cell_type, c.source.strip()) for c in nb.cells]  # noqa: E731
    assert strip(a) == strip(b), f"{path.name} and its .py differ; run `make notebooks`"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_no_definitions_in_notebooks(path):
    nb = jupytext.read(path)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))]
        assert not defs, f"{path.name} defines {[d.name for d in defs]}; move it into src/robopercept"
    parameters_of(nb)  # exactly one parameters cell


def test_every_stage_runs_a_notebook_that_reads_its_params():
    """Each stage's notebook takes `params` (filled by robopercept.stage) and calls setup() with the
    stage's own name; the notebook is a dependency of its stage (the .py, so Jupyter runs don't count)."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        argv = stage["cmd"].split()
        nb = ROOT / argv[3]
        assert nb.suffix == ".py" and str(nb.relative_to(ROOT)) in stage["deps"], name
        assert "params" in parameters_of(jupytext.read(nb)), name
        assert f'setup("{name}", params' in nb.read_text(), f"{nb} must call setup({name!r}, params, ...)"
        for out in stage.get("outs", []):
            (path, opts), = out.items() if isinstance(out, dict) else ((out, {}),)
            if path.startswith("reports/"):
                assert opts.get("cache") is False, f"{name}: {path} must be cache: false"
            else:
                assert path.startswith("artifacts/"), f"{name}: outputs go to reports/ or artifacts/, not {path}"
