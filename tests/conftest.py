"""Shared fixtures: run a DVC stage's notebook on the smoke profile into a temporary folder."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from robopercept import paths
from robopercept.config import load_profile

ROOT = paths.root()


def _lookup(params: dict, dotted: str):
    cur = params
    for part in dotted.split("."):
        cur = cur[part]
    return cur


def stage_invocation(stage: str, profile: str = "smoke") -> tuple[Path, dict]:
    """The notebook and ``-p`` parameters of ``stage`` in dvc.yaml, with ``${...}`` taken from
    ``profile`` (so tests run exactly the stage's command, on other values)."""
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    cmd = dvc["stages"][stage]["cmd"]
    params = load_profile(profile)
    rendered = re.sub(r"\$\{([^}]+)\}", lambda m: str(_lookup(params, m.group(1))), cmd)
    argv = shlex.split(rendered)
    assert argv[:3] == ["python", "-m", "robopercept.stage"], cmd
    notebook = ROOT / argv[3]
    values: dict = {}
    i = 4
    while i < len(argv):
        if argv[i] == "-p":
            values[argv[i + 1]] = yaml.safe_load(argv[i + 2])
            i += 3
        else:
            i += 1 if argv[i] != "-k" else 2
    return notebook, values


def _stage_runner(default_root: Path):
    from robopercept.stage import run

    def _run(stage: str, *, out: Path | None = None, extra: dict | None = None):
        notebook, params = stage_invocation(stage)
        root = out or default_root
        params.update({"reports_dir": str(root / "reports")})
        if "artifacts_dir" in _notebook_params(notebook):
            params["artifacts_dir"] = str(root / "artifacts")
        params.update(extra or {})
        nb_out = root / "reports" / "notebooks" / notebook.relative_to(ROOT / "notebooks").with_suffix(".ipynb")
        run(notebook, params, nb_out)
        return nb_out, root

    return _run


@pytest.fixture
def run_stage(tmp_path):
    """``run_stage("environment", extra={...})`` -> (executed notebook path, output root)."""
    return _stage_runner(tmp_path)


def _pipeline(tmp_path_factory, name: str, stages: tuple[str, ...]) -> Path:
    """Run ``stages`` in DVC order on the smoke profile, into one temporary folder."""
    root = tmp_path_factory.mktemp(name)
    run = _stage_runner(root)
    for stage in stages:
        run(stage)
    return root


@pytest.fixture(scope="session")
def graspseg_pipeline(tmp_path_factory):
    """The graspseg stages on the smoke profile, into one temporary folder."""
    return _pipeline(tmp_path_factory, "graspseg",
                     ("graspseg_grasp_data", "graspseg_pretrain", "graspseg_train", "graspseg_table1"))


def _notebook_params(notebook: Path) -> dict:
    from robopercept.stage import parameters_of, read_source

    return parameters_of(read_source(notebook))


@pytest.fixture(scope="session")
def mlgsl_pipeline(tmp_path_factory):
    """The mlgsl stages on the smoke profile, into one temporary folder."""
    return _pipeline(tmp_path_factory, "mlgsl", ("mlgsl_data", "mlgsl_train", "mlgsl_results", "mlgsl_robot"))
