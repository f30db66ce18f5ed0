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
