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
    from robopercept.graspseg.table2 import ROWS

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


def test_deterministic_mode_records_repeatability_and_gives_torch_its_settings_back():
    import torch

    before = (torch.backends.cudnn.benchmark, torch.are_deterministic_algorithms_enabled())
    rec = device_bench.run("smoke", "cpu", steps=1, only=("graspseg_table1",), log=lambda s: None,
                           cudnn="deterministic")
    sec = rec["graspseg_table1"]
    assert rec["cudnn"] == "deterministic" and "error" not in sec, sec.get("traceback")
    # on the CPU two runs of three steps from the same seed give the same weights, and torch warned of no operation
    assert sec["repeatability"] == {"steps": 3, "identical": True, "max_abs_weight_diff": 0.0}
    assert sec["nondeterministic_ops"] == []
    assert (torch.backends.cudnn.benchmark, torch.are_deterministic_algorithms_enabled()) == before


def test_an_unknown_cudnn_mode_fails_before_any_model():
    with pytest.raises(ValueError, match="unknown --cudnn mode 'fastest'"):
        device_bench.run("smoke", "cpu", steps=1, only=("graspseg_table1",), log=lambda s: None, cudnn="fastest")
    with pytest.raises(SystemExit):
        device_bench.main(["--profile", "smoke", "--device", "cpu", "--cudnn", "fastest"])
