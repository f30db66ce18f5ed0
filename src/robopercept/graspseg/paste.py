"""§III-B.2: "cut-and-paste" instance supervision from object crops.

    "we randomize select 0-25 objects to be pasted on a random training image. We apply different
    geometric transformations to the objects such as randomly rotating up to 360 degrees, scaling
    between 0.75x-1.25x, and randomly selecting a position."

A :class:`Crop` is an object's RGB pixels and mask cut to the mask's bounding box (from a grasp
segmentation prediction, an image-subtraction mask or a labeled training instance; the crop
artifact is written by :mod:`robopercept.graspseg.crops`). :func:`paste` puts ``n ~ U{min..max}``
crops, one after another, on a labeled image:

* each crop is rotated by ``U[0, 360)`` degrees and scaled by ``U[0.75, 1.25]`` about its centre
  (RGB bilinear with premultiplied alpha — no dark halo from the zeroed outside —, mask nearest-neighbour,
  so no mixed boundary pixels enter the mask), and its centre
  placed uniformly at random in the image (crops may leave the image; what is outside is cut);
* occlusion is correct by construction: a pasted object hides whatever lies under it, so every
  earlier instance (labeled or pasted) loses those pixels, and an instance left with fewer than
  ``min_visible_px`` pixels is dropped (the paper: fully hidden instances; ``min_visible_px = 1``);
* the result records, for inpainting (§III-B.3), the *visible boundary* of the pasted objects: the
  pixels of each pasted object's final visible mask that touch a pixel outside it.

Everything random is drawn from the ``numpy.random.Generator`` passed in, so a sample is a function
of (image, crops, seed); :class:`PasteSampler` derives that generator from (seed, epoch, index) so
the training loader's samples do not depend on worker count or order.

The paper's sentence fixes only the ranges; uniform distributions, the centre placement and nearest-
neighbour mask warping are our choices.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import cv2
import numpy as np


@dataclasses.dataclass(frozen=True)
class Crop:
    """An object cut out of an image: ``rgb`` (h, w, 3) uint8 and ``mask`` (h, w) bool, tight box."""

    rgb: np.ndarray
    mask: np.ndarray
    source: str = ""  # provenance (e.g. the grasp folder it came from)

    def __post_init__(self):
        if self.rgb.ndim != 3 or self.rgb.shape[2] != 3 or self.rgb.dtype != np.uint8:
            raise ValueError(f"crop rgb must be (h, w, 3) uint8, got {self.rgb.shape} {self.rgb.dtype}")
        if self.mask.shape != self.rgb.shape[:2]:
            raise ValueError(f"crop mask {self.mask.shape} does not match its rgb {self.rgb.shape[:2]}")
        if not self.mask.any():
            raise ValueError(f"crop {self.source!r} has an empty mask")

    @classmethod
    def cut(cls, image: np.ndarray, mask: np.ndarray, source: str = "") -> "Crop":
        """The object of ``mask`` in ``image``, cut to the mask's bounding box (pixels outside it zeroed)."""
        mask = np.asarray(mask, bool)
        if mask.shape != image.shape[:2]:
            raise ValueError(f"mask {mask.shape} does not match image {image.shape[:2]}")
        ys, xs = np.nonzero(mask)
        if ys.size == 0:
            raise ValueError(f"cannot cut an empty mask ({source!r})")
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        m = mask[y0:y1, x0:x1].copy()
        rgb = image[y0:y1, x0:x1].copy()
        rgb[~m] = 0
        return cls(rgb=rgb, mask=m, source=source)

    @property
    def area(self) -> int:
        return int(self.mask.sum())


@dataclasses.dataclass(frozen=True)
class PasteConfig:
    min_objects: int = 0  # paper: 0-25 objects per image
    max_objects: int = 25
    max_rotation_deg: float = 360.0  # paper: "randomly rotating up to 360 degrees"
    min_scale: float = 0.75  # paper: "scaling between 0.75x-1.25x"
    max_scale: float = 1.25
    min_visible_px: int = 1  # instances with fewer visible pixels are dropped (paper: fully hidden ones)

    def __post_init__(self):
        if not 0 <= self.min_objects <= self.max_objects:
            raise ValueError(f"paste: need 0 <= min_objects <= max_objects, got {self.min_objects}, {self.max_objects}")
        if not 0 < self.min_scale <= self.max_scale:
            raise ValueError(f"paste: need 0 < min_scale <= max_scale, got {self.min_scale}, {self.max_scale}")
        if not 0 <= self.max_rotation_deg <= 360:
            raise ValueError(f"paste: max_rotation_deg must be in [0, 360], got {self.max_rotation_deg}")
        if self.min_visible_px < 1:
            raise ValueError(f"paste: min_visible_px must be >= 1, got {self.min_visible_px}")


@dataclasses.dataclass
class PasteResult:
    image: np.ndarray  # (H, W, 3) uint8
    masks: np.ndarray  # (N, H, W) bool, pairwise disjoint, none smaller than min_visible_px
    pasted: np.ndarray  # (N,) bool: True for pasted instances, False for the image's own
    sources: list[str]  # per instance: the crop's source, or "image:<k>" for the image's k-th instance
    boundary: np.ndarray  # (H, W) bool: visible boundary of the pasted objects (the inpainting seed)


def transform_crop(crop: Crop, angle_deg: float, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotate (counter-clockwise, degrees) and scale a crop about its centre into a canvas that holds it all."""
    h, w = crop.mask.shape
    centre = ((w - 1) / 2.0, (h - 1) / 2.0)
    a = cv2.getRotationMatrix2D(centre, angle_deg, scale)
    # canvas: the transformed box's extent
    corners = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]], float) @ a.T
    lo, hi = np.floor(corners.min(0)), np.ceil(corners.max(0))
    a[:, 2] -= lo
    size = (int(hi[0] - lo[0]) + 1, int(hi[1] - lo[1]) + 1)  # (width, height)
    # premultiplied alpha: interpolate colour x coverage and coverage, then divide, so that boundary pixels
    # keep the object's colour instead of blending with the (zeroed) pixels outside the mask — a dark halo
    # that would give the non-inpainted rows a pasting cue the inpainted row does not have
    alpha = crop.mask.astype(np.float32)
    pre = cv2.warpAffine(crop.rgb.astype(np.float32) * alpha[..., None], a, size, flags=cv2.INTER_LINEAR,
                         borderValue=(0, 0, 0))
    cover = cv2.warpAffine(alpha, a, size, flags=cv2.INTER_LINEAR, borderValue=0)
    mask = cv2.warpAffine(crop.mask.astype(np.uint8), a, size, flags=cv2.INTER_NEAREST, borderValue=0) > 0
    rgb = np.where(cover[..., None] > 1e-3, pre / np.maximum(cover, 1e-3)[..., None], 0.0)
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8), mask


def visible_boundary(mask: np.ndarray) -> np.ndarray:
    """Pixels of ``mask`` with a 4-neighbour outside it (the image border does not count)."""
    m = mask.astype(np.uint8)
    eroded = cv2.erode(m, np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], np.uint8), borderType=cv2.BORDER_REPLICATE)
    return mask & (eroded == 0)


def paste(image: np.ndarray, masks: np.ndarray, crops: Sequence[Crop], rng: np.random.Generator,
          cfg: PasteConfig = PasteConfig()) -> PasteResult:
    """Paste ``U{min_objects..max_objects}`` random crops on ``image`` with labeled instance ``masks``.

    ``masks`` (N, H, W) bool are the image's own instances (visible masks; they may be empty, N = 0).
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"paste: image must be (H, W, 3) uint8, got {image.shape} {image.dtype}")
    h, w = image.shape[:2]
    masks = np.asarray(masks, bool).reshape(-1, h, w)
    if masks.shape[0] and (masks.sum(0) > 1).any():
        raise ValueError("paste: the image's instance masks overlap (expected visible, disjoint masks)")
    n = int(rng.integers(cfg.min_objects, cfg.max_objects + 1))
    if n and not crops:
        raise ValueError("paste: no crops to paste from")
    out = image.copy()
    inst = [m.copy() for m in masks]
    pasted = [False] * len(inst)
    sources = [f"image:{k}" for k in range(len(inst))]
    for _ in range(n):
        crop = crops[int(rng.integers(len(crops)))]
        angle = float(rng.uniform(0.0, cfg.max_rotation_deg))
        scale = float(rng.uniform(cfg.min_scale, cfg.max_scale))
        cy, cx = float(rng.uniform(0, h)), float(rng.uniform(0, w))
        rgb, m = transform_crop(crop, angle, scale)
        ch, cw = m.shape
        y0, x0 = int(round(cy - ch / 2)), int(round(cx - cw / 2))
        # the part of the canvas inside the image
        ys, xs = slice(max(y0, 0), min(y0 + ch, h)), slice(max(x0, 0), min(x0 + cw, w))
        cys, cxs = slice(ys.start - y0, ys.stop - y0), slice(xs.start - x0, xs.stop - x0)
        if ys.start >= ys.stop or xs.start >= xs.stop:
            continue
        full = np.zeros((h, w), bool)
        full[ys, xs] = m[cys, cxs]
        if not full.any():
            continue
        out[full] = rgb[cys, cxs][m[cys, cxs]]
        for k in range(len(inst)):
            inst[k] &= ~full  # the new object hides what lies under it
        inst.append(full)
        pasted.append(True)
        sources.append(crop.source)
    keep = [k for k in range(len(inst)) if inst[k].sum() >= cfg.min_visible_px]
    final = np.stack([inst[k] for k in keep]) if keep else np.zeros((0, h, w), bool)
    was_pasted = np.array([pasted[k] for k in keep], bool)
    boundary = np.zeros((h, w), bool)
    for m in final[was_pasted]:
        boundary |= visible_boundary(m)
    return PasteResult(image=out, masks=final, pasted=was_pasted, sources=[sources[k] for k in keep],
                       boundary=boundary)


class PasteSampler:
    """Deterministic on-the-fly paste samples: sample ``index`` of ``epoch`` uses the generator seeded by
    ``(seed, epoch, index)``, and draws its base image from ``images`` with it.

    ``images`` is a sequence of ``(rgb, masks)``; ``crops`` the pool pasted from (may be empty only if
    ``cfg.max_objects == 0``).
    """

    def __init__(self, images: Sequence[tuple[np.ndarray, np.ndarray]], crops: Sequence[Crop],
                 cfg: PasteConfig = PasteConfig(), seed: int = 0):
        if not images:
            raise ValueError("PasteSampler: no base images (the labeled training split is empty)")
        if cfg.max_objects > 0 and not crops:
            raise ValueError("PasteSampler: no crops to paste (the crop collection kept nothing)")
        self.images, self.crops, self.cfg, self.seed = images, list(crops), cfg, seed

    def rng(self, epoch: int, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, epoch, index])

    def sample(self, epoch: int, index: int) -> PasteResult:
        rng = self.rng(epoch, index)
        image, masks = self.images[int(rng.integers(len(self.images)))]
        return paste(image, masks, self.crops, rng, self.cfg)
