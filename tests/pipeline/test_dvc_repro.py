"""`dvc repro` itself, on a copy of this repository switched to the smoke profile (issues #9, #10):

* `dvc repro -f` twice gives the same dvc.lock (datasets, checkpoint and reports hashes): nothing
  volatile inside DVC-tracked outputs;
* a plain `dvc repro` after it runs nothing;
* editing one paper's code shows only that paper's stages in `dvc status`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from robopercept import paths

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

ROOT = paths.root()
STAGES = ("environment", "pretrained_backbone", "graspseg_grasp_data")


def _sh(cmd: list[str], cwd: Path, env: dict) -> str:
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert r.returncode == 0, f"{' '.join(cmd)} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout + r.stderr


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """The working tree (tracked and new files, as git would commit them) plus data/, as a fresh repo."""
    dst = tmp_path_factory.mktemp("repo") / "robopercept"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for f in filter(None, files):
        src = ROOT / f
        if src.is_file():
            (dst / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / f)
    shutil.copytree(paths.data_dir(), dst / "data")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    # the copy's own code and root: never the checkout the tests run from (its reports/, params.yaml)
    env.update(ROBOPERCEPT_ROOT=str(dst), PYTHONPATH=str(dst / "src"))
    (dst / "dvc.lock").unlink(missing_ok=True)
    _sh([sys.executable, "-m", "robopercept", "profile", "smoke"], dst, env)
    _sh(["git", "init", "-q"], dst, env)
    _sh(["git", "add", "-A"], dst, env)
    _sh(["git", "commit", "-qm", "copy"], dst, env)
    return dst, env


def _dvc(repo, *args) -> str:
    path, env = repo
    return _sh([str(Path(sys.executable).parent / "dvc"), *args], path, env)


def _lock(repo) -> dict:
    stages = yaml.safe_load((repo[0] / "dvc.lock").read_text())["stages"]
    return {name: stages[name] for name in STAGES}


def test_forced_rerun_gives_the_same_lock_and_a_plain_rerun_runs_nothing(repo):
    _dvc(repo, "repro", *STAGES)
    first = _lock(repo)
    _dvc(repo, "repro", "-f", *STAGES)
    second = _lock(repo)
    changed = {name: [o["path"] for o in second[name]["outs"] if o not in first[name]["outs"]] for name in STAGES}
    assert all(not v for v in changed.values()), f"outputs whose hash changed on a forced rerun: {changed}"
    out = _dvc(repo, "repro", *STAGES)
    assert "Running stage" not in out, out


def _stale_stages(repo) -> set[str]:
    out = _dvc(repo, "status", *STAGES, "mlgsl_data")
    return {line.rstrip(":").strip() for line in out.splitlines() if line and not line.startswith(("\t", " "))
            and line.rstrip().endswith(":")}


def test_editing_one_paper_reruns_only_that_paper(repo):
    _dvc(repo, "repro", *STAGES)
    assert _stale_stages(repo) == {"mlgsl_data"}  # never run here
    mlgsl = repo[0] / "src/robopercept/mlgsl/jacquard_sim.py"
    graspseg = repo[0] / "src/robopercept/graspseg/grasp_collection.py"
    original = {p: p.read_text() for p in (mlgsl, graspseg)}
    try:
        mlgsl.write_text(original[mlgsl] + "\n# edited\n")
        assert _stale_stages(repo) == {"mlgsl_data"}  # no graspseg or shared stage
        graspseg.write_text(original[graspseg] + "\n# edited\n")
        assert _stale_stages(repo) == {"mlgsl_data", "graspseg_grasp_data"}
    finally:
        for p, text in original.items():
            p.write_text(text)


def _run_dvc(repo, *args) -> subprocess.CompletedProcess:
    path, env = repo
    return subprocess.run([str(Path(sys.executable).parent / "dvc"), *args], cwd=path, env=env, capture_output=True,
                          text=True)


def _report_files(repo, stage: str) -> dict[str, bytes]:
    spec = yaml.safe_load((repo[0] / "dvc.yaml").read_text())["stages"][stage]
    outs = [o if isinstance(o, str) else next(iter(o)) for kind in ("outs", "metrics") for o in spec.get(kind, [])]
    files = {}
    for out in outs:
        p = repo[0] / out
        for f in ([p] if p.is_file() else sorted(x for x in p.rglob("*") if x.is_file())):
            files[str(f.relative_to(repo[0]))] = f.read_bytes()
    return files


def test_a_stage_failing_under_dvc_keeps_its_reports(repo):
    """Issue #10, item 5, through `dvc repro` itself (the unit test covers the stage runner alone): a refused
    parameter fails the stage before any computation, names the problem, and every report stays as it was."""
    _dvc(repo, "repro", "environment")
    before = _report_files(repo, "environment")
    assert before and any(k.endswith(".ipynb") for k in before)
    params = repo[0] / "params.yaml"
    original = params.read_text()
    try:
        params.write_text(original.replace("  gallery_objects: ", "  gallery_objects: -", 1))
        r = _run_dvc(repo, "repro", "environment")
        assert r.returncode != 0
        assert "gallery_objects" in r.stdout + r.stderr, (r.stdout[-2000:], r.stderr[-2000:])
        assert _report_files(repo, "environment") == before
    finally:
        params.write_text(original)


def test_a_corrupted_data_file_is_refused_by_dvc_repro_naming_it(repo):
    """Issue #10, item 4: one flipped byte in data/ and `dvc repro` of a stage that reads it fails, naming the file,
    before any computation; the reports stay as they were. `dvc repro` re-pins the changed data/ into data.dvc (and
    autostage stages it) before any stage runs; the refusing stage puts the commit's data.dvc back, work tree and
    index, and says so."""
    path, env = repo
    _dvc(repo, "repro", "environment")
    before = _report_files(repo, "environment")
    pin = (path / "data.dvc").read_bytes()
    assert pin == subprocess.run(["git", "show", "HEAD:data.dvc"], cwd=path, capture_output=True, check=True).stdout
    mesh = sorted((path / "data").rglob("*.obj"))[0]
    original = mesh.read_bytes()
    try:
        mesh.write_bytes(bytes([original[0] ^ 1]) + original[1:])
        r = _run_dvc(repo, "repro", "environment")
        assert r.returncode != 0
        out = r.stdout + r.stderr
        assert mesh.name in out, (r.stdout[-2000:], r.stderr[-2000:])
        assert _report_files(repo, "environment") == before
        assert (path / "data.dvc").read_bytes() == pin  # the corrupted data/ is not left pinned
        assert _sh(["git", "status", "--porcelain", "--", "data.dvc"], path, env) == ""  # nor staged
        assert "data.dvc" in out and "restored to the commit's" in out, out[-2000:]
    finally:
        mesh.write_bytes(original)
