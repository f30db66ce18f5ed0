import filecmp
import json
import shutil

import numpy as np
import pytest

from robopercept import paths
from robopercept.data.materialize import recorded_hash, verify
from robopercept.world.catalog import build_catalog, load_catalog, make_texture, summarize


def _tree_equal(a, b):
    cmp = filecmp.dircmp(a, b)
    assert not cmp.left_only and not cmp.right_only and not cmp.diff_files and not cmp.funny_files, cmp.report()
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    match, mismatch, errors = filecmp.cmpfiles(a, b, [str(f) for f in files], shallow=False)
    assert not mismatch and not errors, (mismatch, errors)


def test_build_reproduces_data_dvc(tmp_path):
    # data/ was materialized (rebuilt or pulled) and verified against data.dvc by `make test`;
    # an independent rebuild must give the same bytes, so data.dvc is reproducible offline.
    assert recorded_hash() is not None
    verify()
    build_catalog(tmp_path)
    _tree_equal(tmp_path / "catalog", paths.data_dir() / "catalog")


def test_catalog_contents():
    cat = load_catalog()
    train, test = cat.objects("train"), cat.objects("test")
    assert len(train) >= 150 and len(test) >= 50
    assert not {o.id for o in train} & {o.id for o in test}
    assert not {o.mesh for o in train if o.mesh} & {o.mesh for o in test if o.mesh}
    table = summarize(cat.items)
    assert set(table) == {"box", "cylinder", "pouch", "irregular", "ball"}
    assert all(row["train"] > 0 and row["test"] > 0 for row in table.values())
    assert any(o.glossy for o in cat.items) and any(o.extents[2] < 0.015 for o in cat.items)  # glossy, thin
    assert all(o.mass > 0 and 0 < o.friction <= 1 for o in cat.items)


def test_catalog_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m robopercept.data build"):
        load_catalog(tmp_path)
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "catalog.json").write_text("{not json")
    with pytest.raises(ValueError, match="corrupt catalog"):
        load_catalog(tmp_path)
    cat = load_catalog()
    with pytest.raises(KeyError, match="unknown object id 9999"):
        cat.get(9999)
    with pytest.raises(ValueError, match="unknown split"):
        cat.objects("validation")
    with pytest.raises(ValueError, match="asked for 500 test objects"):
        cat.objects("test", limit=500)


def test_empty_split_is_refused(tmp_path):
    shutil.copytree(paths.data_dir() / "catalog", tmp_path / "catalog")
    fn = tmp_path / "catalog" / "catalog.json"
    doc = json.loads(fn.read_text())
    for o in doc["objects"]:
        o["split"] = "train"
    fn.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="split 'test' is empty"):
        load_catalog(tmp_path).objects("test")


def test_missing_mesh_file_is_named(tmp_path):
    shutil.copytree(paths.data_dir() / "catalog", tmp_path / "catalog")
    victim = next((tmp_path / "catalog" / "meshes").iterdir())
    victim.unlink()
    with pytest.raises(FileNotFoundError, match=victim.name):
        load_catalog(tmp_path)


def test_texture_kinds_are_deterministic():
    for kind in ("label", "stripes", "noise", "checker", "solid"):
        a = make_texture(kind, np.array([0.2, 0.5, 0.7]), np.random.default_rng(1))
        b = make_texture(kind, np.array([0.2, 0.5, 0.7]), np.random.default_rng(1))
        assert a.shape == (64, 64, 3) and a.dtype == np.uint8
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="unknown texture kind"):
        make_texture("plaid", np.zeros(3), np.random.default_rng(0))


def _object_limits(profile: str) -> list[tuple[str, str, int]]:
    """(section, split, limit) of every object limit the profile sets (``n_train_objects``, ``n_test_objects``)."""
    from robopercept.config import load_profile

    params = load_profile(profile)
    return [(section, split, n) for section, values in params.items() if isinstance(values, dict)
            for split, key in (("train", "n_train_objects"), ("test", "n_test_objects"))
            for n in [values.get(key)] if n is not None]


def test_the_smoke_profile_objects_cover_every_category():
    """Issue #10 item 8: the smoke profile's first 20 train / 10 test objects were all boxes, so the tests never
    generated cylinders, pouches, balls or meshes. Round-robin over shapes (session 40) still left pouches out (a
    pouch is a thin box); round-robin over categories (session 43) covers every category, and so every shape."""
    cat = load_catalog()
    categories, shapes = {o.category for o in cat.items}, {o.shape for o in cat.items}
    limits = _object_limits("smoke")
    assert limits, "the smoke profile sets no object limit: this test checks nothing"
    for section, split, n in limits:
        chosen = cat.objects(split, limit=n)
        assert len(chosen) == n and [o.id for o in chosen] == sorted(o.id for o in chosen)  # id order
        assert {o.category for o in chosen} == categories, (section, split, n, sorted({o.category for o in chosen}))
        assert {o.shape for o in chosen} == shapes
    per_category = {c: sum(o.category == c for o in cat.objects("train", limit=10)) for c in categories}
    assert per_category == dict.fromkeys(categories, 2)  # round-robin: two of each


def test_the_cpu_and_paper_profiles_take_whole_splits():
    """The cpu profile's (and so the paper profile's) object limits are the splits' sizes (160 train / 60 test), so
    they take every object whatever the round-robin rule: changing the rule (session 43) cannot move a dataset of
    theirs. The shared stand-in backbone's bins draw from the first ``N_OBJECTS`` train objects: the whole split too."""
    from robopercept.common.pretrain_bins import N_OBJECTS

    cat = load_catalog()
    for profile in ("cpu", "paper"):
        limits = _object_limits(profile)
        assert limits, f"the {profile} profile sets no object limit: this test checks nothing"
        for section, split, n in limits:
            assert cat.objects(split, limit=n) == cat.objects(split), (profile, section, split, n)
    assert cat.objects("train", limit=N_OBJECTS) == cat.objects("train")


def test_check_files_names_every_file_that_differs(tmp_path):
    """Issue #10 item 4: a corrupted data/ is refused naming the files — changed, missing and unexpected ones —
    and how to restore it (the DVC-level refusal is tests/pipeline/test_dvc_repro.py's)."""
    from robopercept.data.materialize import DataMismatch, check_files

    copy = tmp_path / "data"
    shutil.copytree(paths.data_dir(), copy)
    assert check_files(copy).startswith("data/ matches")
    mesh = sorted((copy / "catalog" / "meshes").iterdir())[0]
    blob = bytearray(mesh.read_bytes())
    blob[len(blob) // 2] ^= 1  # one flipped bit
    mesh.write_bytes(bytes(blob))
    texture = sorted((copy / "catalog" / "textures").iterdir())[0]
    texture.unlink()
    (copy / "catalog" / "stray.txt").write_text("not in the manifest")
    with pytest.raises(DataMismatch) as err:
        check_files(copy)
    msg = str(err.value)
    assert f"changed: data/catalog/meshes/{mesh.name}" in msg
    assert f"missing: data/catalog/textures/{texture.name}" in msg
    assert "unexpected: data/catalog/stray.txt" in msg
    assert "python -m robopercept.data materialize" in msg and "git checkout data.dvc" in msg
    with pytest.raises(DataMismatch, match="does not exist"):
        check_files(tmp_path / "nowhere")


def test_dvc_is_found_beside_the_interpreter_without_path(monkeypatch):
    """Issue #10 item 6: `python -m robopercept.data materialize` without .venv/bin on PATH said "run make setup"
    although the environment had dvc; the environment's own dvc is used now."""
    import sys
    from pathlib import Path

    from robopercept.data import materialize

    if not (Path(sys.executable).parent / "dvc").exists():
        pytest.skip("this interpreter's environment has no dvc beside it")
    monkeypatch.setenv("PATH", "/nonexistent")
    out = materialize._dvc("--version")
    assert out.returncode == 0 and out.stdout.strip()


def test_restore_pin_puts_back_the_commits_data_dvc_in_the_work_tree_and_the_index(tmp_path):
    """Issue #10 item 4: `dvc repro` re-pins a changed data/ into data.dvc and stages it before any stage runs; the
    stage that refuses data/ puts the commit's data.dvc back (end to end: tests/pipeline/test_dvc_repro.py)."""
    import subprocess

    from robopercept.data.materialize import restore_pin

    def git(*args: str) -> str:
        env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
               "GIT_COMMITTER_EMAIL": "t@t", "PATH": __import__("os").environ["PATH"]}
        return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True).stdout

    repo = tmp_path / "repo"
    repo.mkdir()
    assert restore_pin(repo) is None  # not a git checkout: nothing to do, no error
    committed = (paths.root() / "data.dvc").read_bytes()
    (repo / "data.dvc").write_bytes(committed)
    git("init", "-q")
    git("add", "data.dvc")
    git("commit", "-qm", "pin")
    assert restore_pin(repo) is None  # already the commit's
    (repo / "data.dvc").write_bytes(committed.replace(b"md5: ", b"md5: 0", 1))  # what `dvc repro` pins
    git("add", "data.dvc")  # and what autostage stages
    assert git("status", "--porcelain", "data.dvc").strip()
    assert "restored to the commit's" in restore_pin(repo)
    assert (repo / "data.dvc").read_bytes() == committed
    assert git("status", "--porcelain", "data.dvc") == ""  # the index too
    (repo / "sub").mkdir()
    assert restore_pin(repo / "sub") is None  # a folder inside a checkout is not a project root
