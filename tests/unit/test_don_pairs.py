"""Training and evaluation pairs from generated DON logs: correspondences, masks, non-matches, the pose filter."""

import numpy as np
import pytest

from robopercept import paths
from robopercept.don.config import DonDataConfig
from robopercept.don.pairs import evaluation_pairs, rotation_deg, training_pair
from robopercept.don.scenes import generate
from robopercept.formats.don_logs import DonLogs

CFG = DonDataConfig(height=48, width=64, trajectory_poses=60, single_train=1, multi_train=1, single_val=0, multi_val=0,
                    multi_test=1, settle_steps=60, workers=1)


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    root = generate(CFG, 2, paths.data_dir(), tmp_path_factory.mktemp("don"))
    return DonLogs(root, "robopercept_don")


def test_masked_training_pair_samples_on_the_object_with_non_matches(logs):
    scene = logs.scene("single_train_000")
    p = training_pair(scene, np.random.default_rng(0), n=50, masked_sampling=True, n_non_matches=6)
    assert p is not None and len(p.uv_a) == 50 and p.non_masked.shape == (50, 3, 2)
    assert p.non_background.shape == (50, 3, 2)
    a, b = p.frames
    assert scene.mask(a)[p.uv_a[:, 1], p.uv_a[:, 0]].all()  # masked sampling: every A pixel on the object
    assert scene.mask(b)[p.non_masked[..., 1], p.non_masked[..., 0]].all()
    assert not scene.mask(b)[p.non_background[..., 1], p.non_background[..., 0]].any()


def test_multi_object_pair_without_masks_draws_non_matches_anywhere_and_augments_a(logs):
    scene = logs.scene("multi_train_000")
    p = training_pair(scene, np.random.default_rng(1), n=40, augmentations=("affine", "color_jitter"),
                      n_non_matches=4)
    assert p.non_masked is None and p.non_background.shape[1:] == (4, 2)
    assert len(p.uv_a) == len(p.uv_b) <= 40
    h, w = p.image_a.shape[-2:]
    assert (p.uv_a[:, 0] < w).all() and (p.uv_a[:, 1] < h).all()


def test_evaluation_pairs_respect_the_pose_filter_and_query_on_the_object(logs):
    pairs = evaluation_pairs(logs, ["multi_test_000"], pairs_per_object=2, queries=20, min_translation_m=0.1,
                             min_angle_deg=10, seed=0)
    scene = logs.scene("multi_test_000")
    assert pairs and all(len(p["uv_a"]) <= 20 for p in pairs)
    for p in pairs:
        Ta, Tb = scene.pose(p["a"]), scene.pose(p["b"])
        assert np.linalg.norm(Ta[:3, 3] - Tb[:3, 3]) >= 0.1 and rotation_deg(Ta, Tb) >= 10
        inst = scene.instances(p["a"])
        obj = {v: k for k, v in scene.objects.items()}[p["object"]]
        assert (inst[p["uv_a"][:, 1], p["uv_a"][:, 0]] == obj).all()
    again = evaluation_pairs(logs, ["multi_test_000"], pairs_per_object=2, queries=20, min_translation_m=0.1,
                             min_angle_deg=10, seed=0)
    assert all(np.array_equal(x["uv_b"], y["uv_b"]) for x, y in zip(pairs, again))


@pytest.mark.parametrize("loss", ["ntxent", "pixelwise", "pixelwise_cross_object"])
def test_two_training_steps_of_every_loss_run_validate_and_keep_a_state(logs, loss):
    import torch

    from robopercept.don.model import DenseDescriptorNet
    from robopercept.don.train import TrainSettings, train

    torch.manual_seed(0)
    model = DenseDescriptorNet(8, "resnet18")
    val = evaluation_pairs(logs, ["multi_test_000"], pairs_per_object=1, queries=10, min_translation_m=0.1,
                           min_angle_deg=10, seed=0)
    s = TrainSettings(loss=loss, steps=2, batch_size=1, correspondences=64, non_matches=4, validate_every=1,
                      masked_sampling=loss != "ntxent", lr=1e-3)
    scenes = ["single_train_000"] if loss != "ntxent" else ["multi_train_000"]
    hist, state = train(model, logs, scenes, s, val, other_scenes=["single_train_000"])
    assert len(hist) == 2 and all(np.isfinite(h["loss"]) for h in hist) and 0 <= hist[-1]["val_pck80"] <= 1
    assert set(state) == set(model.state_dict())
    with pytest.raises(ValueError, match="unknown DON loss"):
        TrainSettings(loss="triplet")


def test_unique_pairs_repeat_no_pixel_of_a_or_b_even_after_augmentation(logs):
    from robopercept.don.augment import AUGMENTATIONS

    scene = logs.scene(logs.scenes("train", "multi")[0])
    for seed in range(3):
        p = training_pair(scene, np.random.default_rng(seed), n=5000, augmentations=AUGMENTATIONS, unique=True)
        assert p is not None and len(p.uv_a) > 0
        flat = p.uv_a[:, 1] * scene.width + p.uv_a[:, 0]
        assert len(np.unique(flat)) == len(flat) <= scene.width * scene.height  # never more than the pixels
        flat_b = p.uv_b[:, 1] * scene.width + p.uv_b[:, 0]
        assert len(np.unique(flat_b)) == len(flat_b)  # two A pixels seeing one B pixel: one of them kept


def test_augmentation_comes_before_drawing_so_an_augmented_pair_keeps_its_count(logs):
    """The paper's Fig. 3: A is augmented, then correspondences are sampled — the pixels that augmentation pushes out
    of view are not drawn, so the pair still carries ``n`` correspondences."""
    scene = logs.scene(logs.scenes("train", "multi")[0])
    for seed in range(3):
        plain = training_pair(scene, np.random.default_rng(seed), n=200, unique=True)
        aug = training_pair(scene, np.random.default_rng(seed), n=200, augmentations=("affine", "perspective"),
                            unique=True)
        assert len(plain.uv_a) == len(aug.uv_a) == 200


def test_test_pairs_must_show_every_known_object_or_the_draw_names_the_missing_ones(logs, monkeypatch):
    """The check runs when the pairs are drawn, before any model is scored (not after the whole evaluation)."""
    import robopercept.don.pairs as pairs_module
    from robopercept.don.config import DonEvalConfig
    from robopercept.don.evaluate import draw_test_pairs
    from robopercept.don.sweep import splits

    known = sorted({o for names in splits(logs).values() for s in names for o in logs.scene(s).objects.values()})
    cfg = DonEvalConfig(pairs_per_object=2, queries=10, min_translation_m=0.0, min_angle_deg=0.0)
    monkeypatch.setattr(pairs_module, "evaluation_pairs",
                        lambda *a, **k: [{"object": o} for o in known])  # every known object shown: accepted
    assert len(draw_test_pairs(logs, cfg, 0)) == len(known)
    monkeypatch.setattr(pairs_module, "evaluation_pairs",
                        lambda *a, **k: [{"object": o} for o in known[1:]])
    with pytest.raises(ValueError, match=rf"known objects \['{known[0]}'\].*don_data.multi_test"):
        draw_test_pairs(logs, cfg, 0)
