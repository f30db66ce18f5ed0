"""§VI (Table III) as simulated picking: the world's 5-cup suction robot picks from bins of test objects,
guided by an instance segmentation model.

    "A grasp attempt is counted as a success if it picks up exactly one object and places it into the other
    bin without dropping. If the predicted mask is not an actual object, or contains multiple objects, this
    would be a grasp failure. The grasping system will try to land as many cups as possible on a detected
    object mask ... By keeping all other parts of the grasping system constant and only changing the
    segmentation model, we can isolate the effects of the segmentation model on grasp performance." (§VI-A)

**A trial** is one pick from a fresh bin of test objects (``n ~ U{min..max}`` objects, poses, lighting and
sensor noise drawn from a generator seeded by (seed, trial)). Every model sees the *same* trials — the
bin is settled once and its physics state saved; each model's pick starts from that state — so models
are compared pair by pair on identical scenes.

**The planner** (the same for every model, and for the oracle): among the predicted masks with score >=
``min_score`` (at most ``max_masks``, best first), it searches grasp centres (the ``n_centres`` pixels
deepest inside the mask, by distance transform) and cup-pattern angles (``n_angles`` in [0°, 90°): the
plus pattern repeats every 90°) for the grasp that lands the most cups on the mask *where the sensed
surface looks sealable* — the depth camera's points under the cup and inside the mask fit a plane within
the seal tolerance, facing up within the seal angle (as a real suction planner checks the point cloud) —
then the most cups on the mask at all; ties go to the higher-scoring mask, then the deeper centre. The
cups inside the mask are the active ones (the middle cup always). The planner sees only the model's
masks and the noisy sensor depth; the outcome is decided on the true scene.

**Not simulated:** the transport to the other bin and the placing (the paper counts a drop on the way as a
failure); our lift raises the object by ``lift_height_m`` and holds it. **The planner's sealability check is
ours**: the paper's system lands "as many cups as possible on a detected object mask"; ranking candidate grasps
first by cups over a plane-like sensed surface was added because, without it, the oracle's picks on curved objects
often failed to seal; it can rescue some poor masks too — it is the same for every model.

**Outcome** (the world's suction gauge and lift, :mod:`robopercept.world.suction`):
``success`` — at least ``min_sealed_cups`` cups sealed, all on one object, and the object followed the
lift; otherwise a failure of one kind:

=================  ====================================================================================
``no_mask``          the model predicted no usable mask (nothing to pick)
``non_object``       fewer cups sealed than needed and most active cups were over no object (Fig. 4's
                     first row: a grasp on the bin or a reflection)
``no_seal``          fewer cups sealed than needed although over an object (a grasp off-centre, on an
                     edge or a curved part — e.g. after a split mask)
``two_objects``      cups sealed on two objects (Fig. 4's third row: a grasp on two objects grouped as one)
``two_lifted``       sealed on one object, but a second one (resting on it, wedged against it) came up with it
                     — "picks up exactly one object" fails without a segmentation error
``dropped``          sealed on one object that did not follow the lift (Fig. 4's second row)
=================  ====================================================================================

**The planned mask, diagnosed** (:func:`mask_diagnosis`, against the true visible instances): the paper reads its
failures as segmentation errors (Fig. 4: a mask on a non-object, an object split into two masks, two objects grouped
into one); each trial records which, if any, the mask the planner grasped on had — ``non_object`` (most of its
pixels on no object), ``grouped`` (two or more objects each hold at least ``group_share`` of it or are
``split_coverage`` covered by it), ``split`` (it covers
less than ``split_coverage`` of its object and another candidate mask covers another piece of it), ``partial`` (less
than ``split_coverage``, no other piece) or ``good`` — and, over all candidate masks of the bin (:func:`scene_errors`),
how many objects were split or missed, masks grouped objects, and masks lay on no object. So a
failure's kind (what the gripper did) and its cause (what the mask was) are counted apart: a ``two_objects`` failure
on a ``good`` mask is the planner's or the physics', not a grouping.

The **oracle** row plans on the ground-truth instance masks (score 1): what this planner and this physics do with
perfect segmentation. It is a reference, not a floor: its failures are the planner's and the gripper's, and a model's
masks change which object the planner picks, so a model can fail less often than the oracle.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Sequence

import cv2
import numpy as np

from ..world.camera import BinCamera
from ..world.suction import Grasp, cup_pixels, lift, seal_cups

FAILURES = ("no_mask", "non_object", "no_seal", "two_objects", "two_lifted", "dropped")
MASK_DIAGNOSES = ("good", "partial", "split", "grouped", "non_object")
Segmenter = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # rgb -> (masks (K, H, W) bool, scores (K,))


@dataclasses.dataclass(frozen=True)
class PlannerSettings:
    min_score: float = 0.5  # masks below this score are not grasp targets
    max_masks: int = 10
    n_centres: int = 5
    n_angles: int = 6

    def __post_init__(self):
        if not 0 <= self.min_score <= 1:
            raise ValueError(f"picking planner: min_score must be in [0, 1], got {self.min_score}")
        if min(self.max_masks, self.n_centres, self.n_angles) < 1:
            raise ValueError("picking planner: max_masks, n_centres and n_angles must be >= 1")


@dataclasses.dataclass(frozen=True)
class DiagnosisSettings:
    group_share: float = 0.2  # an object holding at least this share of a mask's pixels is in it
    split_coverage: float = 0.5  # a mask covering less of its object than this is partial (or split); covering at
    #                              least this much of a second object groups it
    min_object_px: int = 100  # objects with fewer visible pixels are left out (slivers under other objects)

    def __post_init__(self):
        if not (0 < self.group_share <= 0.5 and 0 < self.split_coverage <= 1 and self.min_object_px >= 1):
            raise ValueError("picking diagnosis: group_share must be in (0, 0.5], split_coverage in (0, 1] and "
                             f"min_object_px >= 1, got {self.group_share}, {self.split_coverage}, {self.min_object_px}")


@dataclasses.dataclass(frozen=True)
class _MaskOnObjects:
    """One mask against the true visible instances."""

    pixels: int
    on_nothing: bool  # mostly on no object (or too small for the planner to use)
    grouped: bool  # two or more objects each hold group_share of it, or are split_coverage covered by it
    dominant: int  # the object holding most of it (0: none)
    coverage: float  # the share of the dominant object's visible pixels it covers
    part: np.ndarray | None  # its pixels on the dominant object


def _on_objects(mask: np.ndarray, ids: np.ndarray, areas: np.ndarray, d: DiagnosisSettings) -> _MaskOnObjects:
    mask = np.asarray(mask, bool)
    counts = np.bincount(ids[mask].ravel(), minlength=len(areas))
    px = int(counts.sum())
    obj = counts.copy()
    obj[0] = 0
    dom = int(obj.argmax()) if obj.any() else 0
    if px < 4 or dom == 0 or counts[0] > 0.5 * px:  # plan_pick skips masks under 4 pixels
        return _MaskOnObjects(px, True, False, dom, 0.0, None)
    big = areas >= d.min_object_px
    inside = [i for i in range(1, len(areas)) if counts[i] and (counts[i] >= d.group_share * px or
                                                                (big[i] and counts[i] >= d.split_coverage * areas[i]))]
    return _MaskOnObjects(px, False, len(inside) >= 2, dom, float(obj[dom] / areas[dom]), mask & (ids == dom))


def _pieces_of_one_object(a: _MaskOnObjects, b: _MaskOnObjects, d: DiagnosisSettings) -> bool:
    """Whether two masks that group nothing cut one object into pieces: the same dominant object, each covering a
    ``group_share`` of it, overlapping there by less than half the smaller part (a duplicate is not a piece)."""
    if a.on_nothing or b.on_nothing or a.grouped or b.grouped or a.dominant != b.dominant:
        return False
    if min(a.coverage, b.coverage) < d.group_share:
        return False
    return int((a.part & b.part).sum()) < 0.5 * min(int(a.part.sum()), int(b.part.sum()))


def mask_diagnosis(k: int, masks: np.ndarray, candidates: Sequence[int], ids: np.ndarray,
                   d: DiagnosisSettings = DiagnosisSettings()) -> str:
    """What the planned mask ``masks[k]`` was against the true visible instances ``ids`` (one of
    :data:`MASK_DIAGNOSES`): ``non_object`` (mostly on no object), ``grouped`` (two objects each hold a
    ``group_share`` of it or are ``split_coverage`` covered by it), ``good`` (it covers ``split_coverage`` of its
    object), ``split`` (less, and another candidate that groups nothing covers another piece of the same object — a
    duplicate or a superset of it is not a piece) or ``partial``. ``candidates``: the masks the planner could grasp
    on."""
    areas = np.bincount(ids.ravel())
    me = _on_objects(masks[k], ids, areas, d)
    if me.on_nothing:
        return "non_object"
    if me.grouped:
        return "grouped"
    if me.coverage >= d.split_coverage:
        return "good"
    others = (_on_objects(masks[j], ids, areas, d) for j in candidates if j != k)
    return "split" if any(_pieces_of_one_object(me, o, d) for o in others) else "partial"


def scene_errors(masks: np.ndarray, candidates: Sequence[int], ids: np.ndarray,
                 d: DiagnosisSettings = DiagnosisSettings()) -> dict[str, int]:
    """Segmentation errors of a bin's candidate masks against its true visible instances (objects with at least
    ``min_object_px`` visible pixels): ``objects_split`` (objects two masks cut into pieces, as in
    :func:`mask_diagnosis`), ``objects_missed`` (objects no candidate mask covers a ``group_share`` of, grouping
    masks included), ``masks_grouped`` (masks grouping two objects) and ``masks_on_nothing`` (masks of 4 pixels or more
    mostly on no object)."""
    areas = np.bincount(ids.ravel())
    on = [_on_objects(masks[j], ids, areas, d) for j in candidates]
    objects = [i for i in range(1, len(areas)) if areas[i] >= d.min_object_px]
    covered = set()
    for j, m in zip(candidates, on):
        if m.on_nothing:
            continue
        counts = np.bincount(ids[np.asarray(masks[j], bool)].ravel(), minlength=len(areas))
        covered |= {i for i in objects if counts[i] >= d.group_share * areas[i]}
    split = {a.dominant for x, a in enumerate(on) for b in on[x + 1:] if _pieces_of_one_object(a, b, d)}
    return {"objects_split": sum(i in split for i in objects), "objects_missed": sum(i not in covered for i in objects),
            "masks_grouped": sum(m.grouped for m in on),
            "masks_on_nothing": sum(m.on_nothing and m.pixels >= 4 for m in on)}  # the planner skips smaller ones


def candidate_masks(scores: np.ndarray, s: "PlannerSettings") -> list[int]:
    """The masks the planner grasps on, best score first: those scoring at least ``min_score`` (all, when none
    does), at most ``max_masks``."""
    by_score = [int(i) for i in np.argsort(-np.asarray(scores, float), kind="stable")]
    return ([i for i in by_score if scores[i] >= s.min_score] or by_score)[:s.max_masks]


@dataclasses.dataclass(frozen=True)
class Plan:
    grasp: Grasp
    mask_index: int
    cups_on_mask: int
    score: float


def _pixel_to_world(camera: BinCamera, depth: np.ndarray, v: int, u: int) -> tuple[float, float, float]:
    z = camera.eye_height_m - float(depth[v, u])
    ppm = camera.pixels_per_meter(z)
    k = camera.K
    return (u + 0.5 - k[0, 2]) / ppm, -(v + 0.5 - k[1, 2]) / ppm, ppm


def _cup_pixel(camera: BinCamera, ppm: float, x: float, y: float) -> tuple[int, int]:
    k = camera.K
    return int(round(-y * ppm + k[1, 2] - 0.5)), int(round(x * ppm + k[0, 2] - 0.5))


def sealable(points: np.ndarray, mask: np.ndarray, v: int, u: int, r_px: float, flatness_tol: float,
             max_angle_deg: float) -> bool:
    """Would a cup centred at pixel (v, u) seal, judging from sensed ``points`` (H, W, 3) inside ``mask``?"""
    h, w = mask.shape
    r = max(1, int(math.ceil(r_px)))
    y0, y1, x0, x1 = max(v - r, 0), min(v + r + 1, h), max(u - r, 0), min(u + r + 1, w)
    if y0 >= y1 or x0 >= x1:
        return False
    yy, xx = np.mgrid[y0:y1, x0:x1]
    disc = (yy - v) ** 2 + (xx - u) ** 2 <= r_px * r_px
    inside = disc & mask[y0:y1, x0:x1]
    if inside.sum() < max(4, 0.9 * disc.sum()):
        return False  # the cup would hang over the mask's edge
    pts = points[y0:y1, x0:x1][inside]
    centred = pts - pts.mean(0)
    _, sv, vt = np.linalg.svd(centred, full_matrices=False)
    residual = float(sv[-1] / math.sqrt(len(pts)))
    angle = math.degrees(math.acos(min(1.0, abs(float(vt[-1][2])))))
    return residual <= flatness_tol and angle <= max_angle_deg


def plan_pick(masks: np.ndarray, scores: np.ndarray, depth: np.ndarray, camera: BinCamera, spacing: float,
              s: PlannerSettings = PlannerSettings(), *, cup_radius: float = 0.009, flatness_tol: float = 0.004,
              max_angle_deg: float = 35.0) -> Plan | None:
    """The grasp landing the most sealable cups on one predicted mask (None only if the model predicts no usable
    mask at all).

    Masks scoring at least ``min_score`` are candidates; when none does, the robot still grasps — every mask is a
    candidate, best score first — so a trial's outcome measures the masks, not our score threshold (a grasp
    attempt is what the paper's error rate counts, §VI-A). Among candidates the planner maximises sealable cups and
    breaks ties by score (the paper's "land as many suction cups as possible on one predicted mask"): a confident
    mask on a curved object can lose to a flat spurious mask, which then fails as ``non_object`` — the same
    planner runs for every model and the oracle."""
    h, w = depth.shape
    order = candidate_masks(scores, s)
    points = camera.backproject(depth.astype(np.float64)) if order else None
    best: tuple | None = None
    for rank, k in enumerate(order):
        mask = np.asarray(masks[k], bool)
        if mask.sum() < 4:
            continue
        dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
        flat = np.argsort(-dist.ravel(), kind="stable")[:s.n_centres]
        for ci, idx in enumerate(flat):
            v, u = divmod(int(idx), w)
            if not mask[v, u]:
                continue
            x, y, ppm = _pixel_to_world(camera, depth, v, u)
            r_px = cup_radius * ppm
            for ai in range(s.n_angles):
                angle = (math.pi / 2) * ai / s.n_angles
                g = Grasp(x, y, angle, (True,) * 5)
                active, good = [], 0
                for cx, cy in g.cup_xy(spacing):
                    vi, ui = _cup_pixel(camera, ppm, cx, cy)
                    on = bool(0 <= vi < h and 0 <= ui < w and mask[vi, ui])
                    active.append(on or not active)  # the middle cup is always active
                    good += on and sealable(points, mask, vi, ui, r_px, flatness_tol, max_angle_deg)
                key = (good, sum(active), -rank, -ci, -ai)
                if best is None or key > best[0]:
                    best = (key, Plan(Grasp(x, y, angle, tuple(active)), k, sum(active), float(scores[k])))
    return None if best is None else best[1]


@dataclasses.dataclass(frozen=True)
class PickOutcome:
    success: bool
    failure: str | None  # one of FAILURES, None on success
    cups_on_mask: int
    sealed_cups: int
    objects_sealed: int
    mask_score: float | None


def execute(scene, plan: Plan | None, frame, *, cup_radius: float, spacing: float, min_sealed: int,
            flatness_tol: float, max_angle_deg: float, cup_force: float, lift_height: float) -> PickOutcome:
    """Seal the plan's active cups on the true scene (clean depth and ids of ``frame``) and lift."""
    if plan is None:
        return PickOutcome(False, "no_mask", 0, 0, 0, None)
    discs = cup_pixels(scene.camera, frame.depth, plan.grasp.cup_xy(spacing), cup_radius)
    active = [d for d, a in zip(discs, plan.grasp.active) if a]
    seals = seal_cups(active, frame.depth, frame.ids, scene.camera, flatness_tol=flatness_tol,
                      max_angle_deg=max_angle_deg)
    sealed = [x for x in seals if x.sealed]
    on = sorted({x.instance for x in sealed})
    common = dict(cups_on_mask=plan.cups_on_mask, sealed_cups=len(sealed), objects_sealed=len(on),
                  mask_score=plan.score)
    if len(on) > 1:
        return PickOutcome(False, "two_objects", **common)
    if len(sealed) < min_sealed:
        over_nothing = sum(int(np.bincount(frame.ids[d].ravel()).argmax()) == 0 for d in active)
        kind = "non_object" if over_nothing * 2 > len(active) else "no_seal"
        return PickOutcome(False, kind, **common)
    z0 = {i: float(scene.pose(i)[0][2]) for i in scene.placed if i != on[0]}
    if not lift(scene, on[0], len(sealed) * cup_force, lift_height):
        return PickOutcome(False, "dropped", **common)
    # "picks up exactly one object": another object that came up with it (resting on it, wedged) is a double pick
    if any(float(scene.pose(i)[0][2]) - z > 0.5 * lift_height for i, z in z0.items()):
        return PickOutcome(False, "two_lifted", **common)
    return PickOutcome(True, None, **common)


def oracle_segmenter(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ground-truth instance masks (score 1 each) from an instance-id image."""
    insts = [int(i) for i in np.unique(ids) if i > 0]
    masks = np.stack([ids == i for i in insts]) if insts else np.zeros((0, *ids.shape), bool)
    return masks, np.ones(len(insts))


def run_trials(trials: Sequence[int], segmenters: dict[str, Segmenter | None], cfg, catalog, seed: int,
               planner: PlannerSettings = PlannerSettings(), keep_images: Sequence[int] = (),
               diagnosis: DiagnosisSettings = DiagnosisSettings()) -> tuple[list[dict], dict]:
    """Run ``trials`` (indices) for every segmenter (``None`` = the oracle) on identical bins.

    ``cfg`` is the grasp-data config (bin sizes, camera, suction, nuisances). Returns one row per (trial,
    model) — the outcome, the planned mask's :func:`mask_diagnosis` (``planned_mask``; None without a plan) and the
    bin's :func:`scene_errors` — and, for trials in ``keep_images``, the image, ground truth, the clean depth (where
    the executor's cups land) and each model's masks and grasp (for Fig. 4)."""
    from ..world.nuisance import initial_lighting
    from ..world.scene import BinScene
    from .grasp_collection import _observe, _Timer

    camera = BinCamera.for_size(cfg.height, cfg.width)
    pool = catalog.objects("test", limit=cfg.n_test_objects)
    rows, images = [], {}
    for t in trials:
        rng = np.random.default_rng([seed, t])
        with BinScene(catalog, camera) as scene:
            n = int(rng.integers(cfg.min_objects_per_bin, cfg.max_objects_per_bin + 1))
            chosen = [pool[i] for i in rng.choice(len(pool), size=n, replace=len(pool) < n)]
            scene.drop(chosen, rng, cfg.settle_steps)
            frame, rgb, depth = _observe(scene, cfg, initial_lighting(rng), rng, _Timer())
            state = scene.p.saveState(physicsClientId=scene.cid)
            if t in keep_images:
                images[t] = {"rgb": rgb, "ids": frame.ids, "depth": frame.depth, "models": {}}  # depth: clean
            for name, seg in segmenters.items():
                scene.p.restoreState(state, physicsClientId=scene.cid)
                masks, scores = oracle_segmenter(frame.ids) if seg is None else seg(rgb)
                plan = plan_pick(masks, scores, depth, camera, cfg.cup_spacing_m, planner, cup_radius=cfg.cup_radius_m,
                                 flatness_tol=cfg.seal_flatness_tol_m, max_angle_deg=cfg.seal_max_angle_deg)
                out = execute(scene, plan, frame, cup_radius=cfg.cup_radius_m, spacing=cfg.cup_spacing_m,
                              min_sealed=cfg.min_sealed_cups, flatness_tol=cfg.seal_flatness_tol_m,
                              max_angle_deg=cfg.seal_max_angle_deg, cup_force=cfg.cup_force_n,
                              lift_height=cfg.lift_height_m)
                cands = candidate_masks(scores, planner) if len(masks) else []
                rows.append({"trial": int(t), "model": name, "objects_in_bin": len(scene.placed),
                             "masks": int(len(masks)), **dataclasses.asdict(out),
                             "planned_mask": None if plan is None else mask_diagnosis(plan.mask_index, masks, cands,
                                                                                      frame.ids, diagnosis),
                             **scene_errors(masks, cands, frame.ids, diagnosis)})
                if t in keep_images:
                    images[t]["models"][name] = {"masks": masks, "scores": scores, "plan": plan, "outcome": out}
    return rows, images
