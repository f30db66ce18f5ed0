"""mlgsl §IV-A: prediction success (Top-1 / Top-5), accuracy and recall, collision-free ratio.

* **Top-k success**: the k best grasps of Q̂ (:func:`robopercept.mlgsl.grasps.top_grasps`); an
  image counts as a success when one of them matches a label (IoU ≥ 25 %, angle ≤ 30°), against
  *all* of the image's labels (the paper validates with all labels even for sparse training).
* **Accuracy and recall** (:func:`accuracy_recall`): per test image, ``n`` grasps are sampled
  *uniformly over the image*; the prediction is ``q̂ > threshold``; the truth comes from trying
  each grasp with the simulated gripper on the same scene (the paper used a pretrained GQ-CNN
  discriminator [2] instead; our simulator *is* the ground truth here, which is why it replaces it).
* **Collision-free ratio** (§IV-C.5): among the Top-1 grasps on cluttered test scenes whose centre
  lies *on an object*, the fraction whose jaws do not land on another object
  (:func:`robopercept.mlgsl.clutter.jaw_collision`). A grasp on the empty table collides with
  nothing and grasps nothing, so it is left out of the ratio (and counted apart, ``on_object``).

Every metric is also returned per test image (``*_per_image``), so that
:mod:`robopercept.reporting.uncertainty` can bootstrap over images and seeds.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from ..formats.jacquard import GraspRect
from . import grasps as G
from .clutter import jaw_collision
from .data import Item
from .model import WIDTH_SCALE, GraspFCN


@dataclasses.dataclass(frozen=True)
class Selection:
    """How grasps are read from the maps at a given image size."""

    image_size: int
    peak_distance_at_300: int = 20
    smooth_sigma_at_300: float = 2.0
    jaw_px: float | None = None  # None: rectangles Ŵ/2 wide (GG-CNN's Jacquard convention)
    peak_threshold_rel: float = 0.2  # peaks above this share of the map's maximum (GG-CNN: 0.2 absolute)

    @classmethod
    def of(cls, image_size: int, ecfg) -> "Selection":
        """The selection an :class:`robopercept.mlgsl.config.EvalConfig` describes, at ``image_size``."""
        return cls(image_size, ecfg.peak_distance_at_300, ecfg.smooth_sigma_at_300,
                   peak_threshold_rel=ecfg.peak_threshold_rel)

    @property
    def min_distance(self) -> int:
        return max(1, round(self.peak_distance_at_300 * self.image_size / 300))

    @property
    def sigma(self) -> float:
        return self.smooth_sigma_at_300 * self.image_size / 300

    @property
    def width_scale_px(self) -> float:
        return WIDTH_SCALE * self.image_size

    def top(self, maps: dict[str, np.ndarray], k: int) -> list[GraspRect]:
        return G.top_grasps(maps, k, width_scale_px=self.width_scale_px, jaw_px=self.jaw_px,
                            min_distance=self.min_distance, sigma=self.sigma, threshold_rel=self.peak_threshold_rel)


@torch.no_grad()
def predict(model: GraspFCN, depths: np.ndarray | list[np.ndarray], batch_size: int = 32) -> list[dict[str, np.ndarray]]:
    """Maps ``q`` (= Q̂, through the model's quality head), ``cos``, ``sin``, ``width`` for each
    prepared depth image."""
    model.eval()
    out = []
    for i in range(0, len(depths), batch_size):
        x = torch.from_numpy(np.stack(depths[i:i + batch_size]))[:, None]
        z, c, s, w = model(x)
        q = model.quality(z)
        for j in range(len(x)):
            out.append({"q": q[j].numpy(), "cos": c[j].numpy(), "sin": s[j].numpy(), "width": w[j].numpy()})
    return out


def label_jaw_px(items: list[Item]) -> float:
    """The jaw width of the labels (one physical gripper), in model pixels (reported, not used to
    draw predicted rectangles: those follow GG-CNN's Ŵ/2)."""
    jaws = [g.jaw for it in items for g in it.all_grasps]
    return float(np.median(jaws)) if jaws else 1.0


def topk_hits(model: GraspFCN, items: list[Item], sel: Selection, ks=(1, 5)) -> np.ndarray:
    """images x len(ks) booleans: does one of the top-k grasps match a label of the image?"""
    maps = predict(model, [it.depth for it in items])
    hits = np.zeros((len(items), len(ks)), bool)
    for i, (m, it) in enumerate(zip(maps, items)):
        best = sel.top(m, max(ks))
        for j, k in enumerate(ks):
            hits[i, j] = any(G.is_successful(g, it.all_grasps) for g in best[:k])
    return hits


def topk_success(model: GraspFCN, items: list[Item], sel: Selection, ks=(1, 5)) -> dict[str, float]:
    hits = topk_hits(model, items, sel, ks)
    return {f"top{k}": 100.0 * float(hits[:, j].mean()) for j, k in enumerate(ks)}


def collision_per_image(model: GraspFCN, items: list[Item], sel: Selection, finger_px: float) -> dict[str, np.ndarray]:
    """Per cluttered image: ``on_object`` (the Top-1 grasp's centre lies on an object) and ``free``
    (on an object and its jaws avoid every other object). Items need ``instances``."""
    maps = predict(model, [it.depth for it in items])
    on, free = np.zeros(len(items), bool), np.zeros(len(items), bool)
    jaw = label_jaw_px(items)  # the gripper's physical finger width (the Ŵ/2 rectangle is a drawing convention)
    for i, (m, it) in enumerate(zip(maps, items)):
        if it.instances is None:
            raise ValueError(f"{it.sample_id}: no instance map (collision-free ratio needs composed clutter samples)")
        top = sel.top(m, 1)
        if not top:
            continue
        g = top[0]
        r, c = int(round(g.row)), int(round(g.col))
        on[i] = bool(it.instances[min(max(r, 0), it.instances.shape[0] - 1), min(max(c, 0), it.instances.shape[1] - 1)])
        free[i] = on[i] and not jaw_collision(dataclasses.replace(g, jaw=jaw), it.instances, finger_px * it.scale)
    return {"on_object": on, "free": free}


def collision_free_ratio(model: GraspFCN, items: list[Item], sel: Selection, finger_px: float) -> float:
    """% of the Top-1 grasps on an object whose jaws avoid every other object."""
    d = collision_per_image(model, items, sel, finger_px)
    return 100.0 * float(d["free"].sum()) / d["on_object"].sum() if d["on_object"].any() else math.nan


def sample_uniform(maps: dict[str, np.ndarray], n: int, rng: np.random.Generator, sel: Selection) -> tuple[list[GraspRect], np.ndarray]:
    """``n`` grasps at pixels drawn uniformly over the image, with their predicted q̂."""
    h, w = maps["q"].shape
    idx = rng.integers(0, h * w, size=n)
    out, q = [], []
    for i in idx:
        r, c = divmod(int(i), w)
        out.append(G.grasp_at(maps, r, c, width_scale_px=sel.width_scale_px, jaw_px=sel.jaw_px))
        q.append(float(maps["q"][r, c]))
    return out, np.array(q)


def accuracy_recall(pred_success: np.ndarray, true_success: np.ndarray) -> dict[str, float]:
    """Accuracy, recall (of truly successful grasps), precision, and the rates behind them (%)."""
    pred, true = np.asarray(pred_success, bool), np.asarray(true_success, bool)
    tp = int((pred & true).sum())
    recall = 100.0 * tp / true.sum() if true.sum() else math.nan
    precision = 100.0 * tp / pred.sum() if pred.sum() else math.nan
    return {"accuracy": 100.0 * float((pred == true).mean()), "recall": recall, "precision": precision,
            "true_positive_rate_of_samples": 100.0 * float(true.mean()),
            "predicted_positive_rate": 100.0 * float(pred.mean())}
