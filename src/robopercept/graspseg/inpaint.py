"""§III-B.3: inpainting the boundaries of pasted objects.

    "we take the visible boundary of the objects that are pasted and dilate the boundary by 5 pixels on
    all sides to cover the region on the object boundary. We use this mask as the in-paint mask input to
    a pre-trained Stable Diffusion in-painting model and run the denoising process for 4 steps on the
    masked region."

Three inpainters share one call, ``inpainter(image, mask, seed) -> image`` (uint8 RGB; pixels outside
the mask are returned unchanged — the diffusion models' outputs are composited back, as an inpainting
mask means "change only these pixels"):

* :class:`StableDiffusionInpainter` — the paper's: a Stable Diffusion inpainting pipeline loaded with
  diffusers **from a local folder** (``local_files_only``; nothing is downloaded), empty prompt, 4
  denoising steps. No such weights can be fetched on this project's machines; the loading code is
  tested with a tiny pipeline the test builds, and runs as-is where weights exist.
* :class:`BoundaryInpainter` — the default without downloads: a small diffusers ``UNet2DModel``
  conditioned on the masked image and the mask (7 input channels: noisy image, masked image, mask),
  trained by :func:`train_boundary_inpainter` to fill dilated object-boundary bands of simulated bins
  (the pixels it must invent at test time are the same kind), sampled with a ``DDIMScheduler`` for the
  paper's 4 steps. It predicts the *velocity* ``v = √ᾱ·ε − √(1−ᾱ)·x0`` (``prediction_type="v_prediction"``),
  not the noise: with 4 steps the first one starts from pure noise (ᾱ ≈ 4e-5), where an ε-prediction's
  error is magnified by 1/√ᾱ ≈ 160 into the x0 estimate and clipped to saturated blotches (session 6's
  ε-trained model showed them in Fig. 3 and lost to OpenCV on real boundaries); at high noise v is ≈ −x0,
  so the first step is a direct estimate of the image.
* :class:`OpenCVInpainter` — ``cv2.inpaint`` (Telea), a reference the paper does not have: is
  diffusion worth it here?

The dilation: 5 pixels at 640x960, scaled with the image width (:func:`inpaint_radius`).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from . import paper
from .paste import visible_boundary

PAPER_DILATION_PX = 5  # §III-B.3, at paper.IMAGE_HW
PAPER_STEPS = 4  # §III-B.3: "run the denoising process for 4 steps"


def inpaint_radius(width: int) -> int:
    """The paper's 5-pixel dilation scaled to an image ``width`` (at least 1 pixel)."""
    return max(1, int(round(PAPER_DILATION_PX * width / paper.IMAGE_HW[1])))


def inpaint_mask(boundary: np.ndarray, radius: int) -> np.ndarray:
    """The visible boundary dilated by ``radius`` pixels on all sides (a disc structuring element)."""
    if radius < 0:
        raise ValueError(f"inpaint radius must be >= 0, got {radius}")
    if radius == 0:
        return boundary.astype(bool).copy()
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(boundary.astype(np.uint8), k) > 0


def _check(image: np.ndarray, mask: np.ndarray) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"inpaint: image must be (H, W, 3) uint8, got {image.shape} {image.dtype}")
    if mask.shape != image.shape[:2]:
        raise ValueError(f"inpaint: mask {mask.shape} does not match image {image.shape[:2]}")


def composite(original: np.ndarray, filled: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = original.copy()
    out[mask] = filled[mask]
    return out


@dataclasses.dataclass(frozen=True)
class OpenCVInpainter:
    radius: int = 3
    method: str = "telea"  # or "ns" (Navier-Stokes)

    name = "OpenCV (Telea)"

    def __call__(self, image: np.ndarray, mask: np.ndarray, seed: int = 0) -> np.ndarray:
        _check(image, mask)
        flag = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}[self.method]
        return cv2.inpaint(image, mask.astype(np.uint8), self.radius, flag)


class StableDiffusionInpainter:
    """A local Stable Diffusion inpainting pipeline (diffusers folder layout, ``model_index.json``).

    Stable Diffusion is trained at one resolution (SD-2 inpainting: 512 pixels, its UNet's ``sample_size`` times the
    VAE's factor 8) and degrades far from it; our frames are much smaller than the paper's 640x960. So a frame whose
    short side is below ``short_side`` (default: the pipeline's native size) is scaled up to it, inpainted there and
    scaled back; a larger frame (the paper profile's) is inpainted at its own size. Only the masked pixels of the
    original frame are replaced (:func:`composite`).
    """

    name = "Stable Diffusion inpainting"

    def __init__(self, pipeline, steps: int = PAPER_STEPS, prompt: str = "", guidance_scale: float = 1.0,
                 short_side: int | None = None):
        self.pipe, self.steps, self.prompt, self.guidance_scale = pipeline, steps, prompt, guidance_scale
        self.short_side = short_side or self.native_size(pipeline)

    @staticmethod
    def native_size(pipeline) -> int:
        """The pipeline's training resolution: UNet sample size x VAE scale factor (512 for SD-2 inpainting)."""
        unet_size = getattr(getattr(pipeline, "unet", None), "config", None)
        unet_size = getattr(unet_size, "sample_size", None) or 64
        factor = getattr(pipeline, "vae_scale_factor", None) or 8
        return int(unet_size * factor)

    @classmethod
    def from_local(cls, path: str | Path, **kwargs) -> "StableDiffusionInpainter":
        from diffusers import StableDiffusionInpaintPipeline

        path = Path(path)
        index = path / "model_index.json"
        if not index.exists():
            raise FileNotFoundError(f"{path} is not a diffusers pipeline folder (no model_index.json); "
                                    "download e.g. an SD-2 inpainting model elsewhere and copy the folder here")
        cls_name = json.loads(index.read_text()).get("_class_name", "")
        if "Inpaint" not in cls_name:
            raise ValueError(f"{index} describes a {cls_name or 'unknown'} pipeline, not an inpainting one")
        pipe = StableDiffusionInpaintPipeline.from_pretrained(str(path), local_files_only=True,
                                                              safety_checker=None, requires_safety_checker=False)
        pipe.set_progress_bar_config(disable=True)
        return cls(pipe, **kwargs)

    def __call__(self, image: np.ndarray, mask: np.ndarray, seed: int = 0) -> np.ndarray:
        import torch
        from PIL import Image

        _check(image, mask)
        h, w = image.shape[:2]
        scale = max(1.0, self.short_side / min(h, w))  # up only: a frame larger than native stays at its size
        sh, sw = max(8, round(h * scale)), max(8, round(w * scale))  # the frame at the pipeline's native size
        big = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_CUBIC) if (sh, sw) != (h, w) else image
        big_mask = cv2.resize(mask.astype(np.uint8), (sw, sh), interpolation=cv2.INTER_NEAREST) > 0
        ph, pw = (sh + 7) // 8 * 8, (sw + 7) // 8 * 8  # the VAE needs multiples of 8
        img = cv2.copyMakeBorder(big, 0, ph - sh, 0, pw - sw, cv2.BORDER_REFLECT)
        msk = np.pad(big_mask, ((0, ph - sh), (0, pw - sw)))
        out = self.pipe(prompt=self.prompt, image=Image.fromarray(img), mask_image=Image.fromarray(msk.astype(np.uint8) * 255),
                        height=ph, width=pw, num_inference_steps=self.steps, guidance_scale=self.guidance_scale,
                        generator=torch.Generator().manual_seed(seed), output_type="np").images[0]
        filled = np.clip(np.round(out[:sh, :sw] * 255), 0, 255).astype(np.uint8)
        if (sh, sw) != (h, w):
            filled = cv2.resize(filled, (w, h), interpolation=cv2.INTER_AREA)
        return composite(image, filled, mask)


# ---------------------------------------------------------------------------------------------------
# The default: a small conditional diffusion model trained here
# ---------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class BoundaryInpaintSettings:
    channels: tuple[int, ...] = (32, 64, 64)  # UNet widths per level (no attention: any image size works)
    layers_per_block: int = 1
    patch: int = 64  # training patches (pixels), centred on object boundaries
    steps: int = 1500
    batch_size: int = 16
    lr: float = 2e-4
    train_timesteps: int = 1000
    prediction_type: str = "v_prediction"  # or "epsilon" (the DDPM default) / "sample"
    sample_steps: int = PAPER_STEPS
    seed: int = 0


def build_unet(s: BoundaryInpaintSettings):
    from diffusers import UNet2DModel

    n = len(s.channels)
    return UNet2DModel(in_channels=7, out_channels=3, block_out_channels=tuple(s.channels),
                       down_block_types=("DownBlock2D",) * n, up_block_types=("UpBlock2D",) * n,
                       layers_per_block=s.layers_per_block, norm_num_groups=min(8, min(s.channels)),
                       add_attention=False)


def boundary_patches(images: Sequence[np.ndarray], instance_masks: Sequence[np.ndarray], radius: int, patch: int,
                     n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` training patches (images (n, p, p, 3) uint8, masks (n, p, p) bool): a random image, a random
    instance, a patch centred on a random pixel of its visible boundary, and as mask the dilated boundary
    band of every instance inside the patch — the kind of region the inpainter fills after pasting."""
    if not images:
        raise ValueError("boundary_patches: no images")
    h, w = images[0].shape[:2]
    if patch > min(h, w):
        raise ValueError(f"boundary_patches: patch {patch} larger than the images ({h}x{w})")
    bands = []
    for masks in instance_masks:
        b = np.zeros((h, w), bool)
        for m in masks:
            b |= visible_boundary(m)
        bands.append(inpaint_mask(b, radius))
    out_img = np.zeros((n, patch, patch, 3), np.uint8)
    out_msk = np.zeros((n, patch, patch), bool)
    for i in range(n):
        k = int(rng.integers(len(images)))
        ys, xs = np.nonzero(bands[k])
        if ys.size == 0:
            cy, cx = h // 2, w // 2
        else:
            j = int(rng.integers(ys.size))
            cy, cx = int(ys[j]), int(xs[j])
        y0 = int(np.clip(cy - patch // 2, 0, h - patch))
        x0 = int(np.clip(cx - patch // 2, 0, w - patch))
        out_img[i] = images[k][y0:y0 + patch, x0:x0 + patch]
        out_msk[i] = bands[k][y0:y0 + patch, x0:x0 + patch]
    return out_img, out_msk


def _to_tensor(images: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def masked_diffusion_loss(unet, sched, x0, m, noise, t):
    """The inpainter's training loss for one batch: noise the clean patches ``x0`` (B×3×P×P in [−1, 1]) to
    timesteps ``t`` with ``noise``, let the UNet see the noisy image, the masked clean image and the mask ``m``
    (B×1×P×P, 1 = pixels to fill), and score its prediction against the scheduler's ``prediction_type``
    target (ε, x0 or v = √ᾱ·ε − √(1−ᾱ)·x0) by the mean squared error over the masked pixels and 3 channels only
    (outside the mask the output is discarded at test time). Shared by the training loop and the device
    benchmark so that both time the same computation."""
    import torch
    import torch.nn.functional as F

    xt = sched.add_noise(x0, noise, t)
    pred = unet(torch.cat([xt, x0 * (1 - m), m], 1), t).sample
    kind = sched.config.prediction_type
    target = {"epsilon": noise, "sample": x0}.get(kind)
    if target is None:
        if kind != "v_prediction":
            raise ValueError(f"masked_diffusion_loss: unknown prediction_type {kind!r} "
                             "(expected 'epsilon', 'sample' or 'v_prediction')")
        target = sched.get_velocity(x0, noise, t)
    return (F.mse_loss(pred, target, reduction="none") * m).sum() / (m.sum() * 3).clamp(min=1)


def train_boundary_inpainter(images: Sequence[np.ndarray], instance_masks: Sequence[np.ndarray], radius: int,
                             s: BoundaryInpaintSettings, live=None):
    """Train the conditional UNet on boundary patches with :func:`masked_diffusion_loss` (the DDPM objective
    for the settings' ``prediction_type``, averaged over the masked pixels only). Returns (unet, history)."""
    import torch
    from diffusers import DDPMScheduler

    torch.manual_seed(s.seed)
    rng = np.random.default_rng(s.seed)
    unet = build_unet(s)
    sched = DDPMScheduler(num_train_timesteps=s.train_timesteps, prediction_type=s.prediction_type)
    opt = torch.optim.AdamW(unet.parameters(), lr=s.lr)
    gen = torch.Generator().manual_seed(s.seed)
    history = []
    unet.train()
    for step in range(1, s.steps + 1):
        imgs, msks = boundary_patches(images, instance_masks, radius, s.patch, s.batch_size, rng)
        x0 = _to_tensor(imgs)
        m = torch.from_numpy(msks)[:, None].float()
        noise = torch.randn(x0.shape, generator=gen)
        t = torch.randint(0, s.train_timesteps, (x0.shape[0],), generator=gen)
        loss = masked_diffusion_loss(unet, sched, x0, m, noise, t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        rec = {"step": step, "loss": float(loss.detach())}
        history.append(rec)
        if live is not None:
            live.log_metric("inpaint/loss", rec["loss"])
            live.next_step()
    unet.eval()
    return unet, history


class BoundaryInpainter:
    """Our trained conditional UNet, sampled with DDIM for ``steps`` steps (deterministic under ``seed``)."""

    def __init__(self, unet, steps: int = PAPER_STEPS, train_timesteps: int = 1000,
                 prediction_type: str = "v_prediction"):
        from diffusers import DDIMScheduler

        self.unet, self.steps = unet, steps
        # "trailing" spacing starts sampling at the last training timestep (pure noise), as inpainting from
        # noise needs; the default "leading" spacing would start at 3/4 of the schedule with 4 steps
        self.sched = DDIMScheduler(num_train_timesteps=train_timesteps, timestep_spacing="trailing",
                                   prediction_type=prediction_type)

    @property
    def name(self) -> str:
        return f"diffusion (ours, {self.steps} steps)"

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        self.unet.save_pretrained(str(folder / "unet"))
        self.sched.save_pretrained(str(folder / "scheduler"))
        (folder / "inpainter.json").write_text(json.dumps({"steps": self.steps}) + "\n")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "BoundaryInpainter":
        from diffusers import UNet2DModel

        folder = Path(folder)
        meta = folder / "inpainter.json"
        if not meta.exists():
            raise FileNotFoundError(f"{folder} holds no trained inpainter (no inpainter.json; stage graspseg_crops "
                                    "trains it, with the parameters of graspseg_inpaint)")
        unet = UNet2DModel.from_pretrained(str(folder / "unet"), local_files_only=True).eval()
        from ..common.records import read_json

        steps = read_json(meta, stage="graspseg_crops", kind="inpainter record", required=("steps",))["steps"]
        sched = read_json(folder / "scheduler" / "scheduler_config.json", stage="graspseg_crops",
                          kind="inpainter scheduler config", required=("num_train_timesteps",))
        return cls(unet, steps, sched["num_train_timesteps"], sched.get("prediction_type", "epsilon"))

    def __call__(self, image: np.ndarray, mask: np.ndarray, seed: int = 0) -> np.ndarray:
        import torch

        _check(image, mask)
        if not mask.any():
            return image.copy()
        h, w = image.shape[:2]
        f = 2 ** (len(self.unet.config.block_out_channels) - 1)
        ph, pw = (h + f - 1) // f * f, (w + f - 1) // f * f
        img = cv2.copyMakeBorder(image, 0, ph - h, 0, pw - w, cv2.BORDER_REFLECT)
        msk = np.pad(mask, ((0, ph - h), (0, pw - w)))
        x0 = _to_tensor(img[None])
        m = torch.from_numpy(msk)[None, None].float()
        cond = torch.cat([x0 * (1 - m), m], 1)
        self.sched.set_timesteps(self.steps)
        x = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            for t in self.sched.timesteps:
                eps = self.unet(torch.cat([x, cond], 1), t).sample
                x = self.sched.step(eps, t, x).prev_sample
        filled = ((x[0].permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255).round().astype(np.uint8)[:h, :w]
        return composite(image, filled, mask)


def evaluate_inpainters(images: Sequence[np.ndarray], instance_masks: Sequence[np.ndarray], inpainters: dict,
                        radius: int, seed: int = 0) -> "pd.DataFrame":
    """How well each inpainter restores *real* object boundaries: on held-out images, the boundary band of
    every labeled instance (dilated by ``radius``) is erased and filled; mean absolute error (grey levels)
    and PSNR (dB) over the band's pixels, per image. A reference for "is diffusion worth it here?" — the
    paper's inpainting fills pasted boundaries, whose truth does not exist; real boundaries have one."""
    import pandas as pd

    rows = []
    for i, (img, masks) in enumerate(zip(images, instance_masks)):
        b = np.zeros(img.shape[:2], bool)
        for m in masks:
            b |= visible_boundary(m)
        band = inpaint_mask(b, radius)
        if not band.any():
            continue
        for name, inp in inpainters.items():
            out = inp(img, band, seed=seed + i)
            err = np.abs(out[band].astype(np.float64) - img[band].astype(np.float64))
            mse = float((err ** 2).mean())
            rows.append({"inpainter": name, "image": i, "band_px": int(band.sum()), "mae": float(err.mean()),
                         "psnr_db": float(10 * np.log10(255.0 ** 2 / max(mse, 1e-12)))})
    if not rows:
        raise ValueError("evaluate_inpainters: no image has a labeled boundary")
    return pd.DataFrame(rows)
