"""The grasp-model step benchmark runs the training step and refuses bad sizes (its seconds are not tested)."""

import json

import pytest

from robopercept.graspseg import benchmark_train as B


def test_record_names_sizes_processes_and_the_cpu(capsys):
    assert B.main(["--profile", "smoke", "--height", "64", "--width", "96", "--warmup", "0", "--steps", "1"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["image"] == [64, 96] and rec["processes"] == 1 and len(rec["s_per_step"]) == 1
    assert rec["s_per_step"][0] > 0 and rec["head_width"] == 8 and rec["profile"] == "smoke"
    assert rec["cpu"]["vendor"]


@pytest.mark.parametrize("args, what", [(["--steps", "0"], "--steps"), (["--height", "16"], "--height")])
def test_bad_arguments_are_named(args, what, capsys):
    with pytest.raises(SystemExit):
        B.main(["--profile", "smoke", *args])
    assert what in capsys.readouterr().err
