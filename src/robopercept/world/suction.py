"""The 5-cup suction gripper (as on a bin-picking robot): cup layout, the grasp mask ``g``, seals, the lift.

A grasp is a point on the bin (world x, y), an angle and the set of *active* cups. The cups sit in
a plus pattern: one in the middle and four at ``cup_spacing_m`` along the gripper's two axes.

* **Seal** (a cup holds vacuum): the surface under the cup is close to planar (plane-fit RMS
  residual below ``seal_flatness_tol_m``), faces the gripper (normal within ``seal_max_angle_deg``
  of vertical) and belongs to a single object (>= 90 % of the cup's pixels). Evaluated on the
  clean depth and instance ids of the before image (the robot's own sensors would see the
  physical contact; we have the geometry).
* **Suction gauge**: the grasp succeeds when at least ``min_sealed_cups`` cups seal, all on one
  object, *and* the object actually lifts: a pybullet constraint whose force is capped at
  ``sealed cups x cup_force_n`` pulls it up by ``lift_height_m``; a heavy object, or one pinned by
  others, does not follow and is dropped. Sealing on two objects is a failed (double) pick.
* **Grasp mask** ``g``: the image footprint of the active cups (discs at the surface height).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .camera import BinCamera
from .scene import BinScene

N_CUPS = 5


@dataclasses.dataclass(frozen=True)
class Grasp:
    x: float
    y: float
    angle: float  # radians, rotation of the cup pattern about the vertical
    active: tuple[bool, ...]  # per cup, middle first

    def cup_xy(self, spacing: float) -> np.ndarray:
        c, s = math.cos(self.angle), math.sin(self.angle)
        offs = np.array([[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]], float) * spacing
        rot = offs @ np.array([[c, s], [-s, c]])
        return rot + np.array([self.x, self.y])


def cup_pixels(camera: BinCamera, depth: np.ndarray, xy: np.ndarray, radius: float) -> list[np.ndarray]:
    """Boolean image disc of each cup, projected at the surface height under the cup centre."""
    h, w = depth.shape
    vv, uu = np.mgrid[0:h, 0:w]
    discs = []
    for x, y in xy:
        u, v = camera.world_to_pixel(np.array([[x, y, 0.0]]))[0]
        ui, vi = int(np.clip(round(u - 0.5), 0, w - 1)), int(np.clip(round(v - 0.5), 0, h - 1))
        z = camera.eye_height_m - float(depth[vi, ui])  # surface height under the cup centre
        u, v = camera.world_to_pixel(np.array([[x, y, z]]))[0]
        r = radius * camera.pixels_per_meter(z)
        discs.append((uu + 0.5 - u) ** 2 + (vv + 0.5 - v) ** 2 <= r * r)
    return discs


def grasp_mask(discs: list[np.ndarray], active) -> np.ndarray:
    g = np.zeros(discs[0].shape, bool)
    for d, a in zip(discs, active):
        if a:
            g |= d
    return g


@dataclasses.dataclass(frozen=True)
class Seal:
    sealed: bool
    instance: int  # the object under the cup (0 = none / background)
    residual_m: float
    angle_deg: float


def seal_cups(discs, depth: np.ndarray, ids: np.ndarray, camera: BinCamera, *, flatness_tol: float,
              max_angle_deg: float) -> list[Seal]:
    pts_all = camera.backproject(depth.astype(np.float64))
    seals = []
    for d in discs:
        if d.sum() < 4:
            seals.append(Seal(False, 0, math.inf, 90.0))
            continue
        inst_vals, counts = np.unique(ids[d], return_counts=True)
        inst = int(inst_vals[counts.argmax()])
        single = counts.max() >= 0.9 * d.sum() and inst != 0
        pts = pts_all[d]
        centred = pts - pts.mean(0)
        # plane fit: the normal is the right-singular vector of the smallest singular value
        _, sv, vt = np.linalg.svd(centred, full_matrices=False)
        normal = vt[-1] * np.sign(vt[-1][2] or 1.0)
        residual = float(sv[-1] / math.sqrt(len(pts)))
        angle = math.degrees(math.acos(min(1.0, abs(float(normal[2])))))
        ok = single and residual <= flatness_tol and angle <= max_angle_deg
        seals.append(Seal(bool(ok), inst, residual, angle))
    return seals


def lift(scene: BinScene, instance: int, force: float, height: float, steps: int = 90) -> bool:
    """Pull ``instance`` straight up with a force-capped constraint; True if it followed."""
    p, c = scene.p, scene.cid
    body = scene.placed[instance].body
    pos, orn = p.getBasePositionAndOrientation(body, physicsClientId=c)
    cons = p.createConstraint(body, -1, -1, -1, p.JOINT_FIXED, [0, 0, 0], [0, 0, 0], pos, childFrameOrientation=orn,
                              physicsClientId=c)
    for k in range(1, steps + 1):
        target = [pos[0], pos[1], pos[2] + height * k / steps]
        p.changeConstraint(cons, target, orn, maxForce=force, physicsClientId=c)
        p.stepSimulation(physicsClientId=c)
    for _ in range(20):
        p.stepSimulation(physicsClientId=c)
    z = p.getBasePositionAndOrientation(body, physicsClientId=c)[0][2]
    p.removeConstraint(cons, physicsClientId=c)
    return bool(z - pos[2] >= 0.7 * height)


def bump_neighbour(scene: BinScene, grasp: Grasp, exclude: int, speed: float, rng: np.random.Generator,
                   radius: float = 0.12) -> int | None:
    """The gripper brushes the nearest object within ``radius`` on its way out; returns it."""
    best, best_d = None, radius
    for inst in scene.placed:
        if inst == exclude:
            continue
        x, y, _ = scene.pose(inst)[0]
        d = math.hypot(x - grasp.x, y - grasp.y)
        if d < best_d:
            best, best_d = inst, d
    if best is None:
        return None
    a = rng.uniform(0, 2 * math.pi)
    scene.p.resetBaseVelocity(scene.placed[best].body, [speed * math.cos(a), speed * math.sin(a), 0.05],
                              [0, 0, rng.normal() * 3], physicsClientId=scene.cid)
    return best
