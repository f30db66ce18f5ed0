"""latentmrcnn's stages on the smoke profile, and their outputs' contracts."""

import pandas as pd
import pytest

from conftest import read_metrics
from robopercept.latentmrcnn.data import InstanceSet

pytestmark = pytest.mark.notebook


def test_data_stage_writes_coco_sets(latentmrcnn_pipeline):
    out = latentmrcnn_pipeline
    for name, n_train in (("apparel", 4), ("catalog", 2)):
        root = out / f"artifacts/datasets/latentmrcnn_{name}"
        ds = InstanceSet(root / "annotations/instances_train.json", root)
        assert len(ds) == n_train and sum(len(v) for v in ds.by_image.values()) > 0
    stats = pd.read_csv(out / "reports/tables/latentmrcnn/dataset_statistics.csv")
    assert set(stats.set) == {"apparel", "catalog"} and set(stats.split) == {"train", "val"}
    m = read_metrics(out / "reports/metrics/latentmrcnn/datasets.json", paper="latentmrcnn", stage="latentmrcnn_data")
    assert m["values"]["apparel_train_images"] == 4 and 0 <= m["values"]["apparel_same_family_boundary_pct"] <= 100
    for fig in ("dataset_examples", "family_prints"):
        assert (out / f"reports/figures/latentmrcnn/{fig}.png").exists()


def test_train_stage_trains_both_models_on_every_set(latentmrcnn_pipeline):
    import torch

    out = latentmrcnn_pipeline
    runs = pd.read_csv(out / "reports/tables/latentmrcnn/training_runs.csv")
    assert set(zip(runs.set, runs.model)) == {(s, m) for s in ("apparel", "catalog")
                                              for m in ("MaskRCNN", "Latent-MaskRCNN")}
    assert runs.final_loss.gt(0).all() and runs[runs.model == "Latent-MaskRCNN"].final_kl.notna().all()
    ckpt = torch.load(out / "artifacts/models/latentmrcnn/apparel_latent_seed0/model.pt", weights_only=True)
    assert ckpt["kind"] == "latent" and len(ckpt["history"]) == 2 and "seconds" not in ckpt["history"][0]
    assert any(k.startswith("prior.") for k in ckpt["model"])
