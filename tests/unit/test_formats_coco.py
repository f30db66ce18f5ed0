import json

import numpy as np
import pytest

from robopercept.formats import coco


def test_rle_round_trip_and_pycocotools_reads_the_file(tmp_path):
    m1 = np.zeros((7, 9), bool)
    m1[1:4, 2:6] = True
    m2 = np.zeros((7, 9), bool)
    m2[5, 0] = True
    w = coco.CocoWriter(["box", "ball"])
    img = w.add_image("a.png", 7, 9)
    a1 = w.add_instance(img, 1, m1, amodal=m1 | m2, object_id=4)
    assert w.add_instance(img, 2, np.zeros((7, 9), bool)) is None  # empty masks are skipped
    w.add_instance(img, 2, m2)
    fn = w.write(tmp_path / "ann.json")
    api = coco.load(fn)
    anns = api.loadAnns(api.getAnnIds(imgIds=img))
    assert [a["id"] for a in anns] == [a1, 2]
    np.testing.assert_array_equal(api.annToMask(anns[0]).astype(bool), m1)
    assert anns[0]["area"] == 12 and anns[0]["bbox"] == [2.0, 1.0, 4.0, 3.0]
    np.testing.assert_array_equal(coco.decode(anns[0]["amodal_segmentation"]), m1 | m2)
    assert isinstance(json.loads(fn.read_text())["annotations"][0]["segmentation"]["counts"], str)


def test_merge_renumbers(tmp_path):
    m = np.ones((2, 2), bool)
    parts = []
    for _ in range(2):
        w = coco.CocoWriter(["box"])
        w.add_instance(w.add_image("x.png", 2, 2), 1, m)
        parts.append(w.to_dict())
    total = coco.CocoWriter(["box"])
    for k, p in enumerate(parts):
        total.merge(p, file_prefix=f"s{k}/")
    d = total.to_dict()
    assert [i["id"] for i in d["images"]] == [1, 2] and [a["image_id"] for a in d["annotations"]] == [1, 2]
    assert d["images"][1]["file_name"] == "s1/x.png"


def test_bad_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        coco.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        coco.load(tmp_path / "bad.json")
    w = coco.CocoWriter(["box"])
    with pytest.raises(ValueError, match="unknown category"):
        w.add_instance(w.add_image("a", 2, 2), 3, np.ones((2, 2), bool))
    with pytest.raises(ValueError, match="2-D"):
        coco.encode(np.ones((2, 2, 2), bool))
