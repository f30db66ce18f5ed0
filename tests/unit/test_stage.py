import json

import nbformat
import pytest

from robopercept.config import ConfigError
from robopercept.stage import check_parameters, parameters_of, parse_value, run

NB = '''# %% tags=["parameters"]
n = 2
rate = 0.5
name = "x"
out = "out.json"

# %%
import json, datetime, os
print("cwd-independent", n * rate, name)
json.dump({"value": n * rate}, open(out, "w"))
'''


@pytest.fixture
def tiny(tmp_path):
    src = tmp_path / "tiny.py"
    src.write_text(NB)
    return src


def test_parameters_are_read_from_the_tagged_cell(tiny):
    import jupytext

    assert parameters_of(jupytext.read(tiny)) == {"n": 2, "rate": 0.5, "name": "x", "out": "out.json"}


def test_unknown_and_mistyped_parameters_fail_before_running():
    defaults = {"n": 2, "rate": 0.5, "flag": True}
    with pytest.raises(ConfigError, match="unknown parameter.*nn"):
        check_parameters(defaults, {"nn": 3}, "tiny")
    with pytest.raises(ConfigError, match="parameter n expects int"):
        check_parameters(defaults, {"n": "three"}, "tiny")
    with pytest.raises(ConfigError, match="parameter flag expects bool"):
        check_parameters(defaults, {"flag": 1}, "tiny")
    check_parameters(defaults, {"rate": 1}, "tiny")  # an int is a valid float


def test_parse_value():
    assert parse_value("3") == 3 and parse_value("0.25") == 0.25 and parse_value("true") is True
    assert parse_value("cpu") == "cpu"


def test_run_writes_a_normalized_notebook(tiny, tmp_path):
    out = tmp_path / "reports" / "tiny.ipynb"
    run(tiny, {"n": 4, "out": str(tmp_path / "v.json")}, out)
    nb = nbformat.read(out, as_version=4)
    assert json.loads((tmp_path / "v.json").read_text()) == {"value": 2.0}
    pm = nb.metadata["papermill"]
    assert pm["parameters"] == {"n": 4, "out": str(tmp_path / "v.json")}
    assert not {"start_time", "end_time", "duration"} & set(pm)
    for cell in nb.cells:
        assert "papermill" not in cell.metadata and "execution" not in cell.metadata
    text = out.read_text()
    assert "cwd-independent 2.0 x" in text
    assert [c["id"] for c in nb.cells] == [f"cell-{k:03d}" for k in range(len(nb.cells))]
    first = out.read_bytes()
    run(tiny, {"n": 4, "out": str(tmp_path / "v.json")}, out)
    assert out.read_bytes() == first  # a rerun writes the same bytes (no random cell ids, no timestamps)


def test_failed_run_writes_nothing(tmp_path):
    src = tmp_path / "bad.py"
    src.write_text(NB.replace('print("cwd', 'raise RuntimeError("boom")\nprint("cwd'))
    out = tmp_path / "reports" / "bad.ipynb"
    with pytest.raises(Exception, match="boom"):
        run(src, {"out": str(tmp_path / "v.json")}, out)
    assert not out.exists() and not (tmp_path / "reports").exists()


def test_unknown_parameter_refused_before_kernel(tiny, tmp_path):
    with pytest.raises(ConfigError, match="unknown parameter"):
        run(tiny, {"bogus": 1}, tmp_path / "x.ipynb")
