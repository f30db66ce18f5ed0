"""robopercept.common.checkpoints: the same weights give the same bytes, whatever the clock said (issue #10, item 3:
checkpoints stored wall-clock seconds, so `backbone_pretrained.pt` changed md5 with bit-identical weights and every
downstream stage reran)."""

import hashlib

import pytest
import torch

from robopercept.common import checkpoints


def test_strip_volatile_drops_wall_clock_keys_at_any_depth_and_keeps_the_rest():
    obj = {"model": {"w": 1}, "seconds": 3.2, "history": [{"step": 1, "loss": 0.5, "wall_s": 9.0},
                                                          ({"train_seconds": 1, "keep": 2},)],
           "settings": {"timing_s": 0.1, "lr": 1e-3}, "seconds_per_pair": 0.4}
    out = checkpoints.strip_volatile(obj)
    assert out == {"model": {"w": 1}, "history": [{"step": 1, "loss": 0.5}, ({"keep": 2},)],
                   "settings": {"lr": 1e-3}, "seconds_per_pair": 0.4}  # only the named keys go
    assert isinstance(out["history"][1], tuple)
    assert obj["seconds"] == 3.2  # the caller's object is not modified


def _md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_same_weights_same_bytes_whatever_the_timings(tmp_path):
    torch.manual_seed(0)
    state = {"w": torch.randn(4, 3)}
    # a rerun writes the same path (torch's archive records the file's name, so compare one path's bytes)
    a = checkpoints.save({"model": state, "seconds": 1.0, "history": [{"step": 1, "wall_s": 2.0}]}, tmp_path / "a.pt")
    first = _md5(a)
    checkpoints.save({"model": state, "seconds": 99.0, "history": [{"step": 1, "wall_s": 7.5}]}, tmp_path / "a.pt")
    assert _md5(a) == first
    # while the weights themselves do count
    checkpoints.save({"model": {"w": state["w"] + 1}, "seconds": 1.0}, tmp_path / "a.pt")
    assert _md5(a) != first
    a = checkpoints.save({"model": state, "seconds": 5.0, "history": [{"step": 1}]}, tmp_path / "a.pt")
    assert _md5(a) == first  # the first weights again, another clock: the first bytes
    assert not (tmp_path / "a.pt.tmp").exists()  # written atomically, nothing left beside it
    loaded = checkpoints.load(a, stage="some_stage", required=("model",), kind="test checkpoint")
    assert torch.equal(loaded["model"]["w"], state["w"]) and "seconds" not in loaded


def test_a_truncated_checkpoint_names_the_file_and_the_stage(tmp_path):
    path = checkpoints.save({"model": {"w": torch.zeros(100)}}, tmp_path / "m.pt")
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(checkpoints.CheckpointError, match="truncated or corrupt") as err:
        checkpoints.load(path, stage="some_stage", required=("model",), kind="test checkpoint")
    assert "m.pt" in str(err.value) and "some_stage" in str(err.value)
