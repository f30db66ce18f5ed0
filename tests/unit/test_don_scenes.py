"""§IV-B scene logs from the world: the known objects' roles, the scene plan, and logs the reader accepts."""

import hashlib

import numpy as np
import pytest

from robopercept import paths
from robopercept.don.config import DonDataConfig
from robopercept.don.scenes import generate, known_objects, plan_scenes
from robopercept.formats.don_logs import DonLogs
from robopercept.world.catalog import load_catalog

CFG = DonDataConfig(height=48, width=64, trajectory_poses=60, single_train=2, multi_train=1, single_val=1, multi_val=1,
                    multi_test=1, settle_steps=60, workers=1)


def test_known_objects_cover_the_papers_roles():
    objs = known_objects(load_catalog(paths.data_dir()))
    assert len(objs) == 8 and len({o.id for o in objs}) == 8
    kinds = {o.texture_kind for o in objs}
    assert objs[0].texture_kind == "stripes" and objs[1].texture_kind == "checker"  # two repeating textures
    assert "stripes" in kinds and sum(o.glossy for o in objs) >= 2 and any(o.category == "pouch" for o in objs)
    twin = objs[3]
    assert twin.texture == objs[2].texture and twin.extents[0] < objs[2].extents[0]  # the similar-looking pair


def test_plan_counts_match_the_config():
    specs = plan_scenes(DonDataConfig(), 0)
    count = lambda kind, split: sum(s.kind == kind and s.split == split for s in specs)  # noqa: E731
    assert (count("single", "train"), count("multi", "train"), count("single", "val"), count("multi", "val"),
            count("multi", "test")) == (20, 15, 5, 1, 8)
    assert all(4 <= len(s.known) <= 8 for s in specs if s.kind == "multi")


def digest(root):
    return {p.relative_to(root).as_posix(): hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_generated_logs_read_back_and_reproduce(tmp_path):
    root = generate(CFG, 1, paths.data_dir(), tmp_path / "a")
    ds = DonLogs(root, "robopercept_don")
    ds.check()
    assert ds.scenes("train", "single") == ["single_train_000", "single_train_001"]
    test = ds.scene("multi_test_000")
    i = test.indices[0]
    inst = test.instances(i)
    assert set(np.unique(inst).tolist()) - {0} <= set(test.objects) and (test.mask(i) == (inst > 0)).all()
    assert not (root / "logs/multi_train_000/processed/image_masks").exists()  # no masks for multi-object training
    assert digest(generate(CFG, 1, paths.data_dir(), tmp_path / "b")) == digest(root)


@pytest.mark.parametrize("field, value", [("multi_test", 0), ("max_known_per_multi", 9), ("height", 10)])
def test_config_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=field):
        DonDataConfig(**{field: value})
