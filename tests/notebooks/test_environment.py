import json

import pytest

from conftest import read_metrics

pytestmark = pytest.mark.notebook


def test_environment_notebook_smoke_and_deterministic(run_stage, tmp_path):
    nb1, out1 = run_stage("environment", out=tmp_path / "a")
    nb2, out2 = run_stage("environment", out=tmp_path / "b")
    metrics = read_metrics(out1 / "reports/metrics/environment/provenance.json", paper="environment",
                           stage="environment")["values"]
    assert metrics["run"]["profile"] == "smoke"
    assert metrics["packages"]["torch"].startswith("2.")
    assert {"flags", "caches", "torch_cpu_capability"} <= set(metrics["cpu"])  # which machines should match bytes
    table = (out1 / "reports/tables/environment/catalog_summary.csv").read_text()
    assert table.startswith("category,train,test,glossy") and "total" in table
    gallery1 = (out1 / "reports/figures/environment/catalog_gallery.png").read_bytes()
    gallery2 = (out2 / "reports/figures/environment/catalog_gallery.png").read_bytes()
    assert gallery1[:8] == b"\x89PNG\r\n\x1a\n" and gallery1 == gallery2  # byte-stable figure
    assert (out1 / "reports/metrics/environment/provenance.json").read_bytes() == \
        (out2 / "reports/metrics/environment/provenance.json").read_bytes()
    # the executed notebooks are identical apart from where each run published its reports
    assert nb1.read_text().replace(str(out1), "OUT") == nb2.read_text().replace(str(out2), "OUT")
    assert "robopercept-environment-" not in nb1.read_text()  # no scratch folder leaks into the notebook
