"""reporting.freshness: which committed results were made by this checkout's code, parameters, data and upstream
entries — read from dvc.lock and the tracked files alone, without artifacts."""

import hashlib
import json

import pytest
import yaml

from robopercept.reporting import freshness as F


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


@pytest.fixture()
def repo(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src/a.py").write_text("A = 1\n")
    (tmp_path / "src/b.py").write_text("B = 1\n")
    (tmp_path / "params.yaml").write_text("make:\n  n: 3\n  beta: 0.00001\nuse:\n  k: 2\n")
    (tmp_path / "data.dvc").write_text(yaml.safe_dump({"outs": [{"md5": "d" * 32 + ".dir", "path": "data"}]}))
    spec = {"stages": {
        "make": {"cmd": "x", "deps": ["src/a.py", "data"], "params": ["make"], "outs": ["artifacts/set"]},
        "use": {"cmd": "y", "deps": ["src/b.py", "artifacts/set"], "params": ["use.k"], "outs": ["reports/r.csv"]},
    }}
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(spec))
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports/r.csv").write_text("a,b\n1,2\n")
    lock = {"schema": "2.0", "stages": {
        "make": {"cmd": "x", "deps": [{"path": "src/a.py", "hash": "md5", "md5": md5("A = 1\n")},
                                      {"path": "data", "hash": "md5", "md5": "d" * 32 + ".dir"}],
                 "params": {"params.yaml": {"make": {"n": 3, "beta": 1e-05}}},
                 "outs": [{"path": "artifacts/set", "hash": "md5", "md5": "1" * 32 + ".dir"}]},
        "use": {"cmd": "y", "deps": [{"path": "src/b.py", "hash": "md5", "md5": md5("B = 1\n")},
                                     {"path": "artifacts/set", "hash": "md5", "md5": "1" * 32 + ".dir"}],
                "params": {"params.yaml": {"use.k": 2}},
                "outs": [{"path": "reports/r.csv", "hash": "md5", "md5": md5("a,b\n1,2\n")}]},
    }}
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump(lock).replace("1.0e-05", "1e-05"))  # as DVC writes it
    return tmp_path


def by_stage(root):
    return {r.stage: r for r in F.check(root)}


def test_a_checkout_that_made_its_results_is_current(repo):
    assert all(r.current for r in F.check(repo)), F.summary(F.check(repo))
    assert F.summary(F.check(repo)).startswith("2 of 2 stages current")


def test_changed_code_params_data_and_new_deps_are_each_named(repo):
    (repo / "src/a.py").write_text("A = 2\n")
    (repo / "params.yaml").write_text("make:\n  n: 4\n  beta: 0.00001\n  extra: 1\nuse:\n  k: 2\n")
    (repo / "data.dvc").write_text(yaml.safe_dump({"outs": [{"md5": "e" * 32 + ".dir", "path": "data"}]}))
    spec = yaml.safe_load((repo / "dvc.yaml").read_text())
    spec["stages"]["use"]["deps"].append("src/c.py")
    (repo / "dvc.yaml").write_text(yaml.safe_dump(spec))
    s = by_stage(repo)
    assert s["make"].reasons["code"] == ["src/a.py: changed"]
    assert s["make"].reasons["params"] == ["make.extra: new, 1", "make.n: 3 then, 4 now"]  # beta: 1e-05 is a float
    assert s["make"].reasons["data"] == ["data/: dddddddd here, data.dvc pins eeeeeeee"]
    assert s["use"].reasons == {"deps": ["added since the run: src/c.py"]}  # its own entry's reasons...
    assert s["use"].after == ["make"] and not s["use"].current  # ...and, apart, the stale stage it reads from


def test_an_input_from_another_run_of_the_upstream_stage_is_named(repo):
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    lock["stages"]["make"]["outs"][0]["md5"] = "9" * 32 + ".dir"  # the upstream stage was rerun, this one was not
    (repo / "dvc.lock").write_text(yaml.safe_dump(lock))
    s = by_stage(repo)
    assert s["make"].current
    assert s["use"].reasons == {"upstream": ["artifacts/set: 11111111 here, 99999999 in its producing stage's entry"]}


def test_a_stage_never_run_or_a_deleted_module_is_stale_and_the_cli_prints_json(repo, capsys):
    spec = yaml.safe_load((repo / "dvc.yaml").read_text())
    spec["stages"]["new"] = {"cmd": "z", "deps": ["src/a.py"]}
    (repo / "dvc.yaml").write_text(yaml.safe_dump(spec))
    (repo / "src/b.py").unlink()
    assert F.main(["--root", str(repo), "--json"]) == 0
    out = {r["stage"]: r for r in json.loads(capsys.readouterr().out)}
    assert out["new"]["reasons"] == {"not run": ["no dvc.lock entry"]}
    assert out["use"]["reasons"] == {"code": ["src/b.py: gone"]} and out["make"]["current"]


def test_a_changed_command_outputs_params_list_or_folder_dependency_is_named(repo):
    spec = yaml.safe_load((repo / "dvc.yaml").read_text())
    spec["stages"]["make"]["cmd"] = "x --fast"
    spec["stages"]["make"]["metrics"] = ["reports/m.json"]  # metrics are outputs too
    spec["stages"]["use"]["params"] = [{"other.yaml": None}]  # no keys: refused by nothing, read as none
    spec["stages"]["use"]["deps"] = ["./src/b.py", "artifacts/set/", "notes"]  # DVC's path spellings
    (repo / "dvc.yaml").write_text(yaml.safe_dump(spec))
    (repo / "notes").mkdir()
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    lock["stages"]["use"]["deps"].append({"path": "notes", "hash": "md5", "md5": "3" * 32 + ".dir"})
    (repo / "dvc.lock").write_text(yaml.safe_dump(lock))
    s = by_stage(repo)
    assert s["make"].reasons == {"cmd": ["'x' then, 'x --fast' now"], "outs": ["added since the run: reports/m.json"]}
    assert s["use"].reasons == {"unchecked": ["notes: a folder dependency"], "params": ["use.k: recorded, no longer read"]}


def test_a_committed_report_that_is_not_what_the_run_recorded_is_named(repo):
    (repo / "reports/r.csv").write_text("a,b\n1,3\n")  # edited by hand after the run
    assert by_stage(repo)["use"].reasons == {"reports": ["reports/r.csv: not the bytes the run recorded"]}
    (repo / "reports/r.csv").unlink()
    assert by_stage(repo)["use"].reasons == {"reports": ["reports/r.csv: missing"]}
    assert by_stage(repo)["make"].current  # artifacts/ are never read


def test_a_stage_stale_only_by_its_reports_makes_stale_only_the_stages_that_read_them(repo):
    spec = yaml.safe_load((repo / "dvc.yaml").read_text())
    spec["stages"]["make"]["outs"].append("reports/t.md")
    spec["stages"]["read"] = {"cmd": "z", "deps": ["reports/t.md"]}
    (repo / "dvc.yaml").write_text(yaml.safe_dump(spec))
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    lock["stages"]["make"]["outs"].append({"path": "reports/t.md", "hash": "md5", "md5": md5("t")})
    lock["stages"]["read"] = {"cmd": "z", "deps": [{"path": "reports/t.md", "hash": "md5", "md5": md5("t")}]}
    (repo / "dvc.lock").write_text(yaml.safe_dump(lock))
    (repo / "reports/t.md").write_text("t")
    assert all(r.current for r in F.check(repo))
    (repo / "reports/t.md").write_text("edited")
    s = by_stage(repo)
    assert s["make"].reasons == {"reports": ["reports/t.md: not the bytes the run recorded"]}
    assert s["use"].current  # it reads make's dataset, which the lock still describes
    assert s["read"].after == ["make"] and not s["read"].current  # it reads the edited table


def test_a_folder_output_is_unchecked_where_dvcignore_could_hide_files_from_dvc(repo):
    spec = yaml.safe_load((repo / "dvc.yaml").read_text())
    spec["stages"]["use"]["outs"].append("reports/runs")
    (repo / "dvc.yaml").write_text(yaml.safe_dump(spec))
    (repo / "reports/runs").mkdir()
    (repo / "reports/runs/a.json").write_text("1")
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    lock["stages"]["use"]["outs"].append({"path": "reports/runs", "hash": "md5", "md5": F.dir_md5(repo / "reports/runs")})
    (repo / "dvc.lock").write_text(yaml.safe_dump(lock))
    (repo / ".dvcignore").write_text("# comments only\n")
    assert by_stage(repo)["use"].current
    (repo / ".dvcignore").write_text("*.tmp\n")
    assert by_stage(repo)["use"].reasons == {"unchecked": [
        "reports/runs: a folder output, and .dvcignore has patterns this module does not apply"]}


def test_an_entry_without_dvc_3_s_hash_field_is_unchecked_not_compared(repo):
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    for entry in lock["stages"]["use"]["deps"] + lock["stages"]["use"]["outs"]:
        del entry["hash"]  # DVC 2: text hashed after dos2unix
    (repo / "dvc.lock").write_text(yaml.safe_dump(lock))
    assert sorted(by_stage(repo)["use"].reasons["unchecked"]) == [
        "artifacts/set: recorded with hash None", "reports/r.csv: output recorded with hash None",
        "src/b.py: recorded with hash None"]


def test_a_folder_hashes_as_dvc_records_it(tmp_path):
    d = tmp_path / "runs"
    (d / "a-b").mkdir(parents=True)
    (d / "a").mkdir()
    (d / "a-b/x.json").write_text("1")
    (d / "a/y.tsv").write_text("2")
    entries = [{"md5": md5("1"), "relpath": "a-b/x.json"}, {"md5": md5("2"), "relpath": "a/y.tsv"}]  # by string
    want = hashlib.md5(json.dumps(entries, sort_keys=True).encode()).hexdigest() + ".dir"
    assert F.dir_md5(d) == F.output_md5(d) == want
    assert F.output_md5(d / "a/y.tsv") == md5("2")


def test_an_artifact_git_holds_is_checked_like_a_report_and_a_cached_one_is_not(repo):
    """``cache: false`` under ``artifacts/`` (the backbone checkpoint): git holds it, so a checkout whose file is not
    the bytes its producing entry names is stale by it (session 45: the lock named the regenerated checkpoint while
    git kept the old one)."""
    spec = yaml.safe_load((repo / "dvc.yaml").read_text())
    spec["stages"]["make"]["outs"].append({"artifacts/ckpt.pt": {"cache": False, "persist": True}})
    (repo / "dvc.yaml").write_text(yaml.safe_dump(spec))
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    lock["stages"]["make"]["outs"].append({"path": "artifacts/ckpt.pt", "hash": "md5", "md5": md5("new weights")})
    (repo / "dvc.lock").write_text(yaml.safe_dump(lock).replace("1.0e-05", "1e-05"))
    (repo / "artifacts").mkdir()
    (repo / "artifacts/ckpt.pt").write_text("new weights")
    assert by_stage(repo)["make"].current  # artifacts/set (cached, absent here) is not read
    (repo / "artifacts/ckpt.pt").write_text("old weights")
    assert by_stage(repo)["make"].reasons == {"reports": ["artifacts/ckpt.pt: not the bytes the run recorded"]}


def test_the_repository_s_committed_reports_are_what_its_lock_recorded():
    root = F.Path(__file__).resolve().parents[3]
    wrong = {r.stage: r.reasons["reports"] for r in F.check(root) if "reports" in r.reasons}
    assert wrong == {}, wrong


def test_missing_or_corrupt_files_are_refused_by_name(repo):
    (repo / "params.yaml").unlink()
    with pytest.raises(FileNotFoundError, match="params.yaml"):
        F.check(repo)
    (repo / "params.yaml").write_text("a: [1\n")
    with pytest.raises(ValueError, match="params.yaml is not valid YAML"):
        F.check(repo)


def test_the_repository_itself_can_be_checked():
    rows = F.check(F.Path(__file__).resolve().parents[3])
    assert rows and {r.stage for r in rows} >= {"environment", "fastseg_eval"}


def _record(root, stage, cpu):
    d = root / F.TIMINGS
    d.mkdir(parents=True, exist_ok=True)
    rec = {"commit": "abc1234", "wall_s": 1.0}
    if cpu is not None:
        rec["cpu"] = cpu
    (d / f"{stage}.json").write_text(json.dumps(rec))


ZEN4 = {"vendor": "AuthenticAMD", "family": "25", "model": "17", "stepping": "1", "caches": {"L2": "1024K"},
        "flags": ["avx2", "avx512f"], "torch_cpu_capability": "AVX512", "mkldnn": True, "mkl": True}
ZEN3 = {**ZEN4, "model": "1", "caches": {"L2": "512K"}, "flags": ["avx2"], "torch_cpu_capability": "AVX2"}


def test_machines_name_the_cpu_each_result_was_made_on_against_this_one(repo, capsys, monkeypatch):
    _record(repo, "make", ZEN4)
    _record(repo, "use", ZEN3)
    ms = {m.stage: m for m in F.machines(repo, here=ZEN3)}
    assert ms["use"].same is True and ms["use"].differs == []
    assert ms["make"].same is False
    assert ms["make"].differs == ["model", "caches", "flags", "torch_cpu_capability"]
    text = F.machine_summary(list(ms.values()), ZEN3)
    assert "this machine: AuthenticAMD family 25 model 1 (torch AVX2)" in text
    assert "made on this CPU (1): use" in text
    assert "made on AuthenticAMD family 25 model 17 (torch AVX512) (1; differs: model, caches, flags, " \
           "torch_cpu_capability): make" in text
    # the CLI: --machine adds the CPU lines (and the JSON fields) to what it printed before
    import robopercept.reporting.cpu as cpu
    monkeypatch.setattr(cpu, "fingerprint", lambda: ZEN3)
    F.main(["--root", str(repo), "--machine", "--json"])
    rows = {r["stage"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["make"]["made_on"] == ZEN4 and rows["make"]["cpu_differs"][0] == "model"
    assert rows["use"]["cpu_differs"] == []
    F.main(["--root", str(repo)])
    assert "this machine" not in capsys.readouterr().out


def test_machines_without_a_record_or_its_cpu_say_not_recorded(repo):
    _record(repo, "make", None)  # a record from before session 26: no "cpu"
    (repo / F.TIMINGS / "use.json").write_text("{truncated")
    ms = F.machines(repo, here=ZEN3)
    assert [m.same for m in ms] == [None, None]
    text = F.machine_summary(ms, ZEN3)
    assert "CPU not recorded (2): make, use" in text and "made on this CPU (0): -" in text
