"""robopercept.common.records: a record one stage wrote and another reads fails naming the file, what it is, the stage
that makes it and the command that remakes it (issue #10, item 6: "errors that name nothing" — a bare
``JSONDecodeError: Expecting value: line 1 column 1`` or ``KeyError: 'grasped'`` from deep in a notebook)."""

import json

import pytest

from robopercept.common import checkpoints
from robopercept.common.records import MissingRecordError, RecordError, checked_load, read_json


def _read(path, **kw):
    return read_json(path, stage="some_stage", kind="test record", **kw)


def test_a_valid_record_round_trips_with_its_required_keys(tmp_path):
    doc = {"grasped": {"object": "cup", "visible_px": 12}, "objects_in_bin": 3, "name": "tasse à café"}
    path = tmp_path / "record.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert _read(path, required=("objects_in_bin", "grasped.object", "grasped.visible_px")) == doc
    assert _read(str(path)) == doc  # a str path as well as a Path


def test_a_missing_record_is_also_a_file_not_found_error_and_names_the_stage_and_the_command(tmp_path):
    path = tmp_path / "gone" / "record.json"
    with pytest.raises(MissingRecordError) as err:
        _read(path)
    assert isinstance(err.value, FileNotFoundError) and isinstance(err.value, ValueError)
    msg = str(err.value)
    assert str(path) in msg and "test record" in msg and "`some_stage` stage makes it" in msg
    assert "dvc repro some_stage" in msg
    with pytest.raises(FileNotFoundError):  # callers that caught the bare error still do
        _read(path)


@pytest.mark.parametrize("content, cause", [
    (b'{"grasped": {"object": "cu', "JSONDecodeError"),  # cut short mid-write
    (b"", "JSONDecodeError"),  # an empty file
    (b'{"name": "caf\xe9"}', "UnicodeDecodeError"),  # latin-1 bytes, not UTF-8
    (b"\xff\xfe{\x00}\x00", "UnicodeDecodeError"),  # UTF-16: json.loads(bytes) would have guessed and read it
])
def test_an_unreadable_record_names_the_file_what_it_is_the_cause_and_the_single_stage_rerun(tmp_path, content,
                                                                                              cause):
    path = tmp_path / "record.json"
    path.write_bytes(content)
    with pytest.raises(RecordError) as err:
        _read(path)
    assert not isinstance(err.value, FileNotFoundError)
    msg = str(err.value)
    assert str(path) in msg and "test record" in msg and cause in msg and "truncated or corrupt" in msg
    assert "dvc repro -f -s some_stage" in msg  # -s: forcing without it would rerun every stage upstream too


def test_a_record_without_a_required_key_names_every_missing_key(tmp_path):
    path = tmp_path / "record.json"
    path.write_text(json.dumps({"grasped": {"object": "cup"}, "grasp": 3}))
    with pytest.raises(RecordError) as err:
        _read(path, required=("grasped.object", "grasped.visible_px", "grasp.sealed_cups", "lighting_changed"))
    msg = str(err.value)
    assert f"{path} is not a test record" in msg and "some_stage" in msg and "dvc repro -f -s some_stage" in msg
    assert "'grasped.visible_px', 'grasp.sealed_cups', 'lighting_changed'" in msg  # "grasp" is no dict: no cups
    assert "'grasped.object'" not in msg
    path.write_text("[1, 2]")  # a list where a dict with keys was expected
    with pytest.raises(RecordError, match=r"is not a test record \(no 'grasped'\)"):
        _read(path, required=("grasped",))


def test_checked_load_raises_the_callers_error_types(tmp_path):
    """The loader checkpoints.load and read_json share: a checkpoint's errors are CheckpointErrors, still
    RecordErrors (so ValueErrors), and a missing one is a FileNotFoundError too."""
    with pytest.raises(checkpoints.CheckpointError, match="missing.pt does not exist") as err:
        checkpoints.load(tmp_path / "missing.pt", stage="some_stage")
    assert isinstance(err.value, MissingRecordError) and isinstance(err.value, FileNotFoundError)
    path = tmp_path / "x.bin"
    path.write_bytes(b"\0")

    def boom(p):
        raise EOFError("ran out of input")

    with pytest.raises(checkpoints.CheckpointError, match=r"x.bin \(EOFError: ran out of input\)"):
        checked_load(path, boom, stage="some_stage", kind="blob", error=checkpoints.CheckpointError)
    assert checked_load(path, lambda p: p.read_bytes(), stage="some_stage", kind="blob") == b"\0"
