"""Training logs written inside shards: a resumed sweep publishes every shard's log, as an uninterrupted one does
(session 10: graspseg Table II's resumed rerun published 6 of 20 models' logs)."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from robopercept.common.live import publish, shard_live
from robopercept.world.shards import Shard, plan_identity, run_plan


def _task(shard: Shard, folder: Path) -> dict:
    with shard_live(folder) as live:
        for step in range(3):
            live.log_metric("train/loss", float(shard.seed + step))
            live.next_step()
    (folder / "model.txt").write_text(shard.key)
    return {"key": shard.key}


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_resumed_sweep_publishes_the_logs_of_an_uninterrupted_one(tmp_path):
    shards = [Shard(f"m{k}", 1, k) for k in range(3)]
    ident = plan_identity(generator="live test", config={}, seed=0, code_modules=("robopercept.common.live",))
    run_plan(tmp_path / "full", ident, shards, _task, progress=False)
    publish(tmp_path / "full", [s.key for s in shards], tmp_path / "logs_full")
    run_plan(tmp_path / "resumed", ident, shards[:1], _task, progress=False)  # interrupted after one shard
    run_plan(tmp_path / "resumed", ident, shards, _task, progress=False)  # resumed: m0 is not retrained
    publish(tmp_path / "resumed", [s.key for s in shards], tmp_path / "logs_resumed")
    full, resumed = _files(tmp_path / "logs_full"), _files(tmp_path / "logs_resumed")
    assert full == resumed and {k.split("/")[0] for k in full} == {"m0", "m1", "m2"}
    assert any(k.endswith("loss.tsv") for k in full)
    with pytest.raises(FileNotFoundError, match="shard m9 has no training log"):
        publish(tmp_path / "full", ["m9"], tmp_path / "x")
