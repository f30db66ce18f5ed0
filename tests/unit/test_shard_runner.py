"""The shard runner's own guarantees that no generator test reaches (issue #10): a plan whose identity leaves out
which shards are planned removes the shard folders outside the plan when asked (``prune_unplanned``), so its output
holds exactly what a fresh run writes; the runner's records stay out of :func:`dataset_md5`; a dataset records its
config without the worker count."""

from __future__ import annotations

from pathlib import Path

from robopercept.world.shards import (PLAN_FILE, SHARD_FILE, Shard, dataset_md5, recorded_config, run_plan,
                                      tree_hash)

# an identity that does not say how many shards there are: a longer plan resumes a shorter one's shards
IDENT = {"generator": "shard runner test", "seed": 0}


def _task(shard: Shard, folder: Path) -> dict:
    (folder / "item.txt").write_text(f"{shard.key} {shard.seed}\n")
    return {"key": shard.key}


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _plan(n: int, prefix: str = "") -> list[Shard]:
    return [Shard(f"{prefix}s{k}", 1, k) for k in range(n)]


def test_a_shorter_plan_removes_the_longer_ones_extra_shards_when_asked(tmp_path):
    run_plan(tmp_path / "fresh", IDENT, _plan(2), _task, progress=False)
    run_plan(tmp_path / "shrunk", IDENT, _plan(4), _task, progress=False)
    (tmp_path / "shrunk" / "dataset.json").write_text("{}\n")  # a generator's own file beside the shards
    res = run_plan(tmp_path / "shrunk", IDENT, _plan(2), _task, progress=False, prune_unplanned=True)
    assert res.generated == []  # the planned shards resumed
    shrunk = _files(tmp_path / "shrunk")
    assert shrunk.pop("dataset.json") == b"{}\n"  # files outside shard folders are never touched
    assert shrunk == _files(tmp_path / "fresh") and {k.split("/")[0] for k in shrunk} == {"s0", "s1", PLAN_FILE}


def test_without_the_flag_unplanned_shards_stay(tmp_path):
    """The default keeps them: a caller may fill one folder with several partial plans in turn."""
    run_plan(tmp_path, IDENT, _plan(1), _task, progress=False)
    run_plan(tmp_path, IDENT, _plan(3)[1:], _task, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["s0", "s1", "s2"]


def test_nested_keys_are_pruned_with_the_folders_they_leave_empty(tmp_path):
    plan = _plan(2, "train/") + _plan(1, "val/")
    run_plan(tmp_path / "fresh", IDENT, plan[:2], _task, progress=False)
    run_plan(tmp_path / "shrunk", IDENT, plan, _task, progress=False)
    run_plan(tmp_path / "shrunk", IDENT, plan[:2], _task, progress=False, prune_unplanned=True)
    assert not (tmp_path / "shrunk" / "val").exists()
    assert _files(tmp_path / "shrunk") == _files(tmp_path / "fresh")


def test_dataset_md5_leaves_out_the_runners_records_only(tmp_path):
    run_plan(tmp_path / "shards", IDENT, _plan(2), _task, progress=False)
    (tmp_path / "annotations.json").write_text("[]\n")
    before, tree = dataset_md5(tmp_path), tree_hash(tmp_path)
    (tmp_path / "shards" / PLAN_FILE).write_text('{"code_md5": "another generator code"}\n')
    assert dataset_md5(tmp_path) == before and tree_hash(tmp_path) != tree
    (tmp_path / "shards" / "s0" / SHARD_FILE).write_text("{}\n")
    assert dataset_md5(tmp_path) == before
    (tmp_path / "shards" / "s1" / "item.txt").write_text("s1 another item\n")
    assert dataset_md5(tmp_path) != before


def test_recorded_config_leaves_out_the_worker_count():
    assert recorded_config({"height": 48, "workers": 2, "seed": 1}) == {"height": 48, "seed": 1}
