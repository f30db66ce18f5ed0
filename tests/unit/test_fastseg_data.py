"""§IV-A data: street frames in the Cityscapes layout, reproducible shard by shard, read back by the same reader."""

import hashlib

import numpy as np
import pytest

from robopercept.fastseg.config import FastsegDataConfig
from robopercept.fastseg.data import city_name, generate
from robopercept.formats import cityscapes as C
from robopercept.world import street

CFG = FastsegDataConfig(height=64, width=128, n_train=3, n_val=2, shard_size=2, workers=1, min_users=10,
                        max_users=14)


def digest(root):
    return {p.relative_to(root).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*.png")) if "shards" not in p.parts}


def test_frames_are_a_cityscapes_folder_with_road_users_of_several_classes(tmp_path):
    root = generate(CFG, 3, tmp_path / "a")
    train, val = C.CityscapesSet(root, "train", size=(64, 128)), C.CityscapesSet(root, "val")
    assert len(train) == 3 and len(val) == 2
    assert {n.rsplit("_", 2)[0] for n in train.names} == {"sim_train_a", "sim_train_b"}
    classes = set()
    for f in train:
        masks, labels = f.instance_masks()
        classes |= set(labels.tolist())
        assert {street.ROAD, street.SKY} <= set(np.unique(f.labels).tolist())
    assert len(classes) >= 3, classes


def test_same_seed_same_bytes_whatever_the_workers_and_a_resumed_run(tmp_path):
    a = digest(generate(CFG, 3, tmp_path / "a"))
    b_root = generate(FastsegDataConfig(**{**CFG.__dict__, "workers": 2}), 3, tmp_path / "b")
    assert digest(b_root) == a
    # a killed run: one shard gone; the rerun regenerates it and only it
    import shutil

    shutil.rmtree(b_root / "shards" / "train_0001")
    assert digest(generate(CFG, 3, tmp_path / "b")) == a
    assert digest(generate(CFG, 4, tmp_path / "c")) != a


def test_city_names_are_cityscapes_like():
    assert city_name("train", 0) == "sim_train_a" and city_name("val", 25) == "sim_val_z" and city_name("val", 26) == "sim_val_aa"
    with pytest.raises(ValueError, match="lower-case"):
        C.stem("Sim1", 0, 0)


@pytest.mark.parametrize("field, value", [("height", 30), ("width", 100), ("n_val", 0), ("min_users", 30)])
def test_data_config_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=field):
        FastsegDataConfig(**{field: value})
