"""graspseg's readers of other stages' records (issue #10, item 6): a missing, cut-short or incomplete file is named
with the stage that writes it, not a bare JSONDecodeError or KeyError from inside a notebook."""

import json

import pytest

from robopercept.common.records import MissingRecordError, RecordError
from robopercept.graspseg import data_stats, table3
from robopercept.graspseg.instance_eval import area_ranges, coco_eval
from robopercept.graspseg.labeled import labeled_images


def _grasp_dataset(root, record):
    """A dataset of one grasp (in labeled_train) whose record.json holds ``record``; the other splits are empty."""
    for split in ("unlabeled", "labeled_train", "labeled_test"):
        (root / split).mkdir(parents=True)
    shard = root / "labeled_train" / "shard_00000"
    (shard / "000000").mkdir(parents=True)
    (shard / "shard.json").write_text("{}")
    (shard / "000000" / "record.json").write_text(json.dumps(record))
    return shard / "000000" / "record.json"


RECORD = {"grasped": {"object": "cup", "category": "cup", "glossy": False, "visible_px": 40}, "objects_in_bin": 5,
          "grasp": {"sealed_cups": 3, "active_cups": [1, 1, 1, 0]}, "neighbours_moved": {"7": 0.01},
          "lighting_changed": False, "bumped_instance": None}


def test_grasp_records_are_read_and_an_incomplete_one_names_the_keys_it_lacks(tmp_path):
    _grasp_dataset(tmp_path / "ok", RECORD)
    recs = data_stats.records(tmp_path / "ok")
    assert recs.iloc[0][["object", "active_cups", "neighbours_moved", "bumped"]].tolist() == ["cup", 3, 1, False]
    old = {**RECORD, "grasped": {k: v for k, v in RECORD["grasped"].items() if k != "visible_px"}}
    del old["lighting_changed"]
    path = _grasp_dataset(tmp_path / "old", old)
    with pytest.raises(RecordError) as err:
        data_stats.records(tmp_path / "old")
    msg = str(err.value)
    assert str(path) in msg and "grasp record" in msg and "graspseg_grasp_data" in msg
    assert "'grasped.visible_px', 'lighting_changed'" in msg


def test_cut_short_annotations_name_the_split_and_the_stage_and_missing_ones_stay_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"labeled_test/annotations.coco.json does not exist.*graspseg_grasp_data"):
        labeled_images(tmp_path, "labeled_test")
    (tmp_path / "labeled_test").mkdir()
    (tmp_path / "labeled_test" / "annotations.coco.json").write_text('{"images": [{"id": 1, "file_na')
    with pytest.raises(RecordError, match=r"COCO annotations of the labeled_test split .*annotations.coco.json "
                                          r"\(JSONDecodeError.*dvc repro -f -s graspseg_grasp_data"):
        labeled_images(tmp_path, "labeled_test")


def test_a_cut_short_results_file_names_table2(tmp_path):
    gt = {"images": [{"id": 1, "file_name": "a.png", "height": 8, "width": 8}], "annotations": [],
          "categories": [{"id": 1, "name": "object"}]}
    results = tmp_path / "results.coco.json"
    results.write_text('[{"image_id": 1, "segm')
    with pytest.raises(RecordError, match=r"COCO results file .*results.coco.json.*graspseg_table2"):
        coco_eval(gt, results, area_ranges(8, 8))


def test_table3_trials_are_read_in_shard_order_and_a_cut_short_shard_is_named(tmp_path):
    for key, trials in (("trials_00000", [{"trial": 0, "model": "a"}]), ("trials_00002", [{"trial": 2, "model": "a"}])):
        (tmp_path / key).mkdir()
        (tmp_path / key / "trials.json").write_text(json.dumps(trials))
    assert table3.read_trials(tmp_path, ["trials_00000", "trials_00002"]).trial.tolist() == [0, 2]
    (tmp_path / "trials_00002" / "trials.json").write_text('[{"trial": 2, "mod')
    with pytest.raises(RecordError, match=r"Table III trials .*trials_00002/trials.json.*truncated or corrupt.*"
                                          r"dvc repro -f -s graspseg_table3"):
        table3.read_trials(tmp_path, ["trials_00000", "trials_00002"])
    with pytest.raises(MissingRecordError, match="trials_00004/trials.json does not exist.*graspseg_table3"):
        table3.read_trials(tmp_path, ["trials_00000", "trials_00004"])
