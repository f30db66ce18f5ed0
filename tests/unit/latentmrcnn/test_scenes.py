"""The Apparel-5k-like and catalog bins: COCO files that load, disjoint train/val prints, resumable bytes."""

import hashlib
import json
import shutil

import numpy as np
import pytest
from pycocotools.coco import COCO

from robopercept.latentmrcnn.config import LatentDataConfig
from robopercept.latentmrcnn.scenes import family_texture, generate_set

CFG = LatentDataConfig(height=64, width=96, n_train=3, n_val=2, n_catalog_train=2, n_catalog_val=2,
                       families_per_split=4, families_per_bin=2, min_items=4, max_items=6, settle_steps=60,
                       shard_size=2, workers=1)


def digest(folder):
    return {str(p.relative_to(folder)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "plan.json"}


@pytest.mark.parametrize("name", ["apparel", "catalog"])
def test_sets_are_coco_and_resume_to_the_same_bytes(name, tmp_path):
    out = generate_set(name, CFG, 0, "data", tmp_path / name)
    for split, n in (("train", 3 if name == "apparel" else 2), ("val", 2)):
        fn = out / "annotations" / f"instances_{split}.json"
        gt = COCO(str(fn))
        assert len(gt.getImgIds()) == n and len(gt.getAnnIds()) > 0
        for img in gt.dataset["images"]:
            assert (out / img["file_name"]).exists()
        cats = {c["name"] for c in gt.dataset["categories"]}
        assert cats == ({"object"} if name == "apparel" else {"box", "cylinder", "pouch", "irregular", "ball"})
    first = digest(out)
    shutil.rmtree(sorted((out / "shards").glob("train_*"))[-1])  # a lost shard is made again, to the same bytes
    (out / "annotations" / "instances_train.json").unlink()
    generate_set(name, CFG, 0, "data", tmp_path / name)
    assert digest(out) == first


def test_train_and_val_prints_differ_and_families_are_distinct():
    a, b = family_texture("train", 0, 0), family_texture("val", 0, 0)
    assert a.shape == (128, 128, 3) and not np.array_equal(a, b)
    assert np.array_equal(a, family_texture("train", 0, 0))  # a pure function of (split, family, seed)
    assert not np.array_equal(a, family_texture("train", 1, 0))


def test_bad_set_name_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown latentmrcnn set"):
        generate_set("cityscapes", CFG, 0, "data", tmp_path)
