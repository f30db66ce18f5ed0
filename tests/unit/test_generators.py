"""Every sharded generator keeps the shard runner's promise (issue #10): 1 worker == 2 workers, shard
k alone == shard k after shards 0..k-1, and a resumed run == an uninterrupted one, byte for byte.
graspseg's grasp collection has its own, longer tests (tests/unit/graspseg/test_grasp_collection.py)."""

import dataclasses
import functools
import shutil
from pathlib import Path

import pytest

from robopercept import paths
from robopercept.common import pretrain_bins
from robopercept.common.config import PretrainConfig
from robopercept.don import scenes as don_scenes
from robopercept.don.config import DonDataConfig
from robopercept.fastseg import data as fastseg_data
from robopercept.fastseg.config import FastsegDataConfig
from robopercept.latentmrcnn import scenes as latent_scenes
from robopercept.latentmrcnn.config import LatentDataConfig
from robopercept.mlgsl import jacquard_sim
from robopercept.mlgsl.config import JacquardDataConfig
from robopercept.world.shards import run_one


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _diff(a: Path, b: Path) -> list[str]:
    fa, fb = _files(a), _files(b)
    return sorted(k for k in fa.keys() | fb.keys() if fa.get(k) != fb.get(k))


def _latent_set(name: str, cfg: LatentDataConfig) -> dict:
    """One latentmrcnn set (apparel, catalog or street bins) as the tests below take a generator."""
    return dict(
        cfg=cfg,
        generate=lambda cfg, out: latent_scenes.generate_set(name, cfg, 5, paths.data_dir(), out),
        plan=functools.partial(latent_scenes.plan_set, name), root=lambda out: out / "shards",
        task=lambda cfg: functools.partial(latent_scenes.set_shard, name=name, cfg=cfg, data_dir=str(paths.data_dir()),
                                           seed=5))


GENERATORS = {
    "mlgsl_jacquard": dict(
        cfg=JacquardDataConfig(render_size=48, n_train=4, n_test=2, n_train_objects=8, n_test_objects=4,
                               max_trials=20, settle_steps=60, shard_size=2, workers=1),
        generate=lambda cfg, out: jacquard_sim.generate(cfg, 5, paths.data_dir(), out, progress=False),
        plan=jacquard_sim.plan_shards,
        task=lambda cfg: functools.partial(jacquard_sim.sample_shard, cfg=cfg, data_dir=str(paths.data_dir()))),
    "pretrain_bins": dict(
        cfg=PretrainConfig(height=64, width=96, n_images=6, shard_size=2, workers=1),
        generate=lambda cfg, out: pretrain_bins.generate_bin_images(cfg, 5, paths.data_dir(), out),
        plan=pretrain_bins.plan_shards,
        task=lambda cfg: functools.partial(pretrain_bins.bins_shard, cfg=cfg, data_dir=str(paths.data_dir()))),
    "don_scenes": dict(
        cfg=DonDataConfig(height=48, width=64, trajectory_poses=40, single_train=2, multi_train=1, single_val=0,
                          multi_val=0, multi_test=1, min_known_per_multi=2, max_known_per_multi=3, max_distractors=1,
                          settle_steps=40, workers=1),
        generate=lambda cfg, out: don_scenes.generate(cfg, 5, paths.data_dir(), out),
        plan=don_scenes.plan_shards, root=lambda out: out / "logs",
        task=lambda cfg: functools.partial(don_scenes.scene_shard, cfg=cfg, data_dir=str(paths.data_dir()))),
    "fastseg_frames": dict(
        cfg=FastsegDataConfig(height=32, width=64, n_train=2, n_val=1, min_users=2, max_users=4, shard_size=1,
                              workers=1),
        generate=lambda cfg, out: fastseg_data.generate(cfg, 5, out),
        plan=fastseg_data.plan_shards, root=lambda out: out / "shards",
        task=lambda cfg: functools.partial(fastseg_data.frame_shard, cfg=cfg)),
    **{f"latentmrcnn_{name}": _latent_set(name, cfg) for name, cfg in (
        (latent_scenes.APPAREL, LatentDataConfig(height=48, width=64, n_train=2, n_val=1, families_per_split=2,
                                                 families_per_bin=1, min_items=2, max_items=3, settle_steps=40,
                                                 shard_size=1, workers=1)),
        (latent_scenes.CATALOG, LatentDataConfig(height=48, width=64, n_catalog_train=2, n_catalog_val=1,
                                                 min_catalog_objects=2, max_catalog_objects=3, settle_steps=40,
                                                 shard_size=1, workers=1)),
        (latent_scenes.STREET, LatentDataConfig(height=48, width=64, n_street_train=2, n_street_val=2, shard_size=1,
                                                workers=1)))},
}


def _root(g, out: Path) -> Path:
    """Where the generator's shard runner writes (the dataset folder itself, or a folder inside it)."""
    return g.get("root", lambda o: o)(out)


@pytest.fixture(scope="module", params=sorted(GENERATORS))
def made(request, tmp_path_factory):
    g = GENERATORS[request.param]
    out = tmp_path_factory.mktemp(request.param) / "one_worker"
    g["generate"](g["cfg"], out)
    return g, out


def test_two_workers_give_the_bytes_of_one(made, tmp_path):
    g, one = made
    two = tmp_path / "two"
    g["generate"](dataclasses.replace(g["cfg"], workers=2), two)
    assert _diff(_root(g, one), _root(g, two)) == []  # every shard
    # and the dataset's own records: until session 41, don's, latentmrcnn's and fastseg's dataset.json recorded the
    # worker count, so another `workers` gave the dataset another DVC hash and retrained everything downstream
    assert _diff(one, two) == []


def test_last_shard_alone_equals_it_after_the_others(made, tmp_path):
    g, one = made
    last = g["plan"](g["cfg"], 5)[-1]
    run_one(g["task"](g["cfg"]), last, str(tmp_path))
    assert _diff(_root(g, one) / last.key, tmp_path / last.key) == []


def test_resume_after_an_interruption_gives_the_same_bytes(made, tmp_path):
    """An interrupted run: one finished shard missing, one left half-written as ``.tmp``."""
    g, one = made
    out = tmp_path / "resumed"
    shutil.copytree(one, out)
    shards = g["plan"](g["cfg"], 5)
    shutil.rmtree(_root(g, out) / shards[0].key)
    half = _root(g, out) / (shards[-1].key + ".tmp")
    shutil.move(_root(g, out) / shards[-1].key, half)
    next(p for p in sorted(half.rglob("*")) if p.is_file()).unlink()
    g["generate"](g["cfg"], out)
    assert _diff(one, out) == [] and not half.exists()


def test_a_dask_cluster_gives_the_bytes_of_the_process_pool(tmp_path):
    """The runner takes any concurrent.futures-style executor (issue #9): a Dask LocalCluster's
    executor, two worker processes, makes the mlgsl Jacquard-like dataset byte for byte as the
    default process pool does."""
    distributed = pytest.importorskip("distributed")
    cfg = dataclasses.replace(GENERATORS["mlgsl_jacquard"]["cfg"], workers=2)
    jacquard_sim.generate(cfg, 5, paths.data_dir(), tmp_path / "pool", progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        jacquard_sim.generate(cfg, 5, paths.data_dir(), tmp_path / "dask", progress=False,
                              executor=client.get_executor())
    assert _files(tmp_path / "pool") and _diff(tmp_path / "pool", tmp_path / "dask") == []
