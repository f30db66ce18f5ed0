"""reporting.adopt: a stage's lock entry, its reports and its timing records move from a fresh clone together, after
checks that name what is wrong — or nothing moves."""

import hashlib
import json
import os
import time

import pytest
import yaml

from robopercept.reporting import adopt as A
from robopercept.reporting import freshness as F


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


SPEC = {"stages": {
    "make": {"cmd": "x", "deps": ["src/a.py"], "params": ["make"], "outs": ["artifacts/set", "reports/t.md"]},
    "use": {"cmd": "y", "deps": ["src/b.py", "artifacts/set"], "outs": ["reports/runs"]},
}}


def _write_repo(root, t_md, runs, set_md5, started):
    """A checkout whose two stages made ``reports/t.md`` and the folder ``reports/runs`` (files: text)."""
    (root / "src").mkdir(parents=True)
    (root / "src/a.py").write_text("A = 1\n")
    (root / "src/b.py").write_text("B = 1\n")
    (root / "params.yaml").write_text("make:\n  n: 3\n")
    (root / "dvc.yaml").write_text(yaml.safe_dump(SPEC))
    (root / "reports/runs").mkdir(parents=True)
    (root / "reports/t.md").write_text(t_md)
    for name, text in runs.items():
        (root / "reports/runs" / name).write_text(text)
    lock = ("schema: '2.0'\nstages:\n"
            f"  make:\n    cmd: x\n    deps:\n    - path: src/a.py\n      hash: md5\n      md5: {md5('A = 1' + chr(10))}\n"
            f"    params:\n      params.yaml:\n        make:\n          n: 3\n"
            f"    outs:\n    - path: artifacts/set\n      hash: md5\n      md5: {set_md5}.dir\n"
            f"    - path: reports/t.md\n      hash: md5\n      md5: {md5(t_md)}\n"
            f"  use:\n    cmd: y\n    deps:\n    - path: artifacts/set\n      hash: md5\n      md5: {set_md5}.dir\n"
            f"    - path: src/b.py\n      hash: md5\n      md5: {md5('B = 1' + chr(10))}\n"
            f"    outs:\n    - path: reports/runs\n      hash: md5\n      md5: {F.dir_md5(root / 'reports/runs')}\n")
    (root / "dvc.lock").write_text(lock)
    tdir = root / "reports/timings"
    (tdir / "stages").mkdir(parents=True)
    for stage, t0 in (("make", started), ("use", started + 150)):  # make ran [t0, t0 + 100], then use
        (tdir / "stages" / f"{stage}.json").write_text(json.dumps(
            {"stage": stage, "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0)),
             "wall_s": 100.0}))
    return root


@pytest.fixture()
def two(tmp_path):
    """Ours (the working checkout) and a fresh clone whose runs of both stages made other bytes."""
    now = time.time()
    ours = _write_repo(tmp_path / "ours", "old\n", {"a.json": "1", "gone.json": "0"}, "1" * 32, now - 10_000)
    fresh = _write_repo(tmp_path / "fresh", "new\n", {"a.json": "2"}, "2" * 32, now - 400)
    (fresh / "reports/timings/make").mkdir()
    bench = fresh / "reports/timings/make/bench.json"
    bench.write_text("{}")
    os.utime(bench, (now - 350, now - 350))  # written while `make` ran
    (ours / "reports/timings/make").mkdir()
    (ours / "reports/timings/make/old.json").write_text("{}")
    old = fresh / "reports/timings/make/old.json"
    old.write_text("{}")
    os.utime(old, (now - 5000, now - 5000))  # a clone's file from before the run: not the run's
    return ours, fresh


def test_a_chain_moves_with_its_reports_and_timings_and_only_its_lock_blocks_change(two):
    ours, fresh = two
    before = (ours / "dvc.lock").read_text()
    p = A.plan(fresh, ["make", "use"], ours)
    assert list(p.outputs) == ["reports/t.md", "reports/runs"]
    assert p.timings == ["reports/timings/stages/make.json", "reports/timings/make/bench.json",
                         "reports/timings/stages/use.json"]
    A.apply(fresh, p, ours)
    assert (ours / "dvc.lock").read_text() == (fresh / "dvc.lock").read_text() != before
    assert (ours / "reports/t.md").read_text() == "new\n"
    assert sorted(x.name for x in (ours / "reports/runs").iterdir()) == ["a.json"]  # replaced whole, not merged
    assert (ours / "reports/timings/make/bench.json").exists() and (ours / "reports/timings/make/old.json").exists()
    assert all(r.current for r in F.check(ours)), F.summary(F.check(ours))


def test_one_stage_of_a_chain_alone_is_refused_because_its_input_came_from_another_run(two, capsys):
    ours, fresh = two
    before = {p: p.read_bytes() for p in ours.rglob("*") if p.is_file()}
    with pytest.raises(A.AdoptError, match=r"stage use: .*upstream .*artifacts/set: 22222222 here, 11111111"):
        A.plan(fresh, ["use"], ours)
    assert A.main(["--from", str(fresh), "use", "--root", str(ours)]) == 2
    assert "nothing written" in capsys.readouterr().out
    assert {p: p.read_bytes() for p in ours.rglob("*") if p.is_file()} == before
    A.apply(fresh, A.plan(fresh, ["make"], ours), ours)  # the producer alone is fine; its consumer is now stale
    rows = {r.stage: r for r in F.check(ours)}
    assert rows["make"].current and "upstream" in rows["use"].reasons


def test_a_clone_at_other_code_an_edited_report_or_an_unknown_stage_is_refused_by_name(two):
    ours, fresh = two
    (fresh / "reports/runs/a.json").write_text("3")
    with pytest.raises(A.AdoptError, match="stage use: reports/runs in the other clone is not the bytes"):
        A.plan(fresh, ["make", "use"], ours)
    (ours / "src/a.py").write_text("A = 2\n")
    with pytest.raises(A.AdoptError, match=r"stage make: .*code .*src/a.py: changed"):
        A.plan(fresh, ["make"], ours)
    with pytest.raises(A.AdoptError, match="not stages of .*: nope"):
        A.plan(fresh, ["nope"], ours)
    (fresh / "reports/timings/stages/make.json").unlink()
    (ours / "src/a.py").write_text("A = 1\n")
    with pytest.raises(A.AdoptError, match="stage make: no timing record"):
        A.plan(fresh, ["make"], ours)
    with pytest.raises(A.AdoptError, match="the other clone is this checkout"):
        A.plan(ours, ["make"], ours)


def test_the_dry_run_lists_and_writes_nothing(two, capsys):
    ours, fresh = two
    before = (ours / "dvc.lock").read_text()
    assert A.main(["--from", str(fresh), "make", "use", "--root", str(ours), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "output  reports/runs" in out and "timing  reports/timings/make/bench.json" in out
    assert (ours / "dvc.lock").read_text() == before and (ours / "reports/t.md").read_text() == "old\n"


def test_lock_blocks_keep_the_text_and_refuse_what_is_not_a_lock():
    text = "schema: '2.0'\nstages:\n  a:\n    cmd: x\n  b:\n    cmd: y\n"
    head, blocks = A.lock_blocks(text)
    assert head + "".join(blocks.values()) == text and list(blocks) == ["a", "b"]
    assert A.merged_lock(text, "stages:\n  c:\n    cmd: z\n", ["c"]).endswith("  b:\n    cmd: y\n  c:\n    cmd: z\n")
    with pytest.raises(A.AdoptError, match="no 'stages:'"):
        A.lock_blocks("schema: '2.0'\n")


def test_a_stage_after_a_stale_one_here_or_a_timing_file_two_runs_could_have_written_is_refused(two):
    ours, fresh = two
    (ours / "src/a.py").write_text("A = 2\n")  # `make` is stale here, so `use` (which reads it) would be too
    (fresh / "src/a.py").write_text("A = 2\n")
    with pytest.raises(A.AdoptError, match=r"stage use: .*after stale make"):
        A.plan(fresh, ["use"], ours)
    (ours / "src/a.py").write_text("A = 1\n")
    late = fresh / "reports/timings/make/late.json"
    late.write_text("{}")
    t = time.time() - 400 + 150 + 1  # inside `use`'s window only: not `make`'s
    os.utime(late, (t, t))
    assert "reports/timings/make/late.json" not in A.plan(fresh, ["make"], ours).timings
    assert "reports/timings/make/late.json" in A.plan(fresh, ["make", "use"], ours).timings
    rec = json.loads((fresh / "reports/timings/stages/use.json").read_text())
    rec["started_utc"] = json.loads((fresh / "reports/timings/stages/make.json").read_text())["started_utc"]
    (fresh / "reports/timings/stages/use.json").write_text(json.dumps(rec))  # the two runs now overlap
    with pytest.raises(A.AdoptError, match="bench.json was written while use also ran"):
        A.plan(fresh, ["make"], ours)


def test_a_failure_while_writing_puts_every_file_back(two, monkeypatch):
    ours, fresh = two
    before = {q: q.read_bytes() for q in ours.rglob("*") if q.is_file()}
    p = A.plan(fresh, ["make", "use"], ours)
    (fresh / "reports/runs/a.json").write_text("changed after the plan")
    with pytest.raises(A.AdoptError, match="reports/runs: the copy is not the bytes"):
        A.apply(fresh, p, ours)
    assert {q: q.read_bytes() for q in ours.rglob("*") if q.is_file()} == before
    (fresh / "reports/runs/a.json").write_text("2")
    real_replace = type(ours).replace

    def failing_replace(self, target):  # the last step, writing dvc.lock, fails after the outputs moved
        if self.name == "dvc.lock.adopt-new":
            raise OSError("disk full")
        return real_replace(self, target)

    monkeypatch.setattr(type(ours), "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        A.apply(fresh, p, ours)
    assert {q: q.read_bytes() for q in ours.rglob("*") if q.is_file()} == before  # nothing new left beside


def test_an_artifact_git_holds_moves_with_its_entry_and_a_cached_one_does_not(two):
    """``cache: false`` outputs are committed to git: under ``artifacts/`` too (the backbone checkpoint) they move,
    or a clone would get the old file beside a lock entry naming the new one. Cached artifacts stay."""
    ours, fresh = two
    for root, text in ((ours, "old weights"), (fresh, "new weights")):
        spec = yaml.safe_load((root / "dvc.yaml").read_text())
        spec["stages"]["make"]["outs"].append({"artifacts/ckpt.pt": {"cache": False, "persist": True}})
        (root / "dvc.yaml").write_text(yaml.safe_dump(spec))
        (root / "artifacts").mkdir(exist_ok=True)
        (root / "artifacts/ckpt.pt").write_text(text)
        lock = (root / "dvc.lock").read_text().replace(
            "    - path: reports/t.md\n",
            f"    - path: artifacts/ckpt.pt\n      hash: md5\n      md5: {md5(text)}\n    - path: reports/t.md\n", 1)
        (root / "dvc.lock").write_text(lock)
    (fresh / "artifacts/set").mkdir()
    (fresh / "artifacts/set/x.bin").write_text("cached")  # DVC's cache holds it: a clone pulls it, adopt leaves it
    p = A.plan(fresh, ["make", "use"], ours)
    assert list(p.outputs) == ["artifacts/ckpt.pt", "reports/t.md", "reports/runs"]  # not artifacts/set (cached)
    A.apply(fresh, p, ours)
    assert (ours / "artifacts/ckpt.pt").read_text() == "new weights"
    assert not (ours / "artifacts/set").exists()
