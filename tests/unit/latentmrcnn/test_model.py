"""Latent-MaskRCNN on torchvision's Mask R-CNN: it carries its Mask R-CNN's weights and z enters from the start, the KL is the analytic one, training
returns every loss with gradients into encoder and prior, sampling batches k latents over one backbone pass."""

import pytest
import torch

from robopercept.latentmrcnn.model import (LatentMaskRCNN, ModelSettings, build_maskrcnn, gaussian_kl,
                                           load_backbone)

S = ModelSettings(backbone="resnet18", min_size=64, max_size=96, z_dim=8, encoder_roi=8, encoder_width=8,
                  encoder_hidden=16, encoder_layers=1, prior_width=8, box_score_thresh=0.0)


def images(n=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(3, 64, 96, generator=g) for _ in range(n)]


def target(boxes):
    masks = torch.zeros(len(boxes), 64, 96, dtype=torch.uint8)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        masks[i, y0:y1, x0:x1] = 1
    return {"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            "labels": torch.ones(len(boxes), dtype=torch.int64), "masks": masks}


def test_gaussian_kl_equals_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mq, lq, mp, lp = (torch.randn(3, 5, generator=g) for _ in range(4))
    q = torch.distributions.Normal(mq, (0.5 * lq).exp())
    p = torch.distributions.Normal(mp, (0.5 * lp).exp())
    ref = torch.distributions.kl_divergence(q, p).sum(-1)
    assert torch.allclose(gaussian_kl(mq, lq, mp, lp), ref, atol=1e-5)
    assert torch.allclose(gaussian_kl(mq, lq, mq, lq), torch.zeros(3), atol=1e-6)


def test_latent_model_carries_its_mask_rcnn_and_z_enters_from_the_start():
    """The authors' init (PyTorch's default for the injection's 1x1 convs): the Mask R-CNN's weights load unchanged,
    and a different z changes the prediction before any training (with session 20's identity/zero start it did not)."""
    from robopercept.latentmrcnn.latent_probe import identity_injection, z_weight_ratio

    torch.manual_seed(0)
    latent = LatentMaskRCNN(S).eval()
    base = build_maskrcnn(S).eval()
    missing, unexpected = base.load_state_dict(latent.state_dict(), strict=False)
    assert not missing and all(k.startswith(("prior.", "encoder.", "inject.")) for k in unexpected)
    assert z_weight_ratio(latent) > 0.05
    x = images()
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(2, S.z_dim, generator=g), torch.randn(2, S.z_dim, generator=g)
    with torch.no_grad():
        f = latent.backbone(torch.stack(x))
        f1, f2 = latent.inject(f, z1), latent.inject(f, z2)
        for level in latent.levels:
            assert (f1[level] - f2[level]).abs().amax() > 1e-3, level  # z moves every FPN map the heads read
        identity_injection(latent)  # the old start: exactly the Mask R-CNN, whatever z
        assert z_weight_ratio(latent) == 0
        a, b, c = latent(x), base(x), latent(x, z=z1)
    assert all(len(d["boxes"]) for d in a)  # box_score_thresh 0: the comparison below compares detections
    for da, db, dc in zip(a, b, c):
        assert torch.allclose(da["boxes"], db["boxes"], atol=1e-4) and torch.allclose(da["scores"], db["scores"])
        assert torch.allclose(da["boxes"], dc["boxes"], atol=1e-4)


def test_training_losses_and_gradients_reach_encoder_prior_and_injection():
    torch.manual_seed(0)
    model = LatentMaskRCNN(S).train()  # the authors' init: z already enters the injection with random weights
    t = [target([(5, 5, 30, 30), (40, 10, 70, 40)]), target([])]  # the second image has no instance
    losses = model(images(), t)
    assert {"loss_classifier", "loss_box_reg", "loss_mask", "loss_objectness", "loss_rpn_box_reg", "loss_kl",
            "loss_kl_prior"} <= set(losses)
    assert all(torch.isfinite(v) for v in losses.values())
    total = sum(losses.values())
    total.backward()
    for part in ("encoder", "prior", "inject"):
        grads = [p.grad for n, p in model.named_parameters() if n.startswith(part + ".")]
        assert any(g is not None and g.abs().sum() > 0 for g in grads), part
    with pytest.raises(ValueError, match="needs targets"):
        model(images())


def test_the_kl_is_split_into_a_posterior_side_and_a_prior_side():
    # loss_kl trains the posterior (prior held fixed), loss_kl_prior the prior (posterior and features held fixed):
    # the same value, and together the gradients of the one KL on encoder and prior parameters
    torch.manual_seed(0)
    model = LatentMaskRCNN(S).train()
    t = [target([(5, 5, 30, 30), (40, 10, 70, 40)]), target([(10, 10, 50, 40)])]
    losses = model(images(), t)
    assert float(losses["loss_kl"].detach()) == pytest.approx(float(losses["loss_kl_prior"].detach()), rel=1e-5)
    assert set(model.last_stats) == {"logvar_p", "logvar_q"}

    def reached(loss):
        model.zero_grad()
        loss.backward(retain_graph=True)
        return {part for part in ("encoder", "prior", "backbone") if any(
            p.grad is not None and p.grad.abs().sum() > 0 for n, p in model.named_parameters() if n.startswith(part + "."))}

    assert reached(losses["loss_kl"]) == {"encoder", "backbone"}  # q and the features it reads; not the prior
    assert reached(losses["loss_kl_prior"]) == {"prior"}


def test_a_batch_of_images_of_different_sizes_trains():
    torch.manual_seed(0)
    model = LatentMaskRCNN(S).train()
    small = target([(5, 5, 30, 30)])
    big = {"boxes": torch.tensor([[10.0, 10.0, 60.0, 50.0]]), "labels": torch.ones(1, dtype=torch.int64),
           "masks": torch.zeros(1, 80, 80, dtype=torch.uint8)}  # resized to 64 x 64, the other stays 64 x 96
    big["masks"][0, 10:50, 10:60] = 1
    g = torch.Generator().manual_seed(1)
    losses = model([torch.rand(3, 64, 96, generator=g), torch.rand(3, 80, 80, generator=g)], [small, big])
    assert all(torch.isfinite(v) for v in losses.values())


def test_sampling_batches_k_latents_and_is_repeatable():
    torch.manual_seed(0)
    model = LatentMaskRCNN(S).eval()
    with torch.no_grad():
        for conv in model.inject.proj.values():
            conv.weight[:, -S.z_dim:].normal_(0, 0.5)
    x = images()
    out = model.sample(x, k=3, generator=torch.Generator().manual_seed(1))
    assert len(out) == 2 and all(len(per_image) == 3 for per_image in out)
    again = model.sample(x, k=3, generator=torch.Generator().manual_seed(1))
    for s in range(3):
        assert torch.equal(out[0][s]["scores"], again[0][s]["scores"])
    assert out[0][0]["masks"].shape[-2:] == (64, 96)
    # the samples differ from each other (z matters once its weights are not zero)
    assert not all(torch.equal(out[0][0]["scores"], out[0][s]["scores"]) for s in (1, 2))
    with pytest.raises(ValueError, match="k must be"):
        model.sample(x, k=0)


def test_backbone_loads_from_a_mask_rcnn_layout_checkpoint(tmp_path):
    torch.manual_seed(0)
    src = build_maskrcnn(S)
    path = tmp_path / "backbone.pt"
    torch.save({"model": {k: v for k, v in src.state_dict().items() if k.startswith("backbone.")}}, path)
    model = LatentMaskRCNN(S)
    n = load_backbone(model, path)
    assert n > 0
    assert torch.equal(model.backbone.body.conv1.weight, src.backbone.body.conv1.weight)
    torch.save({"model": {"head.w": torch.zeros(1)}}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="does not hold this model's backbone"):
        load_backbone(model, tmp_path / "other.pt")
    with pytest.raises(Exception, match="does not exist"):
        load_backbone(model, tmp_path / "missing.pt")


def test_the_detector_feeds_the_stand_in_unnormalised_images_and_coco_weights_imagenet_normalised():
    """The shared stand-in was trained on RGB in [0, 1]; with ImageNet normalisation its frozen batch-norm statistics
    saw inputs several times larger than in training, and the cpu run's first losses were ~80 and NaN by step 11
    (session 10). The normalisation follows the checkpoint and reaches torchvision's transform."""
    import dataclasses

    from robopercept.config import load_profile, validate_params
    from robopercept.latentmrcnn.model import IMAGENET_MEAN, UNNORMALISED, build_maskrcnn
    from robopercept.latentmrcnn.sweep import model_settings

    params = validate_params(load_profile("smoke"))
    cfg, data = params["latentmrcnn_train"], params["latentmrcnn_data"]
    stand_in = model_settings(dataclasses.replace(cfg, pretrained_checkpoint="stand-in"), data, 2)
    coco = model_settings(dataclasses.replace(cfg, pretrained_checkpoint="coco.pth"), data, 2)
    assert (stand_in.image_mean, stand_in.image_std) == UNNORMALISED and coco.image_mean == IMAGENET_MEAN
    t = build_maskrcnn(stand_in).transform
    assert list(t.image_mean) == [0.0, 0.0, 0.0] and list(t.image_std) == [1.0, 1.0, 1.0]


def test_profile_freezes_stem_and_res2_and_sets_the_roi_sample_size_of_both_models():
    """detectron2's FREEZE_AT = 2 (the authors' configs keep it): the stem and res2 get no gradient, res3-res5 and FPN
    do; ROI_HEADS.BATCH_SIZE_PER_IMAGE reaches torchvision's box sampler in both models, so the pair stays paired."""
    import dataclasses

    from robopercept.config import load_profile, validate_params
    from robopercept.latentmrcnn.sweep import model_settings

    params = validate_params(load_profile("cpu"))
    cfg, data = params["latentmrcnn_train"], params["latentmrcnn_data"]
    s = dataclasses.replace(model_settings(cfg, data, 2), z_dim=8, encoder_roi=8, encoder_width=8, encoder_hidden=16,
                            encoder_layers=1, prior_width=8)
    assert (s.trainable_layers, s.roi_batch_per_image) == (cfg.trainable_layers, cfg.roi_batch_per_image)
    for model in (build_maskrcnn(s), LatentMaskRCNN(s)):
        body = model.backbone.body
        frozen = [p.requires_grad for m in (body.conv1, body.layer1) for p in m.parameters()]
        trained = [p.requires_grad for m in (body.layer2, body.layer3, body.layer4) for p in m.parameters()]
        assert frozen and not any(frozen) and all(trained)
        assert model.roi_heads.fg_bg_sampler.batch_size_per_image == cfg.roi_batch_per_image
    with pytest.raises(ValueError, match="trainable_layers"):
        ModelSettings(trainable_layers=6)
    with pytest.raises(ValueError, match="roi_batch_per_image"):
        ModelSettings(roi_batch_per_image=0)


def test_mask_head_width_and_test_proposals_reach_both_models_and_default_to_torchvisions():
    """The cpu profile narrows the mask head and keeps fewer RPN proposals at test time (both run once per sample);
    the defaults are torchvision's model, parameter for parameter, and a narrowed model keeps its checkpoint keys."""
    import dataclasses

    from torchvision.models.detection import maskrcnn_resnet50_fpn

    small = dict(z_dim=8, encoder_roi=8, encoder_width=8, encoder_hidden=16, encoder_layers=1, prior_width=8)
    default = build_maskrcnn(ModelSettings(**small))
    reference = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=2)
    assert [(k, v.shape) for k, v in default.roi_heads.state_dict().items()] == \
        [(k, v.shape) for k, v in reference.roi_heads.state_dict().items()]
    assert default.rpn.post_nms_top_n() == 2000 and default.rpn._post_nms_top_n["testing"] == 1000
    narrow = ModelSettings(**small, mask_head_width=16, rpn_test_proposals=300)
    for model in (build_maskrcnn(narrow), LatentMaskRCNN(narrow)):
        head = model.roi_heads
        assert head.mask_head[0][0].out_channels == 16 and head.mask_predictor.conv5_mask.in_channels == 16
        assert head.mask_predictor.mask_fcn_logits.out_channels == 2 and model.rpn._post_nms_top_n["testing"] == 300
        assert {k for k in head.state_dict() if "mask" in k} == {k for k in default.roi_heads.state_dict() if "mask" in k}
        model.eval()
        with torch.no_grad():
            det = model([torch.rand(3, 64, 96)])[0]
        assert det["masks"].shape[1:] == (1, 64, 96)
    for bad in ("mask_head_width", "rpn_test_proposals"):
        with pytest.raises(ValueError, match=bad):
            dataclasses.replace(narrow, **{bad: 0})
