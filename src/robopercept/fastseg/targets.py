"""Training targets on the decoder's grid (§IV-A, Fig. 4) and the class weights of eq. (2).

    "If an image and its corresponding semantic and instance label are of size H × W, and the superpixels are of size
    k, the output grids and the used targets for each loss are of size H/k × W/k and each target grid element is the
    label at the center of mass of its corresponding superpixel." (§IV-A)

Per image, from the Cityscapes maps and the superpixel index (:func:`.superpixels.grid_slic`; at decoder output
stride 1 every pixel is its own element):

* ``semantic`` — the class index (0 = background, 1..8 = Cityscapes' instance classes in evaluator order);
* ``instance`` — 0, or 1.. for each instance still present on the grid (instances that vanish below one element are
  lost to every model that sees the grid — the notebook counts them);
* ``centre`` — 1 at one element per instance: the instance's element nearest its centre of mass on the grid (the
  paper does not say how it marks centres; the nearest element *of the instance* keeps a non-convex object's centre
  on the object). The embedding loss (3)-(4) reads the embedding there.
* ``centre_blob`` — the centre loss's (5) positives: the instance's elements within ``centre_radius_px`` input pixels
  of its centre element (``centre_radius_px / k`` grid elements), the centre element always included. At radius 0 it
  is ``centre`` — one element per instance, our reading until session 19. The paper says neither; it says the trained
  head "usually outputs blobs instead of single elements for each instance" (§III-B), and with one positive among
  near-identical neighbours eq. (5) caps the head's output far below the 0.7 threshold (:mod:`.threshold`). A radius
  > 0 is a labelled departure of the cpu profile (``fastseg_train.centre_radius_px``).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..formats.cityscapes import instance_label_ids
from .superpixels import downsample_labels

EPSILON = 1.02  # eq. (2)'s bound


def class_index_map(labels: np.ndarray) -> np.ndarray:
    """Cityscapes label ids -> 0 (background) or 1..8 (person, rider, car, truck, bus, train, motorcycle, bicycle)."""
    lut = np.zeros(256, np.int64)
    for k, lid in enumerate(instance_label_ids().values(), start=1):
        lut[lid] = k
    return lut[np.asarray(labels).clip(0, 255)]


@dataclasses.dataclass(frozen=True)
class GridTargets:
    semantic: np.ndarray  # (h, w) int64 class index
    instance: np.ndarray  # (h, w) int64, 0 = none
    centre: np.ndarray  # (h, w) float32 {0, 1}: one element per instance (the embedding loss's centres)
    instance_class: np.ndarray  # (n,) class index of instance 1..n
    lost: int  # instances of the full-resolution map absent from the grid
    centre_blob: np.ndarray  # (h, w) float32 {0, 1}: the centre loss's positives (``centre`` at radius 0)


def grid_targets(labels: np.ndarray, instances: np.ndarray, index: np.ndarray | None, k: int,
                 centre_radius_px: float = 0.0) -> GridTargets:
    """Targets at decoder output stride ``k`` (``index``: the superpixel index, or None at k = 1); ``centre_radius_px``:
    the radius of the centre loss's positive blob around each centre, in input pixels (0: the centre element only)."""
    if not (centre_radius_px >= 0 and math.isfinite(centre_radius_px)):
        raise ValueError(f"grid_targets: centre_radius_px must be a finite number >= 0, got {centre_radius_px}")
    classes = class_index_map(labels)
    inst_full = np.where(np.asarray(instances) >= 1000, np.asarray(instances), 0)
    if k == 1:
        sem, inst = classes, inst_full
    else:
        sem, inst = downsample_labels(classes, index, k), downsample_labels(inst_full, index, k)
    ids_full = set(np.unique(inst_full).tolist()) - {0}
    ids = sorted(set(np.unique(inst).tolist()) - {0})
    relabel = np.zeros(inst.shape, np.int64)
    centre = np.zeros(inst.shape, np.float32)
    blob = np.zeros(inst.shape, np.float32)
    r2 = (centre_radius_px / k) ** 2
    cls = []
    for n, i in enumerate(ids, start=1):
        m = inst == i
        relabel[m] = n
        rr, cc = np.nonzero(m)
        j = int(np.argmin((rr - rr.mean()) ** 2 + (cc - cc.mean()) ** 2))
        centre[rr[j], cc[j]] = 1
        near = (rr - rr[j]) ** 2 + (cc - cc[j]) ** 2 <= r2  # holds the centre element itself at every radius
        blob[rr[near], cc[near]] = 1
        cls.append(int(class_index_map(np.array([i // 1000]))[0]))
    return GridTargets(sem, relabel, centre, np.array(cls, np.int64), len(ids_full) - len(ids), blob)


def class_weights(counts: np.ndarray, eps: float = EPSILON) -> np.ndarray:
    """Eq. (2): ``w_c = 1 / log(f_c + ε)`` with ``f_c`` the share of class ``c`` among the target elements."""
    f = np.asarray(counts, float) / max(float(np.sum(counts)), 1.0)
    return 1.0 / np.log(f + eps) if eps > 1 else np.full(len(f), math.nan)
