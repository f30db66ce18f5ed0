"""Provenance records the commit a run used, "+dirty" only when what ran differs from it (issue #10)."""

import subprocess

from robopercept import paths
from robopercept.reporting import provenance


def _git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_run_outputs_do_not_make_the_tree_dirty_but_code_does(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / "reports" / "tables").mkdir(parents=True)
    (repo / "src").mkdir()
    for f in ("reports/tables/t.md", "dvc.lock", "src/code.py", "params.yaml"):
        (repo / f).write_text("v1\n")
    _git(repo, "init", "-q")
    _git(repo, "-c", "user.email=a@b", "-c", "user.name=t", "add", ".")
    _git(repo, "-c", "user.email=a@b", "-c", "user.name=t", "commit", "-q", "-m", "x")
    monkeypatch.setattr(paths, "root", lambda: repo)
    head = provenance.git_commit()
    assert len(head) >= 7 and not head.endswith("+dirty")
    # what a pipeline run writes itself
    (repo / "reports" / "tables" / "t.md").write_text("v2\n")
    (repo / "dvc.lock").write_text("v2\n")
    (repo / "reports" / "new.md").write_text("untracked\n")
    assert provenance.git_commit() == head
    # what changes what runs
    (repo / "params.yaml").write_text("v2\n")
    assert provenance.git_commit() == head + "+dirty"
    (repo / "params.yaml").write_text("v1\n")
    (repo / "src" / "code.py").write_text("v2\n")
    assert provenance.git_commit() == head + "+dirty"
