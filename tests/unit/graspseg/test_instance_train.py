"""§V training loop: batch sources are deterministic per step; the loop early-stops on validation AP."""

import numpy as np
import pytest
import torch

from robopercept.graspseg.inpaint import OpenCVInpainter
from robopercept.graspseg.instance_model import InstanceModelSettings
from robopercept.graspseg.instance_train import (AlternatingBatches, InstanceTrainSettings, LabeledBatches,
                                                 PasteBatches, optimizer, train_instance_model)
from robopercept.graspseg.paste import Crop, PasteConfig, PasteSampler

H, W = 32, 48
TINY = InstanceModelSettings(backbone="resnet18", num_queries=4, hidden_dim=32, encoder_layers=1, decoder_layers=2,
                             dim_feedforward=64, encoder_feedforward_dim=64, num_heads=4, train_num_points=256)


def scenes(n, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        img = rng.integers(0, 50, (H, W, 3), dtype=np.uint8)
        masks = np.zeros((2, H, W), bool)
        y, x = rng.integers(0, 16, 2)
        masks[0, y:y + 10, x:x + 12] = True
        masks[1, 20:30, 30:44] = True
        masks[1] &= ~masks[0]
        img[masks[0]] = (200, 50, 50)
        img[masks[1]] = (50, 200, 50)
        out.append((img, masks))
    return out


def test_sources_are_deterministic_per_step_and_alternate():
    imgs = scenes(5)
    lab = LabeledBatches(imgs, seed=1)
    a, b = lab.batch(3, 2), lab.batch(3, 2)
    assert np.array_equal(a.images, b.images) and all(np.array_equal(x, y) for x, y in zip(a.masks, b.masks))
    crops = [Crop.cut(img, m[0], f"c{i}") for i, (img, m) in enumerate(imgs)]
    paste = PasteBatches(PasteSampler(imgs, crops, PasteConfig(min_objects=2, max_objects=4), seed=2),
                         OpenCVInpainter(), radius=1)
    p = paste.batch(0, 2)
    assert p.images.shape == (2, H, W, 3) and all((m.sum(0) <= 1).all() for m in p.masks)
    single = LabeledBatches([(img, m[:1]) for img, m in imgs], seed=3, single_object=True)
    alt = AlternatingBatches(lab, single)
    assert not alt.batch(0, 2).single_object and alt.batch(1, 2).single_object
    assert all(len(m) == 1 for m in alt.batch(1, 2).masks)


def test_backbone_batchnorm_stays_frozen_while_training():
    from robopercept.graspseg.instance_model import build, freeze_backbone_batchnorm, hf_backbone

    torch.set_num_threads(1)
    imgs = scenes(4)
    s = InstanceTrainSettings(batch_size=2, max_steps=2, eval_every=2, patience=5, seed=0)
    before = {k: v.clone() for k, v in hf_backbone(build(TINY, seed=0)).state_dict().items()
              if "normalization" in k}
    model, _ = train_instance_model(TINY, s, LabeledBatches(imgs[:2], seed=0), imgs[2:])
    after = hf_backbone(model).state_dict()
    assert before and all(torch.equal(v, after[k]) for k, v in before.items())  # statistics and affine unchanged
    assert freeze_backbone_batchnorm(model) > 0


def test_backbone_gets_its_own_learning_rate():
    from robopercept.graspseg.instance_model import build

    opt = optimizer(build(TINY), InstanceTrainSettings(lr=1e-4, backbone_lr_mult=0.1))
    assert [g["lr"] for g in opt.param_groups] == [pytest.approx(1e-5), 1e-4]
    assert len(opt.param_groups[0]["params"]) > 0


@pytest.mark.parametrize("robust", [None, 0.7])
def test_training_runs_and_is_reproducible(robust):
    torch.set_num_threads(1)
    imgs = scenes(6)
    src = AlternatingBatches(LabeledBatches(imgs[:4], seed=0),
                             LabeledBatches([(i, m[:1]) for i, m in imgs[:4]], seed=1, single_object=True))
    s = InstanceTrainSettings(batch_size=2, max_steps=4, eval_every=2, patience=5, seed=0)
    # labeled batches only: "all" makes the robust loss refine them (with "pasted" it would refine nothing)
    model, hist = train_instance_model(TINY, s, src, imgs[4:], robust_iou=robust, robust_targets="all")
    assert [h["step"] for h in hist] == [2, 4]
    assert all(np.isfinite(h["train_loss"]) and 0 <= h["val_AP"] <= 100 for h in hist)
    # the robust set loss reports, per evaluation, the share of refined predictions it left outside the margin
    assert all(("robust_unresolved_pct" in h) == (robust is not None) for h in hist)
    assert all(0 <= h.get("robust_unresolved_pct", 0) <= 100 for h in hist)
    model2, hist2 = train_instance_model(TINY, s, src, imgs[4:], robust_iou=robust, robust_targets="all")
    assert hist == hist2
    for (k, v), v2 in zip(model.state_dict().items(), model2.state_dict().values()):
        assert torch.equal(v, v2), k


def test_paste_batches_flag_the_pasted_instances_as_noisy():
    imgs = scenes(5)
    crops = [Crop.cut(img, m[0], f"c{i}") for i, (img, m) in enumerate(imgs)]
    paste = PasteBatches(PasteSampler(imgs, crops, PasteConfig(min_objects=2, max_objects=4), seed=2))
    b = paste.batch(0, 3)
    assert b.noisy is not None and len(b.noisy) == 3
    for j, (masks, noisy) in enumerate(zip(b.masks, b.noisy)):
        res = paste.sampler.sample(0, j)
        assert noisy.dtype == bool and np.array_equal(noisy, res.pasted) and len(noisy) == len(masks)
        assert noisy.any()  # 2-4 crops pasted, some visible
    assert LabeledBatches(imgs, seed=0).batch(0, 2).noisy is None


def test_robust_loss_on_labeled_batches_only_is_the_standard_loss():
    """With ``robust_targets="pasted"`` a batch without pasted instances refines nothing: training is bit-identical
    to Mask2Former's own mask loss, and the unresolved share is NaN (nothing was refined)."""
    torch.set_num_threads(1)
    imgs = scenes(6)
    s = InstanceTrainSettings(batch_size=2, max_steps=2, eval_every=2, patience=5, seed=0)
    plain, h_plain = train_instance_model(TINY, s, LabeledBatches(imgs[:4], seed=0), imgs[4:])
    robust, h_robust = train_instance_model(TINY, s, LabeledBatches(imgs[:4], seed=0), imgs[4:], robust_iou=0.7,
                                            robust_targets="pasted")
    assert [h["val_AP"] for h in h_plain] == [h["val_AP"] for h in h_robust]
    assert all(np.isnan(h["robust_unresolved_pct"]) for h in h_robust)
    for (k, v), v2 in zip(plain.state_dict().items(), robust.state_dict().values()):
        assert torch.equal(v, v2), k
    # with pasted crops in the batches the robust loss does refine (a finite unresolved share at every evaluation)
    crops = [Crop.cut(img, m[0], f"c{i}") for i, (img, m) in enumerate(imgs[:4])]
    paste = PasteBatches(PasteSampler(imgs[:4], crops, PasteConfig(min_objects=2, max_objects=3), seed=2))
    _, h_paste = train_instance_model(TINY, s, paste, imgs[4:], robust_iou=0.7, robust_targets="pasted")
    assert all(np.isfinite(h["robust_unresolved_pct"]) for h in h_paste)
    single = LabeledBatches([(i, m[:1]) for i, m in imgs[:4]], seed=1, single_object=True).batch(0, 2)
    assert [n.tolist() for n in single.noisy] == [[True], [True]]  # a grasp's predicted mask is a noisy label
    with pytest.raises(ValueError, match="robust_targets"):
        train_instance_model(TINY, s, LabeledBatches(imgs[:4], seed=0), imgs[4:], robust_iou=0.7, robust_targets="some")


def test_early_stopping_waits_for_the_warm_up():
    # lr 0: validation AP never changes, so every evaluation after the first is one "without a new best"
    torch.set_num_threads(1)
    imgs = scenes(4)
    src = LabeledBatches(imgs[:2], seed=0)
    steps = {}
    for warm in (0, 4):
        s = InstanceTrainSettings(lr=0.0, batch_size=2, max_steps=6, eval_every=1, patience=1, min_steps=warm, seed=0)
        _, hist = train_instance_model(TINY, s, src, imgs[2:])
        steps[warm] = [h["step"] for h in hist]
    assert steps[0] == [1, 2]  # stopped at the first evaluation without a new best
    assert steps[4] == [1, 2, 3, 4]  # not before the warm-up ends; then at once (no new best since step 1)


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="eval_every"):
        InstanceTrainSettings(max_steps=10, eval_every=20)
    with pytest.raises(ValueError, match="min_steps"):
        InstanceTrainSettings(max_steps=10, eval_every=5, min_steps=11)
    with pytest.raises(ValueError, match="no labeled training images"):
        LabeledBatches([], seed=0)
    with pytest.raises(ValueError, match="no validation images"):
        train_instance_model(TINY, InstanceTrainSettings(max_steps=1, eval_every=1), LabeledBatches(scenes(1), 0), [])


def test_benchmark_command_runs_on_the_smoke_profile(tmp_path, capsys):
    from robopercept.graspseg.benchmark_instances import main

    assert main(["--profile", "smoke", "--steps", "1", "--json", str(tmp_path / "b.json")]) == 0
    import json

    r = json.loads((tmp_path / "b.json").read_text())
    assert r["mask2former"]["train_images_per_s"] > 0 and r["inpaint_ms_per_image"]["OpenCV Telea"] > 0
