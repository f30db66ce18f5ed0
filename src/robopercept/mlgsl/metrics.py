"""mlgsl §IV-A: prediction success (Top-1 / Top-5), accuracy and recall, collision-free ratio.

* **Top-k success**: the k best grasps of Q̂ (:func:`robopercept.mlgsl.grasps.top_grasps`); an
  image counts as a success when one of them matches a label (IoU ≥ 25 %, angle ≤ 30°), against
  *all* of the image's labels (the paper validates with all labels even for sparse training).
* **Accuracy and recall** (:func:`accuracy_recall`): per test image, ``n`` grasps are sampled
  *uniformly over the image*; the prediction is ``q̂ > threshold``; the truth comes from trying
  each grasp with the simulated gripper on the same scene (the paper used a pretrained GQ-CNN
  discriminator [2] instead; our simulator *is* the ground truth here, which is why it replaces it).
* **Collision-free ratio** (§IV-C.5): the fraction of Top-1 grasps on cluttered test scenes whose
  jaws do not land on another object (:func:`robopercept.mlgsl.clutter.jaw_collision`).
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
    jaw_px: float = 0.0  # jaw width of predicted rectangles in model pixels

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
                            min_distance=self.min_distance, sigma=self.sigma)


@torch.no_grad()
def predict(model: GraspFCN, depths: np.ndarray | list[np.ndarray], batch_size: int = 32) -> list[dict[str, np.ndarray]]:
    """Maps ``q`` (= Q̂ = σ(z)), ``cos``, ``sin``, ``width`` for each prepared depth image."""
    model.eval()
    out = []
    for i in range(0, len(depths), batch_size):
        x = torch.from_numpy(np.stack(depths[i:i + batch_size]))[:, None]
        z, c, s, w = model(x)
        q = torch.sigmoid(z)
        for j in range(len(x)):
            out.append({"q": q[j].numpy(), "cos": c[j].numpy(), "sin": s[j].numpy(), "width": w[j].numpy()})
    return out


def label_jaw_px(items: list[Item]) -> float:
    """The jaw width of the labels (one physical gripper), in model pixels."""
    jaws = [g.jaw for it in items for g in it.all_grasps]
    return float(np.median(jaws)) if jaws else 1.0


def topk_success(model: GraspFCN, items: list[Item], sel: Selection, ks=(1, 5)) -> dict[str, float]:
    maps = predict(model, [it.depth for it in items])
    hits = {k: 0 for k in ks}
    for m, it in zip(maps, items):
        best = sel.top(m, max(ks))
        for k in ks:
            hits[k] += any(G.is_successful(g, it.all_grasps) for g in best[:k])
    return {f"top{k}": 100.0 * hits[k] / len(items) for k in ks}


def collision_free_ratio(model: GraspFCN, items: list[Item], sel: Selection, finger_px: float) -> float:
    """% of Top-1 grasps whose jaws avoid every other object (items need ``instances``)."""
    maps = predict(model, [it.depth for it in items])
    free = 0
    for m, it in zip(maps, items):
        if it.instances is None:
            raise ValueError(f"{it.sample_id}: no instance map (collision-free ratio needs composed clutter samples)")
        (g,) = sel.top(m, 1)
        free += not jaw_collision(g, it.instances, finger_px * it.scale)
    return 100.0 * free / len(items)


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
