import json

import pytest

from conftest import read_metrics

pytestmark = pytest.mark.notebook


def test_grasp_data_notebook_smoke(graspseg_pipeline):
    out = graspseg_pipeline
    metrics = read_metrics(out / "reports/metrics/graspseg/grasp_data.json", paper="graspseg",
                           stage="graspseg_grasp_data")["values"]
    assert metrics["pairs"] == {"unlabeled": 6, "labeled_train": 4, "labeled_test": 4}
    assert 0 < metrics["success_rate"]["unlabeled"] <= 1
    assert 0 <= metrics["subtract"]["test_mIOU"] <= 100
    for name in ("grasp_data_statistics", "grasp_data_subtraction_by_nuisance"):
        assert (out / f"reports/tables/graspseg/{name}.csv").stat().st_size > 0
        assert (out / f"reports/tables/graspseg/{name}.md").read_text().count("|") > 10
    for name in ("grasp_data_distributions", "grasp_data_examples"):
        assert (out / f"reports/figures/graspseg/{name}.png").read_bytes()[:4] == b"\x89PNG"
    card = (out / "reports/datacards/graspseg_grasps.md").read_text()
    assert "Data card" in card and "labeled_test" in card
    coco = json.loads((out / "artifacts/datasets/graspseg_grasps/labeled_test/annotations.coco.json").read_text())
    assert len(coco["images"]) == 4 and coco["annotations"]
