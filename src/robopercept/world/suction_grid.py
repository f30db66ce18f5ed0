"""A suction gripper whose cups sit on a rectangular grid (3 x 3: the 9-cup gripper of an apparel-picking robot),
its planner over predicted instance masks, and one pick executed on the true scene.

The cups, seals and lift are the world's (:mod:`robopercept.world.suction`): a cup seals when the surface under it
is close to planar, faces up and belongs to one object; the lift pulls the object up with a force capped at
``sealed cups x cup_force``. Only the layout differs from the 5-cup plus pattern: ``rows x cols`` cups at
``spacing`` centre to centre, rotated about the vertical by the grasp angle.

**The planner** sees only a segmentation (masks and scores) and the depth image (the clean render here: the
apparel sets add no depth noise). It searches grasp centres (the
``n_centres`` pixels deepest inside each candidate mask, by distance transform; equally deep ones nearest the
mask's centroid first) and grid angles (``n_angles`` in
[0°, 90°): a square grid repeats every 90°; a non-square one is searched over [0°, 180°)) for the grasp that lands
the most cups *inside one mask* (a cup counts when at least ``inside_fraction`` of its disc is in the mask); the cups
inside are the active ones. The search is local — the deepest pixels of a mask sit together — so on an L-shaped or
long mask it may miss the placement with the most cups; it is the same for every segmentation. Ties go to the higher-scoring mask, then the deeper centre, then the smaller angle.
Candidates are the masks scoring at least ``min_score`` (at most ``max_masks``, best first); if none does, every
mask is one, best first — a pick is always attempted when the model predicts anything.

**The outcome** of executing a plan on the true scene (its clean depth and instance ids):

=================  =====================================================================================
``single``           at least ``min_sealed`` cups sealed, all on one object, and it alone followed the lift
``double``           cups sealed on two or more objects (``objects_sealed`` > 1: the segmentation merged two
                     items), or a second object rose with the lifted one (``objects_lifted`` > 1 with one object
                     sealed: it lay partly on the lifted item) — a double pick, the costly error of a warehouse robot
``dropped``          sealed on one object that did not follow the lift (pinned, or too few cups for its weight)
``no_seal``          fewer than ``min_sealed`` cups sealed
``no_mask``          the segmentation gave nothing to pick
=================  =====================================================================================
"""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np

from .camera import BinCamera
from .suction import cup_pixels, lift, seal_cups

OUTCOMES = ("single", "double", "dropped", "no_seal", "no_mask")


@dataclasses.dataclass(frozen=True)
class GridGripper:
    rows: int = 3
    cols: int = 3
    spacing_m: float = 0.025  # centre-to-centre distance of neighbouring cups
    cup_radius_m: float = 0.009
    min_sealed: int = 1  # the vacuum gauge reports a hold with at least this many sealed cups
    flatness_tol_m: float = 0.004  # max plane-fit residual under a sealing cup
    max_angle_deg: float = 35.0  # max angle between the surface normal and the approach axis
    cup_force_n: float = 2.0  # holding force of one sealed cup
    lift_height_m: float = 0.15

    def __post_init__(self):
        if self.rows < 1 or self.cols < 1:
            raise ValueError(f"grid gripper: rows and cols must be >= 1, got {self.rows} x {self.cols}")
        if not 0 < self.cup_radius_m <= self.spacing_m / 2:
            raise ValueError("grid gripper: cup_radius_m must be in (0, spacing_m / 2] (cups would overlap)")
        if not 1 <= self.min_sealed <= self.rows * self.cols:
            raise ValueError(f"grid gripper: min_sealed must be in 1..{self.rows * self.cols}")
        if self.flatness_tol_m <= 0 or not 0 < self.max_angle_deg <= 90:
            raise ValueError("grid gripper: flatness_tol_m must be > 0 and max_angle_deg in (0, 90]")
        if self.cup_force_n <= 0 or self.lift_height_m <= 0:
            raise ValueError("grid gripper: cup_force_n and lift_height_m must be > 0")

    @property
    def n_cups(self) -> int:
        return self.rows * self.cols

    def offsets(self) -> np.ndarray:
        """Cup centres relative to the grid's centre, (n_cups, 2) metres, row-major."""
        ys = (np.arange(self.rows) - (self.rows - 1) / 2) * self.spacing_m
        xs = (np.arange(self.cols) - (self.cols - 1) / 2) * self.spacing_m
        return np.array([(x, y) for y in ys for x in xs], float)

    def cup_xy(self, x: float, y: float, angle: float) -> np.ndarray:
        c, s = math.cos(angle), math.sin(angle)
        return self.offsets() @ np.array([[c, s], [-s, c]]) + np.array([x, y])


@dataclasses.dataclass(frozen=True)
class GridPlan:
    x: float
    y: float
    angle: float  # radians about the vertical
    active: tuple[bool, ...]  # per cup (row-major): the cups inside the chosen mask
    mask_index: int
    score: float
    z: float = 0.0  # height of the surface under the grid's centre (metres above the bin floor)

    @property
    def cups_on_mask(self) -> int:
        return int(sum(self.active))


@dataclasses.dataclass(frozen=True)
class PlannerSettings:
    min_score: float = 0.5  # masks below this score are candidates only when no mask reaches it
    max_masks: int = 10
    n_centres: int = 5
    n_angles: int = 6
    inside_fraction: float = 0.9  # share of a cup's disc that must lie inside the mask for the cup to count

    def __post_init__(self):
        if min(self.max_masks, self.n_centres, self.n_angles) < 1:
            raise ValueError("grid planner: max_masks, n_centres and n_angles must be >= 1")
        if not 0 < self.inside_fraction <= 1:
            raise ValueError("grid planner: inside_fraction must be in (0, 1]")


def _disc_inside(mask: np.ndarray, u: float, v: float, r: float) -> float:
    """Share of the disc of radius ``r`` px centred at (u, v) (continuous pixel coordinates) inside ``mask``."""
    h, w = mask.shape
    x0, x1 = int(math.floor(u - r)), int(math.ceil(u + r))
    y0, y1 = int(math.floor(v - r)), int(math.ceil(v + r))
    yy, xx = np.mgrid[y0:y1 + 1, x0:x1 + 1]
    disc = (xx + 0.5 - u) ** 2 + (yy + 0.5 - v) ** 2 <= r * r
    n = int(disc.sum())
    if n == 0:
        return 0.0
    ok = disc & (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
    inside = mask[np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)] & ok
    return float(inside.sum()) / n


def plan_grid_pick(masks: np.ndarray, scores: np.ndarray, depth: np.ndarray, camera: BinCamera, gripper: GridGripper,
                   s: PlannerSettings = PlannerSettings()) -> GridPlan | None:
    """The grasp landing the most cups inside one predicted mask (None when there is no mask to pick)."""
    scores = np.asarray(scores, float)
    by_score = [int(i) for i in np.argsort(-scores, kind="stable")]
    order = [i for i in by_score if scores[i] >= s.min_score] or by_score
    span = math.pi / 2 if gripper.rows == gripper.cols else math.pi
    points = camera.backproject(depth.astype(np.float64))
    best: tuple | None = None
    for rank, k in enumerate(order[:s.max_masks]):
        mask = np.asarray(masks[k], bool)
        if mask.sum() < 4:
            continue
        dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
        vs, us = np.nonzero(mask)
        to_centroid = np.hypot(*np.mgrid[0:mask.shape[0], 0:mask.shape[1]] - np.array([vs.mean(), us.mean()])[:, None, None])
        # deepest inside the mask first; among equally deep pixels (a long strip's centre line), nearest its centroid
        for ci, idx in enumerate(np.lexsort((to_centroid.ravel(), -dist.ravel()))[:s.n_centres]):
            v, u = divmod(int(idx), mask.shape[1])
            x, y, z = (float(c) for c in points[v, u])
            r_px = gripper.cup_radius_m * camera.pixels_per_meter(z)
            for ai in range(s.n_angles):
                angle = span * ai / s.n_angles
                uv = camera.world_to_pixel(np.c_[gripper.cup_xy(x, y, angle), np.full(gripper.n_cups, z)])
                active = tuple(_disc_inside(mask, cu, cv, r_px) >= s.inside_fraction for cu, cv in uv)
                key = (sum(active), -rank, -ci, -ai)
                if sum(active) and (best is None or key > best[0]):
                    best = (key, GridPlan(x, y, angle, active, k, float(scores[k]), z))
    return None if best is None else best[1]


@dataclasses.dataclass(frozen=True)
class GridPickOutcome:
    outcome: str  # one of OUTCOMES
    cups_on_mask: int
    sealed_cups: int
    objects_sealed: int
    objects_lifted: int
    mask_score: float | None

    @property
    def double(self) -> bool:
        return self.outcome == "double"


def execute_grid_pick(scene, plan: GridPlan | None, frame, gripper: GridGripper) -> GridPickOutcome:
    """Seal the plan's active cups on the true scene (``frame``: clean depth and ids of the settled bin) and lift."""
    if plan is None:
        return GridPickOutcome("no_mask", 0, 0, 0, 0, None)
    xy = gripper.cup_xy(plan.x, plan.y, plan.angle)[np.asarray(plan.active, bool)]
    discs = cup_pixels(scene.camera, frame.depth, xy, gripper.cup_radius_m)
    seals = [x for x in seal_cups(discs, frame.depth, frame.ids, scene.camera, flatness_tol=gripper.flatness_tol_m,
                                  max_angle_deg=gripper.max_angle_deg) if x.sealed]
    on = sorted({x.instance for x in seals})
    common = dict(cups_on_mask=plan.cups_on_mask, sealed_cups=len(seals), objects_sealed=len(on),
                  mask_score=plan.score)
    if len(on) > 1:  # the vacuum holds two items: both come up
        return GridPickOutcome("double", objects_lifted=len(on), **common)
    if len(seals) < gripper.min_sealed:
        return GridPickOutcome("no_seal", objects_lifted=0, **common)
    z0 = {i: float(scene.pose(i)[0][2]) for i in scene.placed if i != on[0]}
    if not lift(scene, on[0], len(seals) * gripper.cup_force_n, gripper.lift_height_m):
        return GridPickOutcome("dropped", objects_lifted=0, **common)
    rose = sum(float(scene.pose(i)[0][2]) - z > 0.5 * gripper.lift_height_m for i, z in z0.items())
    return GridPickOutcome("double" if rose else "single", objects_lifted=1 + int(rose), **common)
