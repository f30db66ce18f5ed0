"""The training sweep's plan identity (issue #10, session 41): it hashes every file of each training set, so images
made again under the same annotations retrain the models, and nothing that leaves the set's bytes alone (the shard
runner's ``plan.json``, which changes with any edit of the generator's code; the worker counts) does."""

import dataclasses
import json

import numpy as np
import pytest
from PIL import Image

from robopercept.latentmrcnn import sweep
from robopercept.latentmrcnn.config import LatentDataConfig, LatentTrainConfig
from robopercept.latentmrcnn.scenes import generate_set
from robopercept.world.shards import PLAN_FILE, tree_hash

DATA = LatentDataConfig(height=48, width=64, n_train=2, n_val=1, families_per_split=2, families_per_bin=1,
                        min_items=2, max_items=3, settle_steps=40, shard_size=1, workers=1)
TRAIN = LatentTrainConfig(sets=["apparel"], seeds=1, workers=1)


@pytest.fixture()
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("datasets")
    generate_set("apparel", DATA, 0, "data", root / "latentmrcnn_apparel")
    return root


def _identity(datasets, train=TRAIN, data=DATA):
    return sweep.sweep_identity(train, data, datasets, None, 7)


def test_the_identity_changes_with_an_image_under_the_same_annotations(datasets):
    before = _identity(datasets)
    annotations = tree_hash(datasets / "latentmrcnn_apparel" / "annotations")
    image = sorted((datasets / "latentmrcnn_apparel" / "shards").rglob("*.png"))[0]
    pixels = np.asarray(Image.open(image)).copy()
    pixels[0, 0] ^= 1  # one bit of one pixel: a regenerated image the annotations cannot tell apart
    Image.fromarray(pixels).save(image)
    assert tree_hash(datasets / "latentmrcnn_apparel" / "annotations") == annotations  # what the identity hashed
    assert _identity(datasets) != before


def test_the_identity_ignores_the_runners_plan_and_the_worker_counts(datasets):
    before = _identity(datasets)
    plan = datasets / "latentmrcnn_apparel" / "shards" / PLAN_FILE
    doc = json.loads(plan.read_text())
    plan.write_text(json.dumps({**doc, "code_md5": "0" * 32}))  # an edit of the generator that changes no byte
    assert _identity(datasets) == before
    assert _identity(datasets, dataclasses.replace(TRAIN, workers=3), dataclasses.replace(DATA, workers=4)) == before
    assert _identity(datasets, data=dataclasses.replace(DATA, settle_steps=41)) != before  # a parameter still counts


def test_train_all_plans_with_the_sweep_identity(datasets, tmp_path, monkeypatch):
    planned = {}

    class Planned(Exception):
        pass

    def run_plan(out_dir, identity, shards, task, **kw):
        planned.update(identity=identity, keys=[s.key for s in shards])
        raise Planned

    monkeypatch.setattr(sweep, "run_plan", run_plan)
    with pytest.raises(Planned):
        sweep.train_all(TRAIN, DATA, datasets, None, tmp_path / "models", tmp_path / "live", 7)
    assert planned["identity"] == _identity(datasets)
    assert planned["keys"] == ["apparel_maskrcnn_seed0", "apparel_latent_seed0"]
