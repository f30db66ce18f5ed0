"""§III-B.3 inpainting: the mask, the three inpainters, and loading a Stable Diffusion pipeline from disk."""

import json

import numpy as np
import pytest

from robopercept.graspseg.inpaint import (BoundaryInpainter, BoundaryInpaintSettings, OpenCVInpainter,
                                          StableDiffusionInpainter, boundary_patches, inpaint_mask,
                                          inpaint_radius, masked_diffusion_loss, train_boundary_inpainter)
from robopercept.graspseg.paste import visible_boundary

H, W = 40, 56


def disc(y, x, r, shape=(H, W)):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (yy - y) ** 2 + (xx - x) ** 2 <= r * r


def scene(seed=0):
    rng = np.random.default_rng(seed)
    img = rng.integers(40, 80, (H, W, 3), dtype=np.uint8)
    masks = np.stack([disc(15, 15, 8), disc(25, 38, 10)])
    img[masks[0]] = (220, 30, 30)
    img[masks[1]] = (30, 30, 220)
    return img, masks


def test_radius_scales_with_width_and_mask_covers_the_boundary_band():
    assert inpaint_radius(960) == 5 and inpaint_radius(240) == 1 and inpaint_radius(100) == 1
    assert inpaint_radius(1920) == 10
    m = disc(20, 28, 10)
    b = visible_boundary(m)
    band = inpaint_mask(b, 2)
    assert (band >= b).all()
    # every band pixel is within 2 px of the boundary, and the band reaches 2 px to both sides
    assert band[20, 28 + 10 + 2] and band[20, 28 + 10 - 2] and not band[20, 28] and not band[20, 28 + 10 + 4]
    with pytest.raises(ValueError, match="radius"):
        inpaint_mask(b, -1)


def test_opencv_inpainter_changes_only_masked_pixels():
    img, masks = scene()
    mask = inpaint_mask(visible_boundary(masks[0]), 1)
    out = OpenCVInpainter()(img, mask)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.array_equal(out[~mask], img[~mask])
    with pytest.raises(ValueError, match="does not match"):
        OpenCVInpainter()(img, mask[:-1])


@pytest.fixture(scope="module")
def tiny_inpainter():
    img, masks = scene()
    s = BoundaryInpaintSettings(channels=(8, 16), patch=16, steps=3, batch_size=4, train_timesteps=100)
    unet, hist = train_boundary_inpainter([img], [masks], 1, s)
    return BoundaryInpainter(unet, steps=4, train_timesteps=100), hist


def test_boundary_inpainter_trains_samples_and_round_trips(tiny_inpainter, tmp_path):
    inp, hist = tiny_inpainter
    assert [h["step"] for h in hist] == [1, 2, 3] and all(np.isfinite(h["loss"]) for h in hist)
    img, masks = scene(1)
    mask = inpaint_mask(visible_boundary(masks[1]), 1)
    a = inp(img, mask, seed=3)
    assert a.shape == img.shape and np.array_equal(a[~mask], img[~mask])
    assert np.array_equal(a, inp(img, mask, seed=3))  # deterministic under the seed
    assert not np.array_equal(a[mask], img[mask])  # the masked pixels were generated
    inp.save(tmp_path / "m")
    back = BoundaryInpainter.load(tmp_path / "m")
    assert back.sched.config.prediction_type == inp.sched.config.prediction_type == "v_prediction"
    assert back.steps == 4 and np.array_equal(back(img, mask, seed=3), a)
    assert back.name == "diffusion (ours, 4 steps)"  # the table row names the steps it was sampled with
    assert BoundaryInpainter(inp.unet, steps=2, train_timesteps=100).name == "diffusion (ours, 2 steps)"
    assert np.array_equal(inp(img, np.zeros((H, W), bool)), img)
    with pytest.raises(FileNotFoundError, match="graspseg_crops"):
        BoundaryInpainter.load(tmp_path / "nothing")


def test_boundary_patches_centre_on_object_boundaries():
    img, masks = scene()
    rng = np.random.default_rng(0)
    p_img, p_msk = boundary_patches([img], [masks], 1, 16, 10, rng)
    assert p_img.shape == (10, 16, 16, 3) and p_msk.shape == (10, 16, 16)
    assert all(m.any() for m in p_msk)  # every patch holds part of a boundary band
    with pytest.raises(ValueError, match="larger than"):
        boundary_patches([img], [masks], 1, 64, 1, rng)


def _tiny_sd_pipeline(folder):
    """A randomly initialised Stable Diffusion inpainting pipeline in diffusers' folder layout."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionInpaintPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(block_out_channels=(16, 32), layers_per_block=1, sample_size=16, in_channels=9,
                                out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=16,
                                norm_num_groups=8, attention_head_dim=4)
    vae = AutoencoderKL(block_out_channels=(16, 32), in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                        norm_num_groups=8)
    tok_dir = folder.parent / "tok"
    tok_dir.mkdir()
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1, "a</w>": 2, "b</w>": 3, "a": 4, "b": 5}
    (tok_dir / "vocab.json").write_text(json.dumps(vocab))
    (tok_dir / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(tok_dir / "vocab.json"), str(tok_dir / "merges.txt"), model_max_length=8)
    text = CLIPTextModel(CLIPTextConfig(vocab_size=len(vocab), hidden_size=16, intermediate_size=32,
                                        num_attention_heads=2, num_hidden_layers=1, max_position_embeddings=8,
                                        projection_dim=16, bos_token_id=0, eos_token_id=1, pad_token_id=1))
    pipe = StableDiffusionInpaintPipeline(vae=vae, text_encoder=text, tokenizer=tokenizer, unet=unet,
                                          scheduler=DDIMScheduler(num_train_timesteps=100, steps_offset=1), safety_checker=None,
                                          feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(str(folder))
    return folder


def test_stable_diffusion_pipeline_loads_from_a_local_folder(tmp_path):
    folder = _tiny_sd_pipeline(tmp_path / "sd")
    inp = StableDiffusionInpainter.from_local(folder)
    assert inp.steps == 4
    img, masks = scene()
    mask = inpaint_mask(visible_boundary(masks[0]), 1)
    out = inp(img, mask, seed=0)
    assert out.shape == img.shape and np.array_equal(out[~mask], img[~mask])
    assert np.array_equal(out, inp(img, mask, seed=0))
    with pytest.raises(FileNotFoundError, match="model_index.json"):
        StableDiffusionInpainter.from_local(tmp_path / "missing")
    idx = json.loads((folder / "model_index.json").read_text())
    idx["_class_name"] = "StableDiffusionPipeline"
    (folder / "model_index.json").write_text(json.dumps(idx))
    with pytest.raises(ValueError, match="not an inpainting"):
        StableDiffusionInpainter.from_local(folder)


def test_stable_diffusion_runs_at_the_pipelines_native_size(tmp_path):
    """Frames are scaled up to the pipeline's resolution (short side), inpainted there and scaled back; pixels
    outside the mask are the original's."""
    folder = _tiny_sd_pipeline(tmp_path / "sd")
    inp = StableDiffusionInpainter.from_local(folder)
    assert inp.short_side == StableDiffusionInpainter.native_size(inp.pipe) == 16 * inp.pipe.vae_scale_factor
    seen = []
    pipe = inp.pipe

    def spy(**kw):
        seen.append((kw["height"], kw["width"], kw["image"].size, kw["mask_image"].size))
        return pipe(**kw)

    forced = StableDiffusionInpainter(spy, short_side=80)
    img, masks = scene()  # 40 x 56: scaled by 2 to 80 x 112
    mask = inpaint_mask(visible_boundary(masks[0]), 1)
    out = forced(img, mask, seed=0)
    assert seen == [(80, 112, (112, 80), (112, 80))]
    assert out.shape == img.shape and np.array_equal(out[~mask], img[~mask])
    assert not np.array_equal(out[mask], img[mask])


def test_inpainters_are_scored_on_real_boundaries(tiny_inpainter):
    from robopercept.graspseg.inpaint import evaluate_inpainters

    class Copy:  # an oracle that returns the truth: error 0
        def __call__(self, image, mask, seed=0):
            return image.copy()

    imgs = [scene(s) for s in range(3)]
    df = evaluate_inpainters([i for i, _ in imgs], [m for _, m in imgs],
                             {"truth": Copy(), "opencv": OpenCVInpainter(), "ours": tiny_inpainter[0]}, radius=1)
    assert set(df["inpainter"]) == {"truth", "opencv", "ours"} and len(df) == 9
    assert (df[df.inpainter == "truth"]["mae"] == 0).all()
    assert (df[df.inpainter == "opencv"]["mae"] > 0).all() and np.isfinite(df["psnr_db"]).all()


class _EchoUNet:
    """Returns a fixed prediction, so the loss's target and masking can be checked by hand."""

    def __init__(self, pred):
        self.pred = pred

    def __call__(self, x, t):
        assert x.shape[1] == 7  # noisy image, masked clean image, mask
        return type("Out", (), {"sample": self.pred})()


@pytest.mark.parametrize("kind", ["epsilon", "sample", "v_prediction"])
def test_masked_diffusion_loss_scores_the_right_target_on_masked_pixels_only(kind):
    import torch
    from diffusers import DDPMScheduler

    g = torch.Generator().manual_seed(0)
    x0, noise = torch.rand(2, 3, 8, 8, generator=g) * 2 - 1, torch.randn(2, 3, 8, 8, generator=g)
    m = torch.zeros(2, 1, 8, 8)
    m[:, :, 2:5, 3:6] = 1
    t = torch.tensor([10, 90])
    sched = DDPMScheduler(num_train_timesteps=100, prediction_type=kind)
    target = {"epsilon": noise, "sample": x0}.get(kind)
    if target is None:
        a = sched.alphas_cumprod[t].sqrt()[:, None, None, None]
        target = a * noise - (1 - a ** 2).sqrt() * x0
    assert float(masked_diffusion_loss(_EchoUNet(target.clone()), sched, x0, m, noise, t)) < 1e-10
    off = target.clone()
    off[m.expand_as(off) == 0] += 5.0  # errors outside the mask are not scored
    assert float(masked_diffusion_loss(_EchoUNet(off), sched, x0, m, noise, t)) < 1e-10
    off[:, :, 3, 4] += 1.0  # a unit error on 1 of the 9 masked pixels, all channels: mean 1/9
    assert float(masked_diffusion_loss(_EchoUNet(off), sched, x0, m, noise, t)) == pytest.approx(1 / 9, rel=1e-5)


def test_masked_diffusion_loss_refuses_an_unknown_prediction_type():
    import torch

    sched = type("S", (), {"config": type("C", (), {"prediction_type": "flow"})(),
                           "add_noise": staticmethod(lambda x0, n, t: x0)})()
    x = torch.zeros(1, 3, 4, 4)
    with pytest.raises(ValueError, match="unknown prediction_type 'flow'"):
        masked_diffusion_loss(_EchoUNet(x), sched, x, torch.ones(1, 1, 4, 4), x, torch.tensor([1]))


def test_each_table2_row_pastes_with_its_own_inpainter(tiny_inpainter, tmp_path):
    """No inpainting, OpenCV (our reference row), the small model of graspseg_crops, or — when
    graspseg_table2.sd_pipeline names a local folder — Stable Diffusion for Paste-Grasp-Inpaint."""
    from robopercept.graspseg.config_instances import Table2Config
    from robopercept.graspseg.inpaint import BoundaryInpainter, OpenCVInpainter
    from robopercept.graspseg.table2_train import row_inpainter

    saved = tiny_inpainter[0].save(tmp_path / "inpainter")
    cfg = Table2Config()
    assert row_inpainter("Paste-Grasp", cfg, saved) is None
    assert isinstance(row_inpainter("Paste-Grasp-OpenCVInpaint", cfg, None), OpenCVInpainter)
    assert isinstance(row_inpainter("Paste-Grasp-Inpaint", cfg, saved), BoundaryInpainter)
    with pytest.raises(ValueError, match="graspseg_crops trains it"):
        row_inpainter("Paste-Grasp-Inpaint", cfg, None)
    sd = _tiny_sd_pipeline(tmp_path / "sd")
    with_sd = Table2Config(sd_pipeline=str(sd))
    assert isinstance(row_inpainter("Paste-Grasp-Inpaint", with_sd, saved), StableDiffusionInpainter)
    assert isinstance(row_inpainter("Paste-Grasp-OpenCVInpaint", with_sd, saved), OpenCVInpainter)
