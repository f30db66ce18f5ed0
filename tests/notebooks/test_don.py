"""don's stages on the smoke profile, and their outputs' contracts."""

import pandas as pd
import pytest

from conftest import read_metrics
from robopercept.formats.don_logs import DonLogs

pytestmark = pytest.mark.notebook


def test_data_stage_writes_logs_the_reader_accepts(don_pipeline):
    out = don_pipeline
    logs = DonLogs(out / "artifacts/datasets/don_logs", "robopercept_don")
    logs.check()
    assert logs.scenes("train", "single") == ["single_train_000", "single_train_001"]
    summary = pd.read_csv(out / "reports/tables/don/scene_logs.csv")
    assert set(zip(summary.kind, summary.split)) == {("single", "train"), ("single", "val"), ("multi", "train"),
                                                     ("multi", "val"), ("multi", "test")}
    assert len(pd.read_csv(out / "reports/tables/don/known_objects.csv")) == 8
    m = read_metrics(out / "reports/metrics/don/scene_logs.json", paper="don", stage="don_data")
    assert m["values"]["scenes"] == 6 and m["values"]["frames"] > 0
    for fig in ("scene_examples", "arc"):
        assert (out / f"reports/figures/don/{fig}.png").exists()
