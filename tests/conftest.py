"""Shared fixtures: run a DVC stage's notebook on the smoke profile into a temporary folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

import pytest
import yaml

from robopercept import paths
from robopercept.config import load_profile
from volatile_check import assert_no_volatile_outputs

ROOT = paths.root()


def pytest_configure(config):
    """Under xdist (``make test`` runs ``-n 2`` on 2 cores) each worker's in-process torch keeps one thread, as the
    stages' workers do: at torch's default of one thread per core, two workers oversubscribe the cores (a fastseg
    test took 53 s instead of 4.9 beside another job). Notebook kernels and subprocesses keep their own settings."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)


def stage_notebook(stage: str) -> Path:
    """The notebook a dvc.yaml stage runs."""
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    argv = dvc["stages"][stage]["cmd"].split()
    assert argv[:3] == ["python", "-m", "robopercept.stage"], argv
    return ROOT / argv[3]


def _stage_runner(default_root: Path):
    from robopercept.stage import run

    def _run(stage: str, *, out: Path | None = None, extra: dict | None = None, params: dict | None = None):
        """Run ``stage`` exactly as DVC would, on the smoke profile, into ``out`` (reports/, artifacts/)."""
        notebook = stage_notebook(stage)
        root = out or default_root
        args = {}
        if "artifacts_dir" in _notebook_params(notebook):
            args["artifacts_dir"] = str(root / "artifacts")
        args.update(extra or {})
        nb_out = run(notebook, params=params or load_profile("smoke"), notebook_args=args,
                     reports_dir=root / "reports")
        assert_no_volatile_outputs(nb_out)  # executed notebooks are DVC outputs: no wall-clock in them
        return nb_out, root

    return _run


@pytest.fixture
def run_stage(tmp_path):
    """``run_stage("environment", extra={...})`` -> (executed notebook path, output root)."""
    return _stage_runner(tmp_path)


def shared_folder(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """A folder ``build`` fills once per test session, whichever worker asks first.

    ``make test`` runs two xdist workers with ``--dist loadfile``: a session fixture is built once *per worker*, so
    a pipeline read by test files on both workers (graspseg's: three files) was built twice, and the shared
    ``pretrained_backbone`` once per paper. Here the first worker builds under a file lock in the session's common
    temporary folder and the others wait and reuse it. A failed build is recorded beside the folder, so a waiting
    worker fails at once with that message instead of building again. Tests must treat the folder as read-only
    (copy what they change into their own ``tmp_path``)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        root = tmp_path_factory.mktemp(name)
        build(root)
        return root
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp().parent  # one per session, common to its workers
    root, built, failed = base / f"shared-{name}", base / f"shared-{name}.built", base / f"shared-{name}.failed"
    with FileLock(str(base / f"shared-{name}.lock")):
        if failed.exists():
            pytest.fail(f"shared test folder {name!r}: its build failed on another worker: {failed.read_text()}")
        if not built.exists():
            if root.exists():
                shutil.rmtree(root)
            root.mkdir()
            try:
                build(root)
            except BaseException as e:  # noqa: BLE001 - recorded for the other workers, then re-raised
                failed.write_text(f"{type(e).__name__}: {e}")
                raise
            built.touch()
    return root


def _pipeline(tmp_path_factory, name: str, stages: tuple[str, ...], base: Path | None = None) -> Path:
    """Run ``stages`` in DVC order on the smoke profile, into one shared temporary folder (:func:`shared_folder`),
    starting from a copy of ``base`` (an earlier stage's outputs) when given."""

    def build(root: Path) -> None:
        if base is not None:
            shutil.copytree(base, root, dirs_exist_ok=True, symlinks=True)
        run = _stage_runner(root)
        for stage in stages:
            run(stage)

    return shared_folder(tmp_path_factory, name, build)


@pytest.fixture(scope="session")
def backbone_pipeline(tmp_path_factory):
    """``pretrained_backbone`` on the smoke profile, once per session: graspseg's and latentmrcnn's pipelines start
    from a copy of it."""
    return _pipeline(tmp_path_factory, "pretrained_backbone", ("pretrained_backbone",))


@pytest.fixture(scope="session")
def graspseg_pipeline(tmp_path_factory, backbone_pipeline):
    """The graspseg stages on the smoke profile, into one temporary folder."""
    return _pipeline(tmp_path_factory, "graspseg", ("graspseg_grasp_data", "graspseg_train", "graspseg_table1"),
                     base=backbone_pipeline)


@pytest.fixture(scope="session")
def graspseg_instances_pipeline(tmp_path_factory, graspseg_pipeline):
    """graspseg's instance segmentation stages (§III-B, Tables II-III) on top of the Table I pipeline (in the same
    folder: they write only their own outputs, which no Table I test reads)."""

    def build(_: Path) -> None:
        run = _stage_runner(graspseg_pipeline)
        for stage in ("graspseg_crops", "graspseg_table2", "graspseg_table3"):
            run(stage)

    shared_folder(tmp_path_factory, "graspseg_instances", build)
    return graspseg_pipeline


def _notebook_params(notebook: Path) -> dict:
    from robopercept.stage import parameters_of, read_source

    return parameters_of(read_source(notebook))


@pytest.fixture(scope="session")
def mlgsl_pipeline(tmp_path_factory):
    """The mlgsl stages on the smoke profile, into one temporary folder."""
    return _pipeline(tmp_path_factory, "mlgsl", ("mlgsl_data", "mlgsl_train", "mlgsl_results", "mlgsl_robot"))


@pytest.fixture(scope="session")
def latentmrcnn_pipeline(tmp_path_factory, backbone_pipeline):
    """The latentmrcnn stages on the smoke profile, into one temporary folder."""
    return _pipeline(tmp_path_factory, "latentmrcnn", ("latentmrcnn_data", "latentmrcnn_train", "latentmrcnn_table1",
                                                         "latentmrcnn_table2"), base=backbone_pipeline)


@pytest.fixture(scope="session")
def fastseg_pipeline(tmp_path_factory):
    """The fastseg stages on the smoke profile, into one temporary folder."""
    return _pipeline(tmp_path_factory, "fastseg", ("fastseg_data", "fastseg_superpixels", "fastseg_train",
                                                     "fastseg_eval"))


@pytest.fixture(scope="session")
def don_pipeline(tmp_path_factory):
    """The don stages built so far on the smoke profile, into one temporary folder."""
    return _pipeline(tmp_path_factory, "don", ("don_data", "don_train", "don_eval", "don_grasp", "don_temperature"))


def read_metrics(path: Path, *, paper: str, stage: str) -> dict:
    """A stage's metrics file, checked against the one shape every paper writes
    (robopercept.reporting.tables.metrics_document)."""
    import json

    doc = json.loads(Path(path).read_text())
    assert {"paper", "stage", "profile"} <= set(doc) <= {"paper", "stage", "profile", "values", "tables", "claims"}, doc
    assert (doc["paper"], doc["stage"], doc["profile"]) == (paper, stage, "smoke")
    for table in doc.get("tables", {}).values():
        assert table and all(isinstance(row, dict) for row in table.values())
    if "claims" in doc:
        verdicts, count = doc["claims"]["verdicts"], doc["claims"]["count"]
        assert set(verdicts.values()) <= {"held", "missed", "inconclusive", "not evaluated"}
        assert count["total"] == len(verdicts) == sum(v for k, v in count.items() if k != "total")
    return doc
