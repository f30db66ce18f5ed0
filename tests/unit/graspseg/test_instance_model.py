"""§III-B.4 Mask2Former: the backbone transfer computes what torchvision computes; loss and inference run."""

import numpy as np
import pytest
import torch
import torchvision

from robopercept.common import checkpoints
from robopercept.graspseg.instance_model import (InstanceModelSettings, build, hf_backbone, load_standin_backbone,
                                                 predict, targets, torchvision_to_hf_resnet)

TINY = InstanceModelSettings(backbone="resnet18", num_queries=6, hidden_dim=32, encoder_layers=1, decoder_layers=2,
                             dim_feedforward=64, encoder_feedforward_dim=64, num_heads=4, train_num_points=256)


@pytest.fixture(scope="module")
def model():
    return build(TINY, seed=0)


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_torchvision_weights_give_the_same_features(name):
    from transformers import ResNetBackbone

    from robopercept.graspseg.instance_model import mask2former_config

    torch.manual_seed(0)
    tv = getattr(torchvision.models, name)().eval()
    for mod in tv.modules():  # non-trivial BatchNorm statistics
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 1.5)
    hf = ResNetBackbone(mask2former_config(InstanceModelSettings(backbone=name)).backbone_config).eval()
    missing, unexpected = hf.load_state_dict(torchvision_to_hf_resnet(tv.state_dict()), strict=False)
    assert not unexpected and not [k for k in missing if not k.endswith("num_batches_tracked")]
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        feats = hf(x).feature_maps
        y = tv.maxpool(tv.relu(tv.bn1(tv.conv1(x))))
        for layer, f in zip([tv.layer1, tv.layer2, tv.layer3, tv.layer4], feats):
            y = layer(y)
            torch.testing.assert_close(f, y, rtol=1e-4, atol=1e-4)


def test_standin_checkpoint_loads_into_the_backbone(model, tmp_path):
    from torchvision.models.detection.backbone_utils import resnet_fpn_backbone

    torch.manual_seed(1)
    fpn = resnet_fpn_backbone(backbone_name="resnet18", weights=None, trainable_layers=5,
                              norm_layer=torch.nn.BatchNorm2d)  # as the stand-in
    state = {f"backbone.{k}": v for k, v in fpn.state_dict().items()}
    ckpt = checkpoints.save({"model": state}, tmp_path / "backbone.pt")
    counts = load_standin_backbone(model, ckpt)
    assert counts["loaded"] == 120
    torch.testing.assert_close(hf_backbone(model).state_dict()["embedder.embedder.convolution.weight"],
                               fpn.body.conv1.weight)
    # a resnet50 checkpoint does not fit a resnet18 model: named, not silently half-loaded
    fpn50 = resnet_fpn_backbone(backbone_name="resnet50", weights=None, trainable_layers=5)
    bad = checkpoints.save({"model": {f"backbone.{k}": v for k, v in fpn50.state_dict().items()}}, tmp_path / "b50.pt")
    with pytest.raises(ValueError, match="another pretrain.backbone"):
        load_standin_backbone(model, bad)
    none = checkpoints.save({"model": {"head.weight": torch.zeros(1)}}, tmp_path / "none.pt")
    with pytest.raises(ValueError, match="no backbone.body"):
        load_standin_backbone(model, none)


def test_loss_trains_and_predict_returns_scored_masks(model):
    torch.manual_seed(0)
    imgs = torch.rand(2, 3, 64, 96)
    m = np.zeros((2, 64, 96), bool)
    m[0, 10:30, 10:40] = True
    m[1, 35:60, 50:90] = True
    mask_labels, class_labels = targets([m, m[:1]])
    model.train()
    out = model(pixel_values=imgs, mask_labels=mask_labels, class_labels=class_labels)
    assert torch.isfinite(out.loss)
    out.loss.backward()
    assert hf_backbone(model).embedder.embedder.convolution.weight.grad is not None
    preds = predict(model, imgs, max_instances=4)
    assert len(preds) == 2
    for p in preds:
        assert p.masks.shape[1:] == (64, 96) and p.masks.dtype == bool and len(p.masks) <= 4
        assert (np.diff(p.scores) <= 0).all() and ((p.scores >= 0) & (p.scores <= 1)).all()
        assert all(mk.any() for mk in p.masks)


def test_settings_are_checked():
    with pytest.raises(ValueError, match="unknown backbone"):
        InstanceModelSettings(backbone="vit")
    with pytest.raises(ValueError, match="multiple of num_heads"):
        InstanceModelSettings(hidden_dim=64, num_heads=3)
    with pytest.raises(ValueError, match="multiple of 32"):
        InstanceModelSettings(hidden_dim=48, num_heads=4)
