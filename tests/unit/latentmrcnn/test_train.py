"""The training loop: the β schedule, the lr schedule, and bit-identical reruns on a tiny apparel set."""

import pytest
import torch

from robopercept.latentmrcnn.config import LatentDataConfig
from robopercept.latentmrcnn.data import InstanceSet
from robopercept.latentmrcnn.model import LatentMaskRCNN, ModelSettings, build_maskrcnn
from robopercept.latentmrcnn.scenes import generate_set
from robopercept.latentmrcnn.train import TrainSettings, train

S = ModelSettings(min_size=64, max_size=96, z_dim=8, encoder_roi=8, encoder_width=8, encoder_hidden=16,
                  encoder_layers=1, prior_width=8)


@pytest.fixture(scope="module")
def apparel(tmp_path_factory):
    out = tmp_path_factory.mktemp("apparel")
    cfg = LatentDataConfig(height=64, width=96, n_train=3, n_val=1, n_catalog_train=1, n_catalog_val=1,
                           families_per_split=3, families_per_bin=2, min_items=3, max_items=4, settle_steps=60,
                           shard_size=3, workers=1)
    generate_set("apparel", cfg, 0, "data", out)
    return InstanceSet(out / "annotations" / "instances_train.json", out)


def test_schedules():
    s = TrainSettings(steps=90, warmup=10, lr=0.1, beta=1e-3, kl_start=0.5)
    assert s.lr_at(0) == pytest.approx(0.01) and s.lr_at(9) == pytest.approx(0.1)
    assert s.lr_at(59) == pytest.approx(0.1) and s.lr_at(60) == pytest.approx(0.01) and s.lr_at(80) == pytest.approx(1e-3)
    assert s.beta_at(44) == 0.0 and s.beta_at(45) == 1e-3  # KL warm-up: beta = 0 for the first half
    with pytest.raises(ValueError):
        TrainSettings(kl_start=1.5)


def test_latent_training_reruns_bit_identically_and_switches_the_kl_on(apparel):
    s = TrainSettings(steps=3, batch_size=2, warmup=1, kl_start=0.5, beta=0.1)
    runs = []
    for _ in range(2):
        torch.manual_seed(123)  # the model's initialisation
        model = LatentMaskRCNN(S)
        hist = train(model, apparel, s)
        runs.append((model.state_dict(), hist))
    (a, ha), (b, hb) = runs
    assert ha == hb and all(torch.equal(a[k], b[k]) for k in a)
    assert [h["beta"] for h in ha] == [0.0, 0.1, 0.1] and all("kl" in h for h in ha)


def test_mask_rcnn_trains_with_the_same_loop(apparel):
    torch.manual_seed(0)
    hist = train(build_maskrcnn(S), apparel, TrainSettings(steps=2, warmup=1))
    assert len(hist) == 2 and "kl" not in hist[0] and all(h["loss"] > 0 for h in hist)


def test_a_diverging_run_stops_with_an_error_naming_the_step_and_the_lr(apparel):
    """A NaN loss must not train on silently into a NaN checkpoint (session 10's cpu run at lr 0.01 did)."""
    torch.manual_seed(0)
    with pytest.raises(FloatingPointError, match=r"training diverged at step \d+ \(lr .*lower latentmrcnn_train.lr"):
        train(build_maskrcnn(S), apparel, TrainSettings(steps=30, warmup=1, lr=1e6))


def test_the_latent_probe_reads_samples_mid_training_without_changing_the_training(apparel, tmp_path):
    from robopercept.latentmrcnn.latent_probe import _Probe, identity_injection, probe, z_weight_ratio

    s = TrainSettings(steps=2, batch_size=2, warmup=1, kl_start=0.5, beta=0.1)
    torch.manual_seed(5)
    plain = train(LatentMaskRCNN(S), apparel, s)
    torch.manual_seed(5)
    model, out = LatentMaskRCNN(S), []
    wz0 = z_weight_ratio(model)
    probed = train(model, apparel, s, live=_Probe(model, apparel.head(1), every=1, k=2, out=out))
    assert probed == plain  # reading samples (eval mode, own generator) leaves the run as it was
    assert [r["step"] for r in out] == [1, 2]
    assert all(r["images_with_masks"] == 0 or 0 <= r["agreement"] <= 1 for r in out)
    assert out[0]["wz"] != wz0 and out[1]["wz"] != out[0]["wz"]  # read after each step: training moves the injection
    assert z_weight_ratio(LatentMaskRCNN(S)) > 0.01  # the authors' init: z enters with random weights
    old = LatentMaskRCNN(S)
    identity_injection(old)  # what --injection-init identity does: this repository's start until session 21
    assert z_weight_ratio(old) == 0
    with pytest.raises(ValueError, match="injection_init"):
        probe(tmp_path, tmp_path / "backbone.pt", "apparel", steps=10, every=5, beta=1e-5, prior_beta=0.1, n_val=1, k=2,
              injection_init="zeros")
    with pytest.raises(ValueError, match="k >= 2"):
        probe(tmp_path, tmp_path / "backbone.pt", "apparel", steps=10, every=5, beta=1e-5, prior_beta=0.1, n_val=1, k=1)
    with pytest.raises(FileNotFoundError, match="pretrained_backbone"):
        probe(tmp_path, tmp_path / "backbone.pt", "apparel", steps=10, every=5, beta=1e-5, prior_beta=0.1, n_val=1, k=2)
