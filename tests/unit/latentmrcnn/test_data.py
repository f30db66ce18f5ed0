"""The instance-set reader: COCO and detectron2 dict lists load alike; every broken input is refused by name."""

import json

import cv2
import numpy as np
import pytest

from robopercept.formats.coco import CocoWriter
from robopercept.latentmrcnn.data import DatasetError, InstanceSet, load_annotations

H, W = 32, 48


def make_set(tmp_path, n_images=2):
    writer = CocoWriter(["object"])
    masks = []
    for i in range(n_images):
        img = np.full((H, W, 3), 40 * i, np.uint8)
        cv2.imwrite(str(tmp_path / f"{i}.png"), img)
        image_id = writer.add_image(f"{i}.png", H, W)
        m = np.zeros((H, W), bool)
        m[4:12, 5 + i:20 + i] = True
        writer.add_instance(image_id, 1, m)
        masks.append(m)
    writer.write(tmp_path / "instances_train.json")
    return tmp_path / "instances_train.json", masks


def test_coco_set_items(tmp_path):
    fn, masks = make_set(tmp_path)
    ds = InstanceSet(fn, tmp_path)
    assert len(ds) == 2 and ds.num_classes == 2
    x, t = ds.item(1)
    assert x.shape == (3, H, W) and float(x.max()) == pytest.approx(40 / 255)
    assert t["boxes"].tolist() == [[6.0, 4.0, 21.0, 12.0]] and t["labels"].tolist() == [1]
    assert np.array_equal(t["masks"][0].numpy().astype(bool), masks[1])
    xf, tf = ds.item(1, flip=True)
    assert np.array_equal(tf["masks"][0].numpy().astype(bool), masks[1][:, ::-1])
    assert tf["boxes"].tolist() == [[W - 21.0, 4.0, W - 6.0, 12.0]]


def test_detectron2_dict_lists_load_as_coco(tmp_path):
    fn, masks = make_set(tmp_path)
    coco = json.loads(fn.read_text())
    dicts = [{"file_name": im["file_name"], "height": H, "width": W, "image_id": im["id"],
              "annotations": [{"bbox": a["bbox"], "bbox_mode": 1, "segmentation": a["segmentation"], "category_id": 0,
                               "iscrowd": 0} for a in coco["annotations"] if a["image_id"] == im["id"]]}
             for im in coco["images"]]
    (tmp_path / "d2.json").write_text(json.dumps(dicts))
    doc = load_annotations(tmp_path / "d2.json")
    assert [c["name"] for c in doc["categories"]] == ["object"] and doc["annotations"][0]["category_id"] == 1
    ds = InstanceSet(tmp_path / "d2.json", tmp_path)
    assert np.array_equal(ds.ground_truth(0)[0][0], masks[0])


def test_broken_inputs_are_named(tmp_path):
    fn, _ = make_set(tmp_path)
    good = json.loads(fn.read_text())
    with pytest.raises(FileNotFoundError, match="missing.json"):
        InstanceSet(tmp_path / "missing.json", tmp_path)
    (tmp_path / "trunc.json").write_text(fn.read_text()[:50])
    with pytest.raises(DatasetError, match="trunc.json.*not valid JSON"):
        InstanceSet(tmp_path / "trunc.json", tmp_path)

    def variant(name, doc):
        (tmp_path / name).write_text(json.dumps(doc))
        return tmp_path / name

    bad = json.loads(json.dumps(good))
    bad["annotations"][0]["image_id"] = 99
    with pytest.raises(DatasetError, match="unknown image id 99"):
        InstanceSet(variant("a.json", bad), tmp_path)
    bad = json.loads(json.dumps(good))
    bad["annotations"][0]["category_id"] = 7
    with pytest.raises(DatasetError, match="unknown category id 7"):
        InstanceSet(variant("b.json", bad), tmp_path)
    bad = json.loads(json.dumps(good))
    bad["images"][0]["width"] = W + 1
    with pytest.raises(DatasetError, match=f"0.png is {W}x{H} but"):
        InstanceSet(variant("c.json", bad), tmp_path)
    bad = json.loads(json.dumps(good))
    bad["images"] = []
    bad["annotations"] = []
    with pytest.raises(DatasetError, match="empty dataset"):
        InstanceSet(variant("d.json", bad), tmp_path)
    with pytest.raises(DatasetError, match="neither a COCO file"):
        InstanceSet(variant("e.json", {"images": []}), tmp_path)
    png = (tmp_path / "1.png").read_bytes()
    (tmp_path / "1.png").write_bytes(png[: len(png) // 2])
    with pytest.raises(DatasetError, match="1.png cannot be read"):
        InstanceSet(fn, tmp_path)
    (tmp_path / "1.png").unlink()
    with pytest.raises(FileNotFoundError, match="1.png"):
        InstanceSet(fn, tmp_path)


def test_bad_annotations_and_truncated_jpegs_are_refused_before_training(tmp_path):
    fn, _ = make_set(tmp_path)
    good = json.loads(fn.read_text())

    def variant(name, change):
        doc = json.loads(json.dumps(good))
        change(doc)
        (tmp_path / name).write_text(json.dumps(doc))
        return tmp_path / name

    def seg(value):
        return lambda d: d["annotations"][0].__setitem__("segmentation", value)

    with pytest.raises(DatasetError, match="annotation 1 .*RLE size \\[10, 10\\]"):
        InstanceSet(variant("rle.json", lambda d: d["annotations"][0]["segmentation"].__setitem__("size", [10, 10])),
                    tmp_path)
    with pytest.raises(DatasetError, match="empty polygon list"):
        InstanceSet(variant("p0.json", seg([])), tmp_path)
    with pytest.raises(DatasetError, match=">= 6\\) of coordinates, got 4"):
        InstanceSet(variant("p4.json", seg([[1, 1, 5, 5]])), tmp_path)  # pycocotools would decode a box
    assert InstanceSet(variant("p6.json", seg([[1, 1, 9, 1, 9, 7]])), tmp_path).ground_truth(0)[0].any()
    with pytest.raises(DatasetError, match="not unique"):
        InstanceSet(variant("dup.json", lambda d: d["annotations"][1].__setitem__("id", d["annotations"][0]["id"])),
                    tmp_path)
    with pytest.raises(DatasetError, match="has no id"):
        InstanceSet(variant("noid.json", lambda d: d["annotations"][0].pop("id")), tmp_path)
    img = np.random.default_rng(0).integers(0, 255, (H, W, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "0.jpg"), img)
    jpg = variant("jpg.json", lambda d: d["images"][0].__setitem__("file_name", "0.jpg"))
    assert len(InstanceSet(jpg, tmp_path)) == 2
    data = (tmp_path / "0.jpg").read_bytes()
    (tmp_path / "0.jpg").write_bytes(data[: len(data) * 2 // 3])  # PIL's verify() passes this one
    with pytest.raises(DatasetError, match="0.jpg cannot be read"):
        InstanceSet(jpg, tmp_path)
