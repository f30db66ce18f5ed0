"""§III-A augmentations with torchvision's ``transforms.v2``, applied to image A only, with A's correspondence pixels
transformed by the same random draw (torchvision's ``KeyPoints``), so a match still points at the same surface point.

    "we focus on a broader set of common augmentations: resize and crop, perspective and affine distortions,
    horizontal and vertical flips, rotations, blur, color jitter, and [greyscale ...] In practice, however, we found
    that applying the transformations to only one of the images to perform better." (§III-A)

Each augmentation of ``names`` is applied with probability ``p`` (the paper: "we randomly sample a subset of
augmentations"); the order is the list's. Pixel ``(u, v)`` is the continuous point ``(u + 0.5, v + 0.5)`` through
the warps and is rounded back after them; a correspondence whose pixel leaves the image is dropped
(``valid`` is False). Draws come from torch's generator seeded per call, so a sample is reproducible.
"""

from __future__ import annotations

import numpy as np
import torch

AUGMENTATIONS = ("resize_crop", "perspective", "affine", "hflip", "vflip", "rotation", "blur", "color_jitter",
                 "grayscale")
GEOMETRIC = AUGMENTATIONS[:6]


def _transform(name: str, size: tuple[int, int]):
    from torchvision.transforms import v2

    table = {
        "resize_crop": lambda: v2.RandomResizedCrop(size, scale=(0.5, 1.0), antialias=True),
        "perspective": lambda: v2.RandomPerspective(distortion_scale=0.3, p=1.0),
        "affine": lambda: v2.RandomAffine(degrees=15, translate=(0.1, 0.1), scale=(0.85, 1.15), shear=8),
        "hflip": lambda: v2.RandomHorizontalFlip(p=1.0),
        "vflip": lambda: v2.RandomVerticalFlip(p=1.0),
        "rotation": lambda: v2.RandomRotation(degrees=30),
        "blur": lambda: v2.GaussianBlur(kernel_size=5, sigma=(0.1, 2.0)),
        "color_jitter": lambda: v2.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.05),
        "grayscale": lambda: v2.Grayscale(num_output_channels=3),
    }
    if name not in table:
        raise ValueError(f"unknown augmentation {name!r}; choose from {AUGMENTATIONS}")
    return table[name]()


def augment(image: torch.Tensor, uv: np.ndarray, names: tuple[str, ...], seed: int, p: float = 0.5
            ) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """``image`` (3, H, W) float in [0, 1] and its correspondence pixels ``uv`` (N, 2) -> (augmented image, new
    pixels (N, 2) int64, valid (N,) bool).

    Flips are done here (pixel u -> W - 1 - u): torchvision's keypoint flip uses the pixel-index convention while its
    affine warps use continuous coordinates, so one shared convention needs the flips by hand (a test checks every
    augmentation lands each point on its own surface point)."""
    from torchvision import tv_tensors
    from torchvision.transforms import v2

    for n in names:
        if n not in AUGMENTATIONS:
            raise ValueError(f"unknown augmentation {n!r}; choose from {AUGMENTATIONS}")
    h, w = image.shape[-2:]
    rng = np.random.default_rng(seed)
    xy = np.asarray(uv, np.float64) + 0.5  # continuous coordinates of the pixel centres
    out = image
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for n in names:
            if rng.random() >= p:
                continue
            if n == "hflip":
                out, xy = out.flip(-1), np.stack([w - xy[:, 0], xy[:, 1]], 1)
            elif n == "vflip":
                out, xy = out.flip(-2), np.stack([xy[:, 0], h - xy[:, 1]], 1)
            else:
                pts = tv_tensors.KeyPoints(torch.as_tensor(xy, dtype=torch.float32), canvas_size=(h, w))
                img, pts = _transform(n, (h, w))(tv_tensors.Image(out), pts)
                out, xy = img.as_subclass(torch.Tensor), pts.as_subclass(torch.Tensor).numpy().astype(np.float64)
    new = np.rint(xy - 0.5).astype(np.int64)
    valid = (new[:, 0] >= 0) & (new[:, 0] < w) & (new[:, 1] >= 0) & (new[:, 1] < h)
    return out.as_subclass(torch.Tensor) if isinstance(out, tv_tensors.Image) else out, new, valid
