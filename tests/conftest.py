"""Shared fixtures: run a DVC stage's notebook on the smoke profile into a temporary folder."""

from __future__ import annotations

from pathlib import Path

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
    import os

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
                     ("pretrained_backbone", "graspseg_grasp_data", "graspseg_train", "graspseg_table1"))


@pytest.fixture(scope="session")
def graspseg_instances_pipeline(graspseg_pipeline):
    """graspseg's instance segmentation stages (§III-B, Tables II-III) on top of the Table I pipeline."""
    run = _stage_runner(graspseg_pipeline)
    for stage in ("graspseg_crops", "graspseg_table2", "graspseg_table3"):
        run(stage)
    return graspseg_pipeline


def _notebook_params(notebook: Path) -> dict:
    from robopercept.stage import parameters_of, read_source

    return parameters_of(read_source(notebook))


@pytest.fixture(scope="session")
def mlgsl_pipeline(tmp_path_factory):
    """The mlgsl stages on the smoke profile, into one temporary folder."""
    return _pipeline(tmp_path_factory, "mlgsl", ("mlgsl_data", "mlgsl_train", "mlgsl_results", "mlgsl_robot"))


@pytest.fixture(scope="session")
def latentmrcnn_pipeline(tmp_path_factory):
    """The latentmrcnn stages on the smoke profile, into one temporary folder."""
    return _pipeline(tmp_path_factory, "latentmrcnn", ("pretrained_backbone", "latentmrcnn_data", "latentmrcnn_train",
                                                         "latentmrcnn_table1", "latentmrcnn_table2"))


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
