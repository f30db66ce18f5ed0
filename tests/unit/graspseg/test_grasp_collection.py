"""graspseg §IV-A dataset: determinism, label invariants, COCO, resumption, bad input."""

import dataclasses
import filecmp
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from robopercept import paths
from robopercept.config import ConfigError
from robopercept.formats import coco
from robopercept.formats.grasp_pairs import iter_grasp_folders, read_png, read_sample
from robopercept.world.catalog import load_catalog
from robopercept.graspseg.config import GraspDataConfig
from robopercept.graspseg.grasp_collection import collect_shard, generate, identity, plan_shards, unlabeled_objects
from robopercept.world.shards import run_one

CFG = GraspDataConfig(height=64, width=96, n_unlabeled=4, n_labeled_train=3, n_labeled_test=3,
                      n_train_objects=20, n_test_objects=10, min_objects_per_bin=3, max_objects_per_bin=5,
                      settle_steps=60, shard_size=2, workers=1, unlabeled_test_share=0.5)  # unlabeled shard 1: test objects


VOLATILE = set()  # nothing volatile is written into a dataset any more


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name not in VOLATILE}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("grasps") / "ds"
    generate(CFG, 3, paths.data_dir(), out, progress=False)
    return out


def test_same_seed_same_bytes_whatever_the_workers(dataset, tmp_path):
    other = tmp_path / "two_workers"
    generate(dataclasses.replace(CFG, workers=2), 3, paths.data_dir(), other, progress=False)
    a, b = _files(dataset), _files(other)
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []


def test_counts_and_splits(dataset):
    summary = json.loads((dataset / "dataset.json").read_text())
    assert {k: v["pairs"] for k, v in summary["splits"].items()} == \
        {"unlabeled": 4, "labeled_train": 3, "labeled_test": 3}
    cat = load_catalog()
    test_ids = {o.id for o in cat.objects("test")}
    for split in ("labeled_train", "labeled_test"):  # unlabeled: both (the last test of this file)
        for f in iter_grasp_folders(dataset, split):
            oid = json.loads((f / "record.json").read_text())["grasped"]["object_id"]
            assert (oid in test_ids) == (split == "labeled_test"), (split, oid)


def test_after_image_is_next_before_image(dataset):
    folders = list(iter_grasp_folders(dataset, "unlabeled"))
    for a, b in zip(folders, folders[1:]):
        ra, rb = (json.loads((f / "record.json").read_text()) for f in (a, b))
        if ra["shard"] == rb["shard"] and rb["attempt"] == ra["attempt"] + 1:
            assert (a / "after.png").read_bytes() == (b / "before.png").read_bytes()


def test_label_invariants(dataset):
    n = 0
    for split in ("labeled_train", "labeled_test"):
        for f in iter_grasp_folders(dataset, split):
            s = read_sample(f)
            assert s.visible.any()
            assert not (s.visible & ~s.amodal).any(), "visible must be a subset of amodal"
            # the grasp mask lies on the grasped object: every sealed cup is on it
            on = (s.grasp_mask & s.amodal).sum() / s.grasp_mask.sum()
            assert on >= 0.35, f"{f}: only {on:.0%} of g on the grasped object"
            assert s.record["grasp"]["sealed_cups"] >= CFG.min_sealed_cups
            n += 1
    assert n == 6


def test_coco_masks_match_instance_images(dataset):
    for split in ("labeled_train", "labeled_test"):
        api = coco.load(dataset / split / "annotations.coco.json")
        assert len(api.getImgIds()) == 3
        for img in api.loadImgs(api.getImgIds()):
            ids = read_png(dataset / split / img["file_name"].replace("before.png", "instances.png"))
            anns = api.loadAnns(api.getAnnIds(imgIds=img["id"]))
            assert {a["instance"] for a in anns} == set(np.unique(ids[ids > 0]).tolist())
            for a in anns:
                np.testing.assert_array_equal(api.annToMask(a).astype(bool), ids == a["instance"])
                amodal = coco.decode(a["amodal_segmentation"])
                assert not (api.annToMask(a).astype(bool) & ~amodal).any()


def _task():
    import functools

    return functools.partial(collect_shard, cfg=CFG, data_dir=str(paths.data_dir()))


def test_resume_after_a_crash(dataset, tmp_path):
    out = tmp_path / "resume"
    shards = plan_shards(CFG, 3)
    out.mkdir()
    (out / "plan.json").write_text(json.dumps(identity(CFG, 3, paths.data_dir()), sort_keys=True, indent=1) + "\n")
    run_one(_task(), shards[0], str(out))  # one finished shard ...
    finished = out / shards[0].key
    mtime = (finished / "shard.json").stat().st_mtime_ns
    half = out / (shards[1].key + ".tmp")  # ... and one killed half-way
    (half / "000000").mkdir(parents=True)
    (half / "000000" / "before.png").write_bytes(b"truncated")
    summary = generate(CFG, 3, paths.data_dir(), out, progress=False)
    assert summary["generated_now"] == 10 - shards[0].count  # the finished shard was not redone
    assert (finished / "shard.json").stat().st_mtime_ns == mtime
    assert not list(out.rglob("*.tmp"))
    a, b = _files(dataset), _files(out)
    assert [k for k in a if a[k] != b.get(k)] == []


def test_shard_alone_equals_shard_after_others(dataset, tmp_path):
    """Fresh simulation state per shard: shard k run first, alone, gives the bytes it has after 0..k-1."""
    shards = plan_shards(CFG, 3)
    last = shards[-1]
    run_one(_task(), last, str(tmp_path))
    a = _files(dataset / last.key)
    b = _files(tmp_path / last.key)
    assert a.keys() == b.keys() and [k for k in a if a[k] != b[k]] == []


def test_corrupt_shard_is_regenerated(dataset, tmp_path):
    out = tmp_path / "corrupt"
    shutil.copytree(dataset, out)
    victim = next(out.rglob("record.json"))
    victim.write_text(victim.read_text()[:10])  # truncated
    summary = generate(CFG, 3, paths.data_dir(), out, progress=False)
    assert len(summary["repaired_shards"]) == 1
    a, b = _files(dataset), _files(out)
    assert [k for k in a if a[k] != b.get(k)] == []


def test_code_change_starts_over(dataset, tmp_path, monkeypatch):
    """The plan identity hashes every module the generator imports, however indirectly: an edit to
    world/nuisance.py (the issue's reproduction) never resumes shards made by the old code."""
    from robopercept import codedeps

    src = tmp_path / "src" / "robopercept"
    shutil.copytree(codedeps.ROOT, src, ignore=shutil.ignore_patterns("__pycache__"))
    nuisance = src / "world" / "nuisance.py"
    monkeypatch.setattr(codedeps, "ROOT", src)
    assert nuisance in codedeps.closure("robopercept.graspseg.grasp_collection")

    out = tmp_path / "edited"
    shutil.copytree(dataset, out)
    shard = out / "unlabeled" / "shard_00000" / "shard.json"
    plan_before, inode_before = json.loads((out / "plan.json").read_text()), shard.stat().st_ino
    monkeypatch.setattr(codedeps, "ROOT", src)  # the unedited copy: same hash, the shard is kept
    generate(CFG, 3, paths.data_dir(), out, progress=False)
    assert shard.stat().st_ino == inode_before
    nuisance.write_text(nuisance.read_text().replace("np.clip(", "np.clip(255 - ", 1))
    generate(CFG, 3, paths.data_dir(), out, progress=False)
    assert json.loads((out / "plan.json").read_text())["code_md5"] != plan_before["code_md5"]
    assert shard.stat().st_ino != inode_before  # regenerated by the new code, not resumed


def test_data_change_starts_over(dataset, tmp_path):
    """The plan identity hashes ``data/`` (the object catalog) byte for byte: the same bytes at another path keep
    every shard; any change to the folder regenerates them (issue #10: a shard depends on data/)."""
    data = tmp_path / "data"
    shutil.copytree(paths.data_dir(), data)
    out = tmp_path / "copy"
    shutil.copytree(dataset, out)
    shard = out / "unlabeled" / "shard_00000" / "shard.json"
    plan_before, inode_before = json.loads((out / "plan.json").read_text()), shard.stat().st_ino
    generate(CFG, 3, data, out, progress=False)  # the same catalog, copied elsewhere: resumed
    assert shard.stat().st_ino == inode_before
    mesh = sorted((data / "catalog").rglob("*.obj"))[0]
    mesh.write_text(mesh.read_text() + "# edited\n")  # one more comment line: a changed data/ all the same
    generate(CFG, 3, data, out, progress=False)
    assert json.loads((out / "plan.json").read_text())["inputs_md5"] != plan_before["inputs_md5"]
    assert shard.stat().st_ino != inode_before  # regenerated, not resumed


def test_changed_parameters_start_over(dataset, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(dataset, out)
    generate(dataclasses.replace(CFG, n_unlabeled=2), 3, paths.data_dir(), out, progress=False)
    assert len(list(iter_grasp_folders(out, "unlabeled"))) == 2


def test_bad_inputs(tmp_path):
    with pytest.raises(ConfigError, match="n_unlabeled: must be >= 0"):
        GraspDataConfig(n_unlabeled=-5)
    with pytest.raises(ConfigError, match="height"):
        GraspDataConfig(height=20)
    with pytest.raises(ConfigError, match="n_test_objects.*asked for 500"):
        generate(dataclasses.replace(CFG, n_test_objects=500), 0, paths.data_dir(), tmp_path / "x", progress=False)
    assert not (tmp_path / "x").exists()  # refused before writing anything
    empty = tmp_path / "empty"
    shutil.copytree(paths.data_dir() / "catalog", empty / "catalog")
    fn = empty / "catalog" / "catalog.json"
    doc = json.loads(fn.read_text())
    doc["objects"] = [o for o in doc["objects"] if o["split"] == "train"]
    fn.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match="split 'test' is empty"):
        generate(CFG, 0, empty, tmp_path / "y", progress=False)
    with pytest.raises(FileNotFoundError, match="has no record.json"):
        read_sample(tmp_path)


def test_unlabeled_shards_on_test_objects_are_spread_evenly_through_the_split():
    assert [unlabeled_objects(k, 0.25) for k in range(8)] == ["train", "train", "train", "test"] * 2
    assert {unlabeled_objects(k, 0.0) for k in range(10)} == {"train"}
    assert {unlabeled_objects(k, 1.0) for k in range(10)} == {"test"}
    for n in (4, 10, 40):  # any prefix of the split holds about the share
        assert abs(sum(unlabeled_objects(k, 0.25) == "test" for k in range(n)) - 0.25 * n) < 1
    objects = {s.key: s.get("objects") for s in plan_shards(CFG, 3)}
    assert objects == {"unlabeled/shard_00000": "train", "unlabeled/shard_00001": "test",
                       "labeled_train/shard_00000": "train", "labeled_train/shard_00001": "train",
                       "labeled_test/shard_00000": "test", "labeled_test/shard_00001": "test"}
    with pytest.raises(ConfigError, match="unlabeled_test_share"):
        dataclasses.replace(CFG, unlabeled_test_share=1.5).check()


def test_unlabeled_grasps_cover_training_and_test_objects(dataset):
    """§IV-A: "We collect 110k grasp image pairs across a variety of training and test objects"; the labeled splits
    keep the two apart."""
    catalog = load_catalog(paths.data_dir())
    pools = {split: {o.id for o in catalog.objects(split, limit=n)}
             for split, n in (("train", CFG.n_train_objects), ("test", CFG.n_test_objects))}
    assert not pools["train"] & pools["test"]
    for key, split in (("unlabeled/shard_00000", "train"), ("unlabeled/shard_00001", "test"),
                       ("labeled_train/shard_00000", "train"), ("labeled_test/shard_00000", "test")):
        grasped = {json.loads(r.read_text())["grasped"]["object_id"] for r in (dataset / key).glob("*/record.json")}
        assert grasped and grasped <= pools[split], key
        assert json.loads((dataset / key / "shard.json").read_text())["stats"]["objects"] == split


def test_summary_and_datacard_say_which_objects_each_split_was_grasped_from(dataset):
    summary = json.loads((dataset / "dataset.json").read_text())
    shard_pairs = {}
    for shard in sorted(dataset.glob("*/shard_*")):
        objects = json.loads((shard / "shard.json").read_text())["stats"]["objects"]
        by = shard_pairs.setdefault(shard.parent.name, {})
        by[objects] = by.get(objects, 0) + len(list(shard.glob("*/record.json")))
    assert {k: v["pairs_by_objects"] for k, v in summary["splits"].items()} == shard_pairs
    assert set(shard_pairs["unlabeled"]) == {"train", "test"}  # CFG's share 0.5: shard 1 on test objects
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ")[4]
            for line in (dataset / "DATACARD.md").read_text().splitlines() if line.startswith("| ") and " | " in line}
    by = shard_pairs["unlabeled"]
    assert rows["unlabeled"] == f"train ({by['train']} pairs) + test ({by['test']} pairs)"
    assert (rows["labeled_train"], rows["labeled_test"]) == ("train", "test")
    assert "share 0.5 of the unlabeled shards" in (dataset / "DATACARD.md").read_text()


KILLED_CHILD = r'''
import json, sys
from pathlib import Path
from robopercept import paths
from robopercept.graspseg import grasp_collection as G
from robopercept.graspseg.config import GraspDataConfig

cfg, out, marker = GraspDataConfig(**json.loads(sys.argv[1])), sys.argv[2], Path(sys.argv[3])
real, calls = G.collect_shard, []


def watched(shard, folder, **kw):  # says which shard has started once one shard is finished, then works on
    calls.append(shard.key)
    if len(calls) == 2:
        marker.write_text(shard.key)
    return real(shard, folder, **kw)


G.collect_shard = watched
G.generate(cfg, 3, paths.data_dir(), out, progress=False)
'''


def test_a_real_kill_9_mid_shard_then_resume_gives_the_uninterrupted_bytes(dataset, tmp_path):
    """Issue #10 item 2, with a real SIGKILL: the generator process is killed while it writes its second shard (the
    first one finished); the resumed run regenerates what was cut and ends with the bytes of an uninterrupted run."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out, marker = tmp_path / "killed", tmp_path / "started"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[3] / "src"),
                                                       os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", KILLED_CHILD, json.dumps(dataclasses.asdict(CFG)), str(out),
                              str(marker)], env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert marker.exists(), f"the generator never started a second shard (exit code {child.poll()})"
        os.killpg(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    cut = marker.read_text()
    assert not (out / cut / "shard.json").exists()  # killed before the second shard finished
    assert len(list(out.glob("*/shard.json"))) + len(list(out.glob("*/*/shard.json"))) >= 1  # the first one did
    summary = generate(CFG, 3, paths.data_dir(), out, progress=False)
    assert 0 < summary["generated_now"] < 10  # resumed: the finished shard kept, the cut one and the rest made
    assert not list(out.rglob("*.tmp"))
    a, b = _files(dataset), _files(out)
    assert a.keys() == b.keys() and [k for k in a if a[k] != b[k]] == []
