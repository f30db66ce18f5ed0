"""The mlgsl training-step benchmark runs the training step in both layouts and refuses bad arguments (its seconds
are not tested); the shared multi-process harness hands back one result per process."""

import json
import math

import pytest

from robopercept.common.bench import per_process
from robopercept.mlgsl import benchmark_train as B


def test_record_names_sizes_layouts_and_the_cpu(capsys):
    assert B.main(["--profile", "smoke", "--attention", "none", "down", "--layouts", "channels_last", "nchw",
                   "--labels", "3", "--warmup", "0", "--steps", "1"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert [(r["attention"], r["layout"]) for r in rec["rows"]] == [
        ("none", "channels_last"), ("none", "nchw"), ("down", "channels_last"), ("down", "nchw")]
    assert all(len(r["s_per_step"]) == 1 and r["s_per_step"][0] > 0 for r in rec["rows"])
    assert rec["processes"] == 1 and rec["labels"] == 3 and rec["profile"] == "smoke" and rec["cpu"]["vendor"]


@pytest.mark.parametrize("args, what", [(["--steps", "0"], "--steps"), (["--labels", "0"], "--labels"),
                                        (["--layouts", "nhwc"], "--layouts"), (["--attention", "middle"], "--attention")])
def test_bad_arguments_are_named(args, what, capsys):
    with pytest.raises(SystemExit):
        B.main(["--profile", "smoke", *args])
    assert what in capsys.readouterr().err


def test_per_process_runs_the_function_in_each_process():
    assert per_process(math.sqrt, (4.0,), 1) == [2.0]
    assert per_process(math.sqrt, (9.0,), 2) == [3.0, 3.0]
    with pytest.raises(ValueError, match="processes must be >= 1"):
        per_process(math.sqrt, (1.0,), 0)
