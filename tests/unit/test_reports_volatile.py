"""The committed executed notebooks (DVC stage outputs) carry no wall-clock: a second fresh clone must
reproduce them byte for byte. The smoke runs of every stage are checked the same way (conftest)."""

import pytest

from robopercept import paths
from volatile_check import assert_no_volatile_outputs, volatile_outputs

ROOT = paths.root()
EXECUTED = sorted((ROOT / "reports" / "notebooks").rglob("*.ipynb"))
# Notebooks executed before the fix (notebooks pass progress=False) and not yet rerun (strict: a mark must go once
# its rerun lands). Session 7's rerun cleared graspseg/2_grasp_segmentation_model.ipynb.
KNOWN: set[str] = set()


def _id(p):
    return str(p.relative_to(ROOT / "reports" / "notebooks"))


@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.xfail(strict=True, reason="executed before "
                                                "the progress-bar fix; clears on its rerun"))
                                  if _id(p) in KNOWN else p for p in EXECUTED], ids=_id)
def test_executed_notebook_has_no_wall_clock(path):
    assert_no_volatile_outputs(path)


def test_the_check_sees_a_tqdm_bar():
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr",
                                           text="\rmodels:  50%|#####     | 1/2 [00:03<00:03,  3.10s/model]")]
    nb.cells = [cell, nbformat.v4.new_code_cell("y")]
    kinds = {f.split(": ")[1] for f in volatile_outputs(nb)}
    assert {"progress bar", "elapsed<remaining", "carriage return"} <= kinds
    nb.cells[0].outputs[0]["text"] = "Top-1 accuracy 76.8 % (71.8-82.2), 3 seeds\n"
    assert volatile_outputs(nb) == []
