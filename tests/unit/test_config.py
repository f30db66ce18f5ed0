import dataclasses

import pytest
import yaml

from robopercept import paths
from robopercept.config import (PROFILES, ConfigError, EnvironmentConfig, load_profile, read_params,
                                render_params, validate_params)
from robopercept.graspseg.config import GraspDataConfig


def test_params_yaml_is_the_rendered_cpu_profile():
    # params.yaml on main must be exactly what `python -m robopercept profile cpu` writes
    assert (paths.root() / "params.yaml").read_text() == render_params("cpu")
    assert read_params()["profile"] == "cpu"


@pytest.mark.parametrize("name", PROFILES)
def test_every_profile_validates(name):
    params = load_profile(name)
    assert params["profile"] == name
    validate_params(params)


def test_profiles_only_override_known_keys(tmp_path):
    for name in ("cpu", "smoke"):
        (tmp_path / f"{name}.yaml").write_text((paths.root() / "profiles" / f"{name}.yaml").read_text())
    (tmp_path / "smoke.yaml").write_text("graspseg_data:\n  n_unlabelled: 3\n")
    with pytest.raises(ConfigError, match=r"graspseg_data\.n_unlabelled"):
        load_profile("smoke", tmp_path)


def test_unknown_profile_is_refused():
    with pytest.raises(ConfigError, match="unknown profile 'gpu'"):
        load_profile("gpu")


def _params():
    return yaml.safe_load(render_params("smoke"))


def test_unknown_section_and_key_are_named():
    p = _params()
    p["graspseg"] = {}
    with pytest.raises(ConfigError, match="unknown params section.*graspseg"):
        validate_params(p)
    p = _params()
    p["environment"]["gallery"] = 3
    with pytest.raises(ConfigError, match=r"environment\.gallery"):
        validate_params(p)


def test_wrong_type_and_negative_size_are_named():
    p = _params()
    p["graspseg_data"]["n_unlabeled"] = "many"
    with pytest.raises(ConfigError, match=r"graspseg_data\.n_unlabeled: expected int"):
        validate_params(p)
    p = _params()
    p["graspseg_data"]["n_labeled_test"] = -1
    with pytest.raises(ConfigError, match=r"graspseg_data\.n_labeled_test: must be >= 0"):
        validate_params(p)
    p = _params()
    p["seed"] = -3
    with pytest.raises(ConfigError, match="seed"):
        validate_params(p)


def test_bool_is_not_an_int_and_int_is_a_float():
    with pytest.raises(ConfigError, match="gallery_objects: expected int"):
        EnvironmentConfig(gallery_objects=True)
    cfg = GraspDataConfig(cup_force_n=5)  # int where a float is asked is fine
    assert cfg.cup_force_n == 5


def test_resolution_too_small_for_the_cups():
    with pytest.raises(ConfigError, match="height: must be >= 48"):
        GraspDataConfig(height=32, width=48)
    with pytest.raises(ConfigError, match="cup_spacing_m"):
        GraspDataConfig(cup_spacing_m=0.01, cup_radius_m=0.009)


def test_missing_parameter_is_named():
    p = _params()
    del p["environment"]["gallery_size"]
    # defaults exist for every field, so a missing key falls back; a missing section does not
    validate_params(p)
    del p["environment"]
    with pytest.raises(ConfigError, match="missing params section.*environment"):
        validate_params(p)


def test_config_is_frozen():
    cfg = EnvironmentConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.gallery_objects = 3  # type: ignore[misc]


def test_environment_yml_has_the_same_pins_as_pyproject():
    import tomllib

    proj = tomllib.loads((paths.root() / "pyproject.toml").read_text())["project"]
    extras = proj["optional-dependencies"]
    dev = set(extras["dev"])
    for ref in [d for d in dev if d.startswith("robopercept[")]:  # the dev extra includes others (site)
        dev |= set(extras[ref[len("robopercept["):-1]])
        dev.discard(ref)
    pins = set(proj["dependencies"]) | dev
    env = yaml.safe_load((paths.root() / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert set(pip_section) - {"-e ."} == pins
    assert "opencv-contrib-python-headless" in " ".join(pins)
    assert not [p for p in pins if p.startswith(("opencv-python", "opencv-contrib-python=="))]


def test_sections_are_found_in_every_config_module(monkeypatch):
    """Adding a paper or a stage's section means adding a config module, never editing the core."""
    import importlib
    import types

    from robopercept import config as core

    mods = core.config_modules()
    assert {"robopercept.common.config", "robopercept.graspseg.config", "robopercept.mlgsl.config"} <= set(mods)
    assert mods == sorted(mods) and all(m.rsplit(".", 1)[1].startswith("config") for m in mods)
    # a second module declaring a known section is refused, naming both modules
    fake = types.SimpleNamespace(SECTIONS={"graspseg_data": GraspDataConfig})
    real = importlib.import_module
    monkeypatch.setattr(core, "config_modules", lambda: [*mods, "robopercept.graspseg.config_extra"])
    monkeypatch.setattr(importlib, "import_module",
                        lambda name, *a: fake if name.endswith("config_extra") else real(name, *a))
    with pytest.raises(ConfigError, match="declared twice.*graspseg.config and robopercept.graspseg.config_extra"):
        core.section_class("graspseg_data")


def test_the_inpainter_sees_only_the_images_of_the_100_rows():
    """graspseg_crops trains the inpainter on graspseg_model.n_small labeled images; Table II's "-100" rows (and
    Paste-Grasp-Inpaint) use graspseg_table2.n_small. They must agree in every profile, or the inpainter would bring
    labels into Paste-Grasp-Inpaint that its row may not see."""
    from robopercept.config import load_profile

    for name in ("smoke", "cpu", "paper"):
        p = load_profile(name)
        assert p["graspseg_model"]["n_small"] == p["graspseg_table2"]["n_small"], name
