"""Two runs of the pipeline compared stage by stage (issue #10's two-clone check): inputs, outputs, report files."""

import json
import shutil

import pytest
import yaml

from robopercept.reporting.compare import compare, main

DVC = {"stages": {
    "make": {"cmd": "python -m robopercept.stage notebooks/make.py", "deps": ["src/a.py"],
             "outs": ["artifacts/data", {"reports/tables/t.csv": {"cache": False}}]},
    "use": {"cmd": "python -m robopercept.stage notebooks/use.py", "deps": ["artifacts/data", "src/b.py"],
            "outs": [{"reports/figures/f.png": {"cache": False}}]}}}


def _lock(data="d1.dir", table="t1", fig="f1", code_a="ca", lr=0.1):
    return {"schema": "2.0", "stages": {
        "make": {"cmd": DVC["stages"]["make"]["cmd"], "deps": [{"path": "src/a.py", "md5": code_a}],
                 "params": {"params.yaml": {"make.lr": lr}},
                 "outs": [{"path": "artifacts/data", "md5": data}, {"path": "reports/tables/t.csv", "md5": table}]},
        "use": {"cmd": DVC["stages"]["use"]["cmd"], "deps": [{"path": "artifacts/data", "md5": data},
                                                              {"path": "src/b.py", "md5": "cb"}],
                "outs": [{"path": "reports/figures/f.png", "md5": fig}]}}}


def _checkout(root, lock, files, cpu="zen3"):
    root.mkdir()
    (root / "dvc.yaml").write_text(yaml.safe_dump(DVC))
    (root / "dvc.lock").write_text(yaml.safe_dump(lock))
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    for stage in DVC["stages"]:
        rec = root / "reports" / "timings" / "stages" / f"{stage}.json"
        rec.parent.mkdir(parents=True, exist_ok=True)
        rec.write_text(json.dumps({"wall_s": 12.3, "cpu": {"vendor": "AMD", "model": cpu}}))
    return root


FILES = {"reports/tables/t.csv": "a,b\n1,2\n", "reports/figures/f.png": "png"}


def test_two_identical_runs_are_the_same_whatever_their_timings(tmp_path):
    a = _checkout(tmp_path / "a", _lock(), FILES)
    b = _checkout(tmp_path / "b", _lock(), FILES)
    (b / "reports" / "timings" / "stages" / "make.json").write_text(json.dumps({"wall_s": 99.0}))
    (b / "reports" / "timings" / "extra.json").write_text("{}")  # timing records are kept apart: never compared
    c = compare(a, b)
    assert c.same and [s.stage for s in c.stages] == ["make", "use"]
    assert main([str(a), str(b)]) == 0


def test_other_outputs_from_the_same_inputs_are_named_with_the_cpus(tmp_path, capsys):
    a = _checkout(tmp_path / "a", _lock(), FILES)
    b = _checkout(tmp_path / "b", _lock(data="d2.dir", fig="f2"), {**FILES, "reports/figures/f.png": "other"},
                  cpu="zen4")
    c = compare(a, b)
    make, use = c.stages
    assert make.outputs == ["artifacts/data"] and make.inputs == [] and make.same_cpu is False
    # downstream, another dataset is another input: not comparable, and said so rather than counted as a mismatch
    assert use.inputs == ["artifacts/data"] and use.outputs == ["reports/figures/f.png"]
    assert c.files_differ == ["reports/figures/f.png"] and not c.same
    assert main([str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "make: the same inputs gave other outputs: artifacts/data [different CPUs" in out
    assert "use: not comparable, its inputs differ: artifacts/data" in out and "NOT the same bytes" in out


def test_code_parameters_and_missing_entries_make_a_stage_not_comparable(tmp_path):
    a = _checkout(tmp_path / "a", _lock(), FILES)
    b_lock = _lock(code_a="ca2", lr=0.2)
    del b_lock["stages"]["use"]
    b = _checkout(tmp_path / "b", b_lock, FILES)
    make, use = compare(a, b).stages
    assert make.inputs == ["params.yaml:make.lr", "src/a.py"] and not make.same
    assert use.missing == "b" and not use.same


def test_report_files_only_on_one_side_are_listed(tmp_path):
    a = _checkout(tmp_path / "a", _lock(), {**FILES, "reports/tables/stray.md": "x"})
    b = _checkout(tmp_path / "b", _lock(), FILES)
    c = compare(a, b)
    assert c.only_a == ["reports/tables/stray.md"] and c.only_b == [] and not c.same
    shutil.rmtree(b / "reports" / "tables")
    assert compare(a, b).only_a == ["reports/tables/stray.md", "reports/tables/t.csv"]


def test_an_unreadable_checkout_is_named(tmp_path, capsys):
    a = _checkout(tmp_path / "a", _lock(), FILES)
    assert main([str(a), str(tmp_path / "nowhere")]) == 2
    assert "nowhere is not a folder" in capsys.readouterr().out
    b = _checkout(tmp_path / "b", _lock(), FILES)
    (b / "dvc.lock").unlink()
    with pytest.raises(FileNotFoundError, match="dvc.lock"):
        compare(a, b)
