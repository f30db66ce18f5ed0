"""robopercept.device_bench: every section runs at the smoke profile on the CPU and its record holds what the README
quotes from the committed GPU record; a failing section is recorded, not fatal; bad arguments fail before any model."""

import json

import pytest
import torch

from robopercept import device_bench
from robopercept import paths
from robopercept.config import load_profile, validate_params


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_every_section_measures_a_training_step_at_the_profile_sizes():
    rec = device_bench.run("smoke", "cpu", steps=1, log=lambda s: None)
    assert rec["profile"] == "smoke" and rec["device"] == "cpu"
    for name in device_bench.SECTIONS:
        sec = rec[name]
        assert "error" not in sec, (name, sec.get("traceback"))
        steps = [r["train_s_per_step"] for r in sec["rows"].values()] if name == "fastseg" else \
            [r["train_s_per_step"] for r in sec["steps"]] if name == "don" else \
            [sec.get("train_s_per_step", sec.get("latent_train_s_per_step"))]
        assert steps and all(s > 0 for s in steps), (name, steps)
        assert sec["estimate"]["models"] > 0 and sec["estimate"]["hours_all_models_at_max_steps"] >= 0
    assert rec["graspseg_table2"]["train_s_per_step_robust_set_loss"] > 0  # the robust set loss ran too
    assert set(rec["mlgsl"]["train_s_per_step_attention"]) == {"down", "up", "all"}  # each SAM variant timed
    inp = rec["graspseg_inpaint"]  # the inpainter fills a whole (padded) frame in the profile's 4 DDIM steps
    assert inp["sample_steps"] == 4 and inp["inpaint_ms_per_frame"] > 0 and inp["frame"][0] >= 64
    assert rec["pretrain"]["backbone"] == "resnet18" and rec["pretrain"]["estimate"]["models"] == 1
    assert rec["graspseg_table1"]["image"] == [64, 96]  # the smoke profile's graspseg frame
    cfg = validate_params(load_profile("smoke"))  # the estimates count what the stages train
    from robopercept.don.experiments import unique_variants
    from robopercept.graspseg.table2_train import ROWS

    don = rec["don"]
    assert don["configurations"] == len(unique_variants(cfg["don_train"], cfg["don_data"].multi_train))
    t = cfg["don_temperature"]
    assert don["estimate"]["models"] == don["configurations"] * cfg["don_train"].seeds + len(t.temperatures) * t.seeds
    t2 = cfg["graspseg_table2"]
    assert rec["graspseg_table2"]["estimate"]["models"] == len(t2.rows) * t2.n_seeds
    assert sorted(rec["graspseg_table2"]["estimate"]["max_steps_per_model"]) == sorted(
        {t2.max_steps * (2 if ROWS[r].single_object else 1) for r in t2.rows})  # Single-Object-100: twice the steps


def test_a_failing_section_is_recorded_and_the_others_still_run(monkeypatch):
    def broken(cfg, device, timer):
        raise RuntimeError("planted")

    monkeypatch.setattr(device_bench, "mlgsl", broken)
    rec = device_bench.run("smoke", "cpu", steps=1, only=("mlgsl", "don"), log=lambda s: None)
    assert rec["mlgsl"]["error"] == "RuntimeError: planted"
    assert all(r["train_s_per_step"] > 0 for r in rec["don"]["steps"])


def test_bad_arguments_fail_before_any_model():
    with pytest.raises(ValueError, match="unknown section"):
        device_bench.run("smoke", "cpu", only=("graspseg_table9",))
    with pytest.raises(Exception, match="nope"):
        device_bench.run("nope", "cpu", only=("mlgsl",))
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA device"):
            device_bench.run("smoke", "cuda", only=("mlgsl",))


@pytest.mark.parametrize("card", ["h100", "h200"])
def test_the_committed_gpu_records_have_every_section_without_errors(card):
    rec = json.loads((paths.root() / f"reports/timings/device/paper_profile_{card}.json").read_text())
    assert rec["profile"] == "paper" and rec["gpu"].startswith(f"NVIDIA {card.upper()}")
    for name in device_bench.SECTIONS:
        assert "error" not in rec[name] and not any(k.endswith("_error") for k in rec[name]), name


def test_deterministic_mode_records_repeatability_ops_and_gives_torch_its_settings_back(monkeypatch):
    import os
    import warnings

    import torch

    def warns(cfg, device, timer):  # a section whose operations torch would warn of, twice over
        warnings.warn("index_put_ does not have a deterministic implementation, but you set ...")
        warnings.warn("Memory Efficient attention defaults to a non-deterministic algorithm. To ...")
        warnings.warn("an unrelated warning")
        return {}

    monkeypatch.setattr(device_bench, "don", warns, raising=True)
    monkeypatch.setattr(device_bench, "fastseg", warns, raising=True)
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    saved = (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic,
             torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    try:  # a state none of the modes sets, which run() must give back
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = True, True
        torch.use_deterministic_algorithms(True, warn_only=False)
        before = (True, True, True, False)
        rec = device_bench.run("smoke", "cpu", steps=1, only=("graspseg_table1", "don", "fastseg"),
                               log=lambda s: None, cudnn="deterministic")
        after = (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic,
                 torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
        assert after == before and "CUBLAS_WORKSPACE_CONFIG" not in os.environ
        # benchmark mode switches deterministic algorithms off even when the caller had them on
        rec_b = device_bench.run("smoke", "cpu", steps=1, only=("don",), log=lambda s: None, cudnn="benchmark")
        assert "nondeterministic_ops" not in rec_b["don"]
    finally:
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = saved[:2]
        torch.use_deterministic_algorithms(saved[2], warn_only=saved[3])
    sec = rec["graspseg_table1"]
    assert rec["cudnn"] == "deterministic" and "error" not in sec, sec.get("traceback")
    # on the CPU two runs of three steps from the same seed give the same state, and torch warned of nothing
    rep = sec["repeatability"]
    assert rep["steps"] == 3 and rep["identical"] and rep["max_abs_state_diff"] == 0.0 and len(rep["state_md5"]) == 32
    assert sec["nondeterministic_ops"] == []
    # the ops are named; the second section lists none as new, but every one heard so far
    assert rec["don"]["nondeterministic_ops"] == ["Memory Efficient attention", "index_put_"]
    assert rec["fastseg"]["nondeterministic_ops"] == []
    assert rec["fastseg"]["nondeterministic_ops_so_far"] == ["Memory Efficient attention", "index_put_"]


def test_the_repeatability_probe_tells_different_runs_apart():
    import torch

    calls = []

    def build():  # the second build starts from other weights: the probe must say so
        calls.append(1)
        net = torch.nn.Linear(3, 2)
        if len(calls) == 2:
            with torch.no_grad():
                net.weight.add_(1e-3)
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        x = torch.ones(4, 3)
        return net, device_bench._step(net, opt, lambda: net(x).square().mean())

    rep = device_bench._repeatability(build)
    assert not rep["identical"] and rep["max_abs_state_diff"] > 0


def test_an_unknown_cudnn_mode_fails_before_any_model():
    with pytest.raises(ValueError, match="unknown --cudnn mode 'fastest'"):
        device_bench.run("smoke", "cpu", steps=1, only=("graspseg_table1",), log=lambda s: None, cudnn="fastest")
    with pytest.raises(SystemExit):
        device_bench.main(["--profile", "smoke", "--device", "cpu", "--cudnn", "fastest"])


def test_the_cudnn_mode_records_are_what_the_readme_table_quotes():
    """reports/timings/device/cudnn_modes_h200: one record per mode, no section failed, and the README's table of
    them (steps and peaks of graspseg's two networks) quotes those records."""
    import re

    recs = {m: json.loads((paths.root() / f"reports/timings/device/cudnn_modes_h200/{m}.json").read_text())
            for m in device_bench.CUDNN_MODES}
    for mode, rec in recs.items():
        assert rec["cudnn"] == mode and rec["profile"] == "paper" and rec["gpu"].startswith("NVIDIA H200")
        for name in ("graspseg_table1", "graspseg_table2", "latentmrcnn", "mlgsl", "fastseg"):
            assert "error" not in rec[name], (mode, name)
            assert ("nondeterministic_ops" in rec[name]) == (mode == "deterministic")
    readme = (paths.root() / "README.md").read_text()
    for label, section in (("graspseg §III-A ResNet-50-FPN", "graspseg_table1"),
                           ("graspseg §III-B.4 Mask2Former R-50", "graspseg_table2")):
        row = next(line for line in readme.splitlines() if line.startswith(f"| {label} | ") and " / " in line)
        cells = [c.strip() for c in row.strip("|").split("|")]
        steps = [float(x) for x in re.findall(r"\d+\.\d+", cells[1])[:3]]
        peaks = [float(x) for x in cells[2].split(" / ")]
        assert steps == [round(recs[m][section]["train_s_per_step"], 3) for m in device_bench.CUDNN_MODES], label
        assert peaks == [round(recs[m][section]["peak_gib"], 1) for m in device_bench.CUDNN_MODES], label
        same = [recs[m][section]["repeatability"]["identical"] for m in device_bench.CUDNN_MODES]
        assert cells[3].startswith("yes in all three" if all(same) else "no in all three" if not any(same) else "?")
