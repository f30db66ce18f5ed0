"""The stage runner: params read from params.yaml (no shell), checks before the kernel, atomic reports."""

import json
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml

from robopercept.config import ConfigError, load_profile
from robopercept.stage import StageFailed, check_parameters, parameters_of, run, stage_of

NB = '''# %% tags=["parameters"]
params = {}
data_dir = "data"
reports_dir = "reports"

# %%
import json, os
if params["environment"]["gallery_objects"] == 7:
    raise RuntimeError("boom")
os.makedirs(os.path.join(reports_dir, "tables", "tiny"), exist_ok=True)
if params["environment"]["gallery_objects"] == 8:  # a report dvc.yaml does not declare
    open(os.path.join(reports_dir, "tables", "tiny", "stray.csv"), "w").write("x\\n")
if params["environment"]["gallery_objects"] != 9:  # 9: the declared report is not written
    json.dump({"checkpoint": params["graspseg_model"]["pretrained_checkpoint"], "seed": params["seed"]},
              open(os.path.join(reports_dir, "tables", "tiny", "v.json"), "w"))
print("ran", params["stage"])
'''

DVC = {"stages": {"tiny": {
    "cmd": "python -m robopercept.stage notebooks/tiny.py",
    "params": ["profile", "seed", "environment", "graspseg_model"],
    "deps": ["notebooks/tiny.py"],
    "outs": [{"reports/notebooks/tiny.ipynb": {"cache": False, "persist": True}},
             {"reports/tables/tiny/v.json": {"cache": False, "persist": True}}]}}}


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A throw-away project root with one stage running a tiny notebook."""
    params = load_profile("smoke")  # read from the real profiles before the root moves
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "tiny.py").write_text(NB)
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(DVC))
    (tmp_path / "pyproject.toml").write_text("")
    monkeypatch.setenv("ROBOPERCEPT_ROOT", str(tmp_path))
    return tmp_path, params


def test_parameters_are_read_from_the_tagged_cell(project):
    import jupytext

    root, _ = project
    assert parameters_of(jupytext.read(root / "notebooks" / "tiny.py")) == {
        "params": {}, "data_dir": "data", "reports_dir": "reports"}


def test_unknown_and_mistyped_parameters_fail_before_running():
    defaults = {"n": 2, "rate": 0.5, "flag": True}
    with pytest.raises(ConfigError, match="unknown parameter.*nn"):
        check_parameters(defaults, {"nn": 3}, "tiny")
    with pytest.raises(ConfigError, match="parameter n expects int"):
        check_parameters(defaults, {"n": "three"}, "tiny")
    with pytest.raises(ConfigError, match="parameter flag expects bool"):
        check_parameters(defaults, {"flag": 1}, "tiny")
    check_parameters(defaults, {"rate": 1}, "tiny")  # an int is a valid float


def test_stage_is_found_by_its_notebook(project):
    root, _ = project
    spec = stage_of(root / "notebooks" / "tiny.py")
    assert spec.name == "tiny" and spec.sections == ("profile", "seed", "environment", "graspseg_model")
    assert spec.report_outs == ("notebooks/tiny.ipynb", "tables/tiny/v.json")


def test_a_hostile_string_reaches_the_notebook_literally(project):
    """No value passes through a shell: `$(...)`, spaces and quotes arrive as the literal string."""
    root, params = project
    hostile = "$(touch pwned) it's \"quoted\" `id`"
    params["graspseg_model"]["pretrained_checkpoint"] = hostile
    out = run(root / "notebooks" / "tiny.py", params=params, reports_dir=root / "reports")
    assert json.loads((root / "reports" / "tables" / "tiny" / "v.json").read_text())["checkpoint"] == hostile
    assert not list(root.rglob("pwned")) and not Path("pwned").exists()
    nb = nbformat.read(out, as_version=4)
    assert "ran tiny" in json.dumps(nb.cells[-1].outputs)
    assert "robopercept-tiny-" not in out.read_text()  # the scratch folder never shows in the published notebook


def test_reruns_give_the_same_bytes(project, monkeypatch, tmp_path_factory):
    root, params = project
    scratch = tmp_path_factory.mktemp("system_tmp")  # the system temp folder, watched: a run leaves nothing there
    monkeypatch.setattr(__import__("tempfile"), "tempdir", str(scratch))
    out = run(root / "notebooks" / "tiny.py", params=params, reports_dir=root / "reports")
    assert list(scratch.iterdir()) == []  # the scratch folder (robopercept-tiny-*) is removed on success
    first = out.read_bytes()
    nb = nbformat.read(out, as_version=4)
    assert [c["id"] for c in nb.cells] == [f"cell-{k:03d}" for k in range(len(nb.cells))]
    assert not {"start_time", "end_time", "duration"} & set(nb.metadata["papermill"])
    run(root / "notebooks" / "tiny.py", params=params, reports_dir=root / "reports")
    assert out.read_bytes() == first
    assert json.loads((root / "reports" / "timings" / "stages" / "tiny.json").read_text())["stage"] == "tiny"


def test_the_timing_record_names_the_commit_the_run_started_from_and_the_cpu(project, monkeypatch):
    """A checkout moved during a long run is not what the record names (session 19's records named the commit the
    run ended at), and the record carries the CPU fingerprint that says which records should compare byte for byte."""
    from robopercept.reporting import cpu, provenance

    import nbformat

    root, params = project
    # the checkout "moves" once the notebook has run: the executed notebook is read back only after the run
    state = {"ran": False}
    read = nbformat.read

    def read_after_run(*a, **k):
        state["ran"] = True
        return read(*a, **k)

    monkeypatch.setattr(nbformat, "read", read_after_run)
    monkeypatch.setattr(provenance, "git_commit", lambda *a, **k: "moved99" if state["ran"] else "c0ffee1")
    run(root / "notebooks" / "tiny.py", params=params, reports_dir=root / "reports")
    assert state["ran"]
    rec = json.loads((root / "reports" / "timings" / "stages" / "tiny.json").read_text())
    assert rec["commit"] == "c0ffee1"
    assert rec["cpu"] == json.loads(json.dumps(cpu.fingerprint()))
    assert {"vendor", "flags", "caches", "torch_cpu_capability"} <= set(rec["cpu"])


def test_failed_run_leaves_previous_reports(project):
    root, params = project
    out = run(root / "notebooks" / "tiny.py", params=params, reports_dir=root / "reports")
    before = {p: p.read_bytes() for p in (root / "reports").rglob("*") if p.is_file() and "timings" not in p.parts}
    bad = json.loads(json.dumps(params))
    bad["environment"]["gallery_objects"] = 7
    with pytest.raises(StageFailed) as err:
        run(root / "notebooks" / "tiny.py", params=bad, reports_dir=root / "reports")
    msg = str(err.value)
    assert "stage tiny failed in code cell" in msg and "boom" in msg and "notebooks/tiny.py" in msg
    kept = Path(msg.split("kept at ")[1].split(";")[0])
    assert kept.exists()  # the failed notebook is kept and named
    shutil.rmtree(kept.parent)  # a test leaves nothing in the system temp folder
    after = {p: p.read_bytes() for p in (root / "reports").rglob("*") if p.is_file() and "timings" not in p.parts}
    assert after == before and out.exists()


@pytest.mark.parametrize("gallery, refusal", [
    (8, r"wrote undeclared report\(s\) reports/tables/tiny/stray.csv; declare them"),
    (9, r"did not write its declared output\(s\) reports/tables/tiny/v.json"),
])
def test_refused_publication_names_the_kept_scratch_and_publishes_nothing(project, gallery, refusal):
    """A notebook that finished but wrote an undeclared report (or missed a declared one) is refused before anything
    moves (its timing record included), and the error names the scratch folder holding what it wrote and the executed
    notebook, both kept (issue #10: the refusal used to name neither, and its evidence was hard to find)."""
    root, params = project
    run(root / "notebooks" / "tiny.py", params=params, reports_dir=root / "reports")
    before = {p: p.read_bytes() for p in (root / "reports").rglob("*") if p.is_file()}
    bad = json.loads(json.dumps(params))
    bad["environment"]["gallery_objects"] = gallery
    with pytest.raises(StageFailed, match=refusal) as err:
        run(root / "notebooks" / "tiny.py", params=bad, reports_dir=root / "reports")
    msg = str(err.value)
    assert "nothing was published" in msg
    staged = Path(msg.split("kept in ")[1].split(" and the executed notebook at ")[0])
    executed = Path(msg.split(" and the executed notebook at ")[1].strip())
    try:
        assert staged.name == "reports" and staged.parent.name.startswith("robopercept-tiny-")
        assert executed.parent == staged.parent and "ran tiny" in executed.read_text()
        assert (staged / "timings" / "stages" / "tiny.json").is_file()  # the run's record, not published
        assert (staged / "tables" / "tiny" / "stray.csv").exists() == (gallery == 8)
        assert (staged / "tables" / "tiny" / "v.json").exists() == (gallery != 9)
    finally:
        shutil.rmtree(staged.parent)  # a test leaves nothing in the system temp folder
    assert {p: p.read_bytes() for p in (root / "reports").rglob("*") if p.is_file()} == before


def test_bad_params_refused_before_the_kernel(project):
    root, params = project
    params["environment"]["gallery_objects"] = -1
    with pytest.raises(ConfigError, match="environment.gallery_objects"):
        run(root / "notebooks" / "tiny.py", params=params, reports_dir=root / "reports")
    params = load_profile("smoke") if False else json.loads(json.dumps(project[1]))
    params["environment"]["n_labelled_val"] = 7
    with pytest.raises(ConfigError, match="unknown parameter.*n_labelled_val"):
        run(root / "notebooks" / "tiny.py", params=params, reports_dir=root / "reports")
    assert not (root / "reports" / "notebooks").exists()


def test_dvc_yaml_interpolates_nothing():
    from robopercept import paths

    text = (paths.root() / "dvc.yaml").read_text()
    assert "-p " not in text and "${" not in text
    for name, st in yaml.safe_load(text)["stages"].items():
        assert st["cmd"].split()[:3] == ["python", "-m", "robopercept.stage"], name
        assert {"profile", "seed"} <= set(st["params"]), name


def test_normalized_notebooks_do_not_depend_on_worker_count_or_stream_chunking():
    """Worker banners (one per process: a resumed run starts fewer) are dropped and consecutive
    chunks of one stream merged, so timing and worker count leave no trace in the executed notebook."""
    import nbformat

    from robopercept.reporting.notebooks import normalize_notebook

    def nb(chunks):
        cell = nbformat.v4.new_code_cell("x = 1")
        cell.outputs = [nbformat.v4.new_output("stream", name=n, text=t) for n, t in chunks]
        return normalize_notebook(nbformat.v4.new_notebook(cells=[cell]))

    a = nb([("stderr", "pybullet build time: X\nprogress 1\n"), ("stderr", "pybullet build time: X\n"),
            ("stdout", "done\n")])
    b = nb([("stderr", "progress 1\n"), ("stdout", "done\n")])
    c = nb([("stderr", "pro"), ("stderr", "gress 1\n"), ("stdout", "done\n")])
    assert nbformat.writes(a) == nbformat.writes(b) == nbformat.writes(c)
    assert [o["name"] for o in a.cells[0].outputs] == ["stderr", "stdout"]


def test_every_committed_output_survives_a_failed_run():
    """DVC deletes a non-persistent output before it runs a stage: every output under reports/, and every other
    output committed to git (``cache: false``, or tracked by git: the pretrained backbone), must be ``persist: true``
    so that a failure leaves the committed files as they were (issue #10, item 5; the stage runner publishes reports
    only on success). A failed pretrained_backbone run once lost the committed backbone.pt, and provenance read the
    deletion as ``+dirty``."""
    import subprocess

    from robopercept import paths

    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=paths.root(), capture_output=True).stdout.decode()
    tracked = set(filter(None, tracked.split("\0")))
    stages = yaml.safe_load((paths.root() / "dvc.yaml").read_text())["stages"]
    seen, loose = [], []
    for name, spec in stages.items():
        for kind in ("outs", "metrics", "plots"):
            for out in spec.get(kind, []):
                path, opts = (out, {}) if isinstance(out, str) else next(iter(out.items()))
                path, opts = str(path), opts or {}
                committed = opts.get("cache") is False or any(t == path or t.startswith(path + "/") for t in tracked)
                if path.startswith("reports/") or committed:
                    seen.append(path)
                    if not opts.get("persist"):
                        loose.append(f"{name}: {path}")
    assert len(seen) > 100 and "artifacts/models/pretrain/backbone.pt" in seen, "the check covers too little"
    assert not loose, loose
