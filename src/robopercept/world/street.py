"""A street seen from a car's forward camera: the world's stand-in for Cityscapes frames.

The scene is static (a Cityscapes frame is a snapshot): a road with lane marks between two sidewalks, building
facades with windows, trees and poles, and road users built from primitives, rendered by pybullet's CPU renderer
from a camera ``camera_height_m`` above the road, looking along it. Each road user is one multi-link body (its parts
rigidly joined), so the renderer's segmentation gives one id per road user; the semantic map comes from each body's
label. The eight road-user kinds are Cityscapes' eight classes with instances, built to differ as those do:

=============  ========================================================================================
``car``          a body box and a cabin, four wheels; 3.8–4.8 m long, in lanes or parked at the kerb
``truck``        a cab and a tall cargo box, 6–9 m, six wheels
``bus``          a long tall box with a window band, 10–13 m
``train``        a very long box on a track crossing the street far ahead (a tram), 15–30 m; rare
``person``       legs, torso, arms, head; 1.5–1.95 m, on the sidewalks or crossing
``rider``        a person seated on a bicycle or motorcycle — a separate instance from the vehicle under it,
                 as Cityscapes annotates them
``motorcycle``   a body, a seat and two wheels, 1.8–2.2 m
``bicycle``      a thin frame and two thin wheels, 1.6–1.9 m
=============  ========================================================================================

Perspective gives the range of scales (a car at 5 m fills a fifth of the image width, one at 60 m a few pixels),
road users occlude each other, and riders overlap their vehicles. What the stand-in does not have: real textures,
articulated pedestrians, motion blur, weather, or Cityscapes' 19-class background (here road, sidewalk, building,
vegetation, pole and sky).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

# Cityscapes label ids (cityscapesscripts.helpers.labels), fixed by the format
ROAD, SIDEWALK, BUILDING, POLE, VEGETATION, SKY = 7, 8, 11, 17, 21, 23
CLASS_IDS = {"person": 24, "rider": 25, "car": 26, "truck": 27, "bus": 28, "train": 31, "motorcycle": 32,
             "bicycle": 33}
ROAD_HALF_WIDTH_M = 5.0
SIDEWALK_WIDTH_M = 3.0


@dataclasses.dataclass(frozen=True)
class StreetCamera:
    height_px: int
    width_px: int
    hfov_deg: float = 60.0
    camera_height_m: float = 1.3
    pitch_deg: float = 3.0  # looking slightly down
    near: float = 0.3
    far: float = 150.0

    @property
    def vfov_deg(self) -> float:
        return 2 * math.degrees(math.atan(math.tan(math.radians(self.hfov_deg) / 2) * self.height_px / self.width_px))

    def matrices(self):
        import pybullet as p

        eye = [0.0, 0.0, self.camera_height_m]
        pitch = math.radians(self.pitch_deg)
        target = [10.0, 0.0, self.camera_height_m - 10.0 * math.tan(pitch)]
        view = p.computeViewMatrix(eye, target, [0, 0, 1])
        proj = p.computeProjectionMatrixFOV(self.vfov_deg, self.width_px / self.height_px, self.near, self.far)
        return view, proj


@dataclasses.dataclass(frozen=True)
class Part:
    shape: str  # "box", "cylinder" (axis along the body's y: a wheel) or "sphere"
    size: tuple[float, ...]  # box: half extents; cylinder: (radius, length); sphere: (radius,)
    pos: tuple[float, float, float]  # in the road user's frame: x forward, y left, z up from the road
    rgba: tuple[float, float, float, float]


def _rgba(c, a=1.0):
    return (float(c[0]), float(c[1]), float(c[2]), a)


def _wheels(xs, half_track, r, width=0.22, dark=(0.08, 0.08, 0.08)):
    return [Part("cylinder", (r, width), (x, s * half_track, r), _rgba(dark)) for x in xs for s in (1, -1)]


def _person_parts(rng, *, seated=False, base_z=0.0, height=None) -> list[Part]:
    h = float(height if height is not None else rng.uniform(1.5, 1.95))
    shirt, trousers = rng.uniform(0.05, 0.9, 3), rng.uniform(0.05, 0.6, 3)
    skin = np.array([0.85, 0.65, 0.5]) * rng.uniform(0.45, 1.0)
    leg, torso, head = 0.47 * h, 0.33 * h, 0.065 * h
    parts = []
    if seated:  # thighs forward, shins down to the pedals
        parts += [Part("box", (0.22, 0.08, 0.07), (0.12, s * 0.1, base_z + 0.05), _rgba(trousers)) for s in (1, -1)]
        parts += [Part("box", (0.06, 0.07, leg * 0.3), (0.32, s * 0.1, base_z - leg * 0.25), _rgba(trousers))
                  for s in (1, -1)]
        z0 = base_z + 0.1
    else:
        parts += [Part("box", (0.08, 0.08, leg / 2), (0, s * 0.1, base_z + leg / 2), _rgba(trousers)) for s in (1, -1)]
        z0 = base_z + leg
    lean = 0.12 if seated else 0.0
    parts.append(Part("box", (0.13, 0.21, torso / 2), (lean, 0, z0 + torso / 2), _rgba(shirt)))
    parts += [Part("box", (0.05, 0.05, torso * 0.45), (lean + (0.15 if seated else 0), s * 0.27, z0 + torso * 0.5),
                   _rgba(shirt)) for s in (1, -1)]
    parts.append(Part("sphere", (head,), (lean, 0, z0 + torso + head * 1.1), _rgba(skin)))
    return parts


def road_user_parts(kind: str, rng: np.random.Generator) -> list[Part]:
    """The primitives of one road user of ``kind`` (a rider's bicycle or motorcycle is a separate road user)."""
    paint = rng.uniform(0.05, 0.95, 3)
    glass = (0.15, 0.2, 0.25)
    if kind == "car":
        L, Wd = rng.uniform(3.8, 4.8), rng.uniform(1.7, 1.9)
        return [Part("box", (L / 2, Wd / 2, 0.35), (0, 0, 0.65), _rgba(paint)),
                Part("box", (L * 0.27, Wd * 0.45, 0.3), (-L * 0.05, 0, 1.28), _rgba(glass)),
                *_wheels((L * 0.32, -L * 0.32), Wd / 2 - 0.1, 0.32)]
    if kind == "truck":
        L, Wd = rng.uniform(6.0, 9.0), 2.4
        return [Part("box", (0.9, Wd / 2, 1.2), (L / 2 - 0.9, 0, 1.6), _rgba(paint)),
                Part("box", (L / 2 - 1.0, Wd / 2, 1.5), (-1.0, 0, 2.0), _rgba(rng.uniform(0.5, 0.95, 3))),
                *_wheels((L / 2 - 1.0, -L / 4, -L / 2 + 1.0), Wd / 2 - 0.15, 0.5)]
    if kind == "bus":
        L, Wd = rng.uniform(10.0, 13.0), 2.5
        return [Part("box", (L / 2, Wd / 2, 1.35), (0, 0, 1.75), _rgba(paint)),
                Part("box", (L / 2 - 0.3, Wd / 2 + 0.01, 0.45), (0, 0, 2.2), _rgba(glass)),
                *_wheels((L / 2 - 2.2, -L / 2 + 2.5), Wd / 2 - 0.15, 0.5)]
    if kind == "train":
        L, Wd = rng.uniform(15.0, 30.0), 2.6
        return [Part("box", (L / 2, Wd / 2, 1.6), (0, 0, 2.0), _rgba(paint)),
                Part("box", (L / 2 - 0.5, Wd / 2 + 0.01, 0.5), (0, 0, 2.5), _rgba(glass))]
    if kind == "person":
        return _person_parts(rng)
    if kind == "motorcycle":
        L = rng.uniform(1.8, 2.2)
        return [Part("box", (L * 0.3, 0.18, 0.22), (0, 0, 0.6), _rgba(paint)),
                Part("box", (L * 0.2, 0.14, 0.05), (-L * 0.12, 0, 0.85), _rgba((0.1, 0.1, 0.1))),
                Part("box", (0.04, 0.35, 0.03), (L * 0.3, 0, 1.0), _rgba((0.3, 0.3, 0.3))),
                Part("cylinder", (0.3, 0.12), (L / 2 - 0.3, 0, 0.3), _rgba((0.08, 0.08, 0.08))),
                Part("cylinder", (0.3, 0.12), (-L / 2 + 0.3, 0, 0.3), _rgba((0.08, 0.08, 0.08)))]
    if kind == "bicycle":
        L = rng.uniform(1.6, 1.9)
        frame = _rgba(paint)
        return [Part("box", (L * 0.28, 0.02, 0.02), (0, 0, 0.62), frame),
                Part("box", (0.02, 0.02, 0.25), (-L * 0.12, 0, 0.6), frame),
                Part("box", (0.02, 0.25, 0.02), (L * 0.27, 0, 0.95), frame),
                Part("cylinder", (0.35, 0.04), (L / 2 - 0.35, 0, 0.35), _rgba((0.1, 0.1, 0.1))),
                Part("cylinder", (0.35, 0.04), (-L / 2 + 0.35, 0, 0.35), _rgba((0.1, 0.1, 0.1)))]
    if kind == "rider":
        return []  # built by rider_on(): it needs the vehicle's seat height
    raise ValueError(f"unknown road user kind {kind!r}; choose from {sorted(CLASS_IDS)}")


def rider_on(vehicle: str, rng: np.random.Generator) -> list[Part]:
    seat = 0.9 if vehicle == "motorcycle" else 0.95
    return _person_parts(rng, seated=True, base_z=seat, height=rng.uniform(1.6, 1.9))


@dataclasses.dataclass(frozen=True)
class Placement:
    kind: str
    x: float
    y: float
    yaw: float


@dataclasses.dataclass
class StreetFrame:
    rgb: np.ndarray  # (H, W, 3) uint8
    labels: np.ndarray  # (H, W) Cityscapes label ids
    instances: np.ndarray  # (H, W) Cityscapes instance ids: label_id * 1000 + k on road users, the label id elsewhere
    placements: list[Placement]


@dataclasses.dataclass(frozen=True)
class StreetSettings:
    min_users: int = 8
    max_users: int = 22
    max_distance_m: float = 70.0
    train_probability: float = 0.15
    kind_weights: tuple[tuple[str, float], ...] = (("car", 0.36), ("person", 0.3), ("rider", 0.1), ("truck", 0.06),
                                                   ("bus", 0.05), ("motorcycle", 0.04), ("bicycle", 0.09))


def plan_street(rng: np.random.Generator, s: StreetSettings = StreetSettings()) -> list[Placement]:
    """Where the road users of one frame stand (a rider appears as a ``rider`` placement; its vehicle is added by
    :func:`render_street`). Vehicles keep to lanes or the kerb, people to sidewalks or a crossing."""
    kinds, w = zip(*s.kind_weights)
    w = np.array(w) / sum(w)
    out = []
    n = int(rng.integers(s.min_users, s.max_users + 1))
    for _ in range(n):
        kind = str(rng.choice(kinds, p=w))
        near = {"car": 7.0, "truck": 10.0, "bus": 12.0}.get(kind, 4.0)  # the nearest a user's centre comes
        x = float(near + (s.max_distance_m - near) * rng.random() ** 1.5)  # more users near the camera
        if kind in ("car", "truck", "bus"):
            lane = rng.choice([-3.5, -1.2, 1.2, 3.5])  # 2 lanes each way; the outer ones are parking
            y, yaw = float(lane + rng.normal(0, 0.2)), (0.0 if lane < 0 else math.pi) + rng.normal(0, 0.05)
        elif kind in ("rider", "motorcycle", "bicycle"):
            side = rng.choice([-1, 1])
            y, yaw = float(side * rng.uniform(3.0, 4.6)), (0.0 if side < 0 else math.pi) + rng.normal(0, 0.1)
        else:  # person
            if rng.random() < 0.2:  # crossing the road
                y, yaw = float(rng.uniform(-4.5, 4.5)), float(rng.choice([math.pi / 2, -math.pi / 2]))
            else:
                side = rng.choice([-1, 1])
                y = float(side * (ROAD_HALF_WIDTH_M + rng.uniform(0.3, SIDEWALK_WIDTH_M - 0.3)))
                yaw = float(rng.choice([0.0, math.pi]) + rng.normal(0, 0.3))
        out.append(Placement(kind, x, y, float(yaw)))
    if rng.random() < s.train_probability:
        out.append(Placement("train", float(rng.uniform(35, 60)), float(rng.uniform(-8, 8)), math.pi / 2))
    return out


class StreetScene:
    """One pybullet client holding a street; :meth:`render` adds road users, renders, and removes them again."""

    def __init__(self, camera: StreetCamera, rng: np.random.Generator):
        import pybullet as p

        self.p, self.camera = p, camera
        self.cid = p.connect(p.DIRECT)
        self.labels: dict[int, int] = {}  # body -> Cityscapes label id
        self._static(rng)

    def close(self) -> None:
        if self.cid is not None and self.p.isConnected(self.cid):
            self.p.disconnect(self.cid)
        self.cid = None

    def __enter__(self) -> "StreetScene":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _body(self, parts: list[Part], pos, yaw: float, label: int) -> int:
        p, c = self.p, self.cid
        shapes = []
        for part in parts:
            if part.shape == "box":
                v = p.createVisualShape(p.GEOM_BOX, halfExtents=part.size, rgbaColor=part.rgba, physicsClientId=c)
            elif part.shape == "sphere":
                v = p.createVisualShape(p.GEOM_SPHERE, radius=part.size[0], rgbaColor=part.rgba, physicsClientId=c)
            else:
                v = p.createVisualShape(p.GEOM_CYLINDER, radius=part.size[0], length=part.size[1],
                                        rgbaColor=part.rgba, visualFrameOrientation=p.getQuaternionFromEuler(
                                            [math.pi / 2, 0, 0]), physicsClientId=c)
            shapes.append(v)
        n = len(shapes) - 1
        c0, s0 = math.cos(yaw), math.sin(yaw)
        x0, y0, z0 = parts[0].pos  # the base is the first part: placed at the user's pose plus its rotated offset
        base = [pos[0] + c0 * x0 - s0 * y0, pos[1] + s0 * x0 + c0 * y0, pos[2] + z0]
        body = p.createMultiBody(0, -1, shapes[0], basePosition=base, baseOrientation=p.getQuaternionFromEuler(
            [0, 0, yaw]), linkMasses=[0] * n, linkCollisionShapeIndices=[-1] * n, linkVisualShapeIndices=shapes[1:],
            linkPositions=[list(np.subtract(pt.pos, parts[0].pos)) for pt in parts[1:]],
            linkOrientations=[[0, 0, 0, 1]] * n, linkInertialFramePositions=[[0, 0, 0]] * n,
            linkInertialFrameOrientations=[[0, 0, 0, 1]] * n, linkParentIndices=[0] * n,
            linkJointTypes=[p.JOINT_FIXED] * n, linkJointAxis=[[0, 0, 1]] * n, physicsClientId=c)
        self.labels[body] = label
        return body

    def _static(self, rng: np.random.Generator) -> None:
        grey = rng.uniform(0.25, 0.38)
        self._body([Part("box", (120, ROAD_HALF_WIDTH_M, 0.01), (0, 0, 0), (grey, grey, grey * 1.03, 1))],
                   (60, 0, -0.01), 0.0, ROAD)
        mark = (0.85, 0.85, 0.8, 1)
        for x in np.arange(2, 120, 6):  # dashed centre line
            self._body([Part("box", (1.2, 0.07, 0.005), (0, 0, 0), mark)], (float(x), 0, 0.001), 0.0, ROAD)
        side_grey = rng.uniform(0.5, 0.65)
        for s in (1, -1):
            y = s * (ROAD_HALF_WIDTH_M + SIDEWALK_WIDTH_M / 2)
            self._body([Part("box", (120, SIDEWALK_WIDTH_M / 2, 0.075), (0, 0, 0), (side_grey, side_grey,
                                                                                    side_grey * 0.95, 1))],
                       (60, y, 0.06), 0.0, SIDEWALK)
            x = float(rng.uniform(-5, 5))
            while x < 130:  # facades: blocks of varying width, height and colour, with rows of windows
                bw, bh = float(rng.uniform(8, 20)), float(rng.uniform(6, 25))
                colour = rng.uniform(0.3, 0.85, 3)
                yb = s * (ROAD_HALF_WIDTH_M + SIDEWALK_WIDTH_M + 4)
                parts = [Part("box", (bw / 2, 4, bh / 2), (0, 0, bh / 2), _rgba(colour))]
                for wz in np.arange(2.0, bh - 1.0, 3.0):
                    parts.append(Part("box", (bw / 2 - 0.8, 0.05, 0.6), (0, -s * 4.0, float(wz)),
                                      _rgba(colour * 0.35)))
                self._body(parts, (x + bw / 2, yb, 0), 0.0, BUILDING)
                x += bw + float(rng.uniform(0, 3))
            for xt in np.arange(float(rng.uniform(3, 12)), 110, float(rng.uniform(12, 25))):
                yt = s * (ROAD_HALF_WIDTH_M + SIDEWALK_WIDTH_M - 0.5)
                if rng.random() < 0.6:
                    h = float(rng.uniform(3, 6))
                    self._body([Part("box", (0.12, 0.12, h / 2), (0, 0, h / 2), (0.35, 0.25, 0.15, 1)),
                                Part("sphere", (float(rng.uniform(1.2, 2.2)),), (0, 0, h + 0.8),
                                     _rgba(rng.uniform([0.1, 0.3, 0.05], [0.3, 0.55, 0.2])))],
                               (float(xt), yt, 0), 0.0, VEGETATION)
                else:
                    self._body([Part("box", (0.06, 0.06, 2.5), (0, 0, 2.5), (0.4, 0.4, 0.42, 1))],
                               (float(xt), yt, 0), 0.0, POLE)

    def render(self, placements: list[Placement], rng: np.random.Generator, *, shadows: bool = True) -> StreetFrame:
        p, c = self.p, self.cid
        users: list[tuple[int, str]] = []
        for pl in placements:
            if pl.kind == "rider":
                vehicle = "bicycle" if rng.random() < 0.6 else "motorcycle"
                users.append((self._body(road_user_parts(vehicle, rng), (pl.x, pl.y, 0), pl.yaw,
                                         CLASS_IDS[vehicle]), vehicle))
                users.append((self._body(rider_on(vehicle, rng), (pl.x, pl.y, 0), pl.yaw, CLASS_IDS["rider"]),
                              "rider"))
            else:
                parts = road_user_parts(pl.kind, rng)
                users.append((self._body(parts, (pl.x, pl.y, 0), pl.yaw, CLASS_IDS[pl.kind]), pl.kind))
        view, proj = self.camera.matrices()
        sun = [float(rng.uniform(-1, 1)), float(rng.uniform(-1, 1)), float(rng.uniform(1.5, 3))]
        _, _, rgba, _, seg = p.getCameraImage(self.camera.width_px, self.camera.height_px, view, proj,
                                              renderer=p.ER_TINY_RENDERER, shadow=int(shadows), lightDirection=sun,
                                              lightAmbientCoeff=float(rng.uniform(0.5, 0.7)),
                                              lightDiffuseCoeff=float(rng.uniform(0.4, 0.6)),
                                              lightSpecularCoeff=0.05, physicsClientId=c)
        h, w = self.camera.height_px, self.camera.width_px
        rgb = np.asarray(rgba, np.uint8).reshape(h, w, 4)[..., :3].copy()
        seg = np.asarray(seg, np.int64).reshape(h, w)
        sky = seg < 0
        rgb[sky] = (np.array([0.55, 0.7, 0.9]) * 255 * rng.uniform(0.85, 1.05)).clip(0, 255).astype(np.uint8)
        labels = np.full((h, w), SKY, np.int64)
        for body, lab in self.labels.items():
            labels[seg == body] = lab
        instances = labels.copy()
        count: dict[str, int] = {}
        for body, kind in users:
            m = seg == body
            if m.any():
                k = count.get(kind, 0)
                instances[m] = CLASS_IDS[kind] * 1000 + k
                count[kind] = k + 1
        for body, _ in users:
            p.removeBody(body, physicsClientId=c)
            del self.labels[body]
        return StreetFrame(rgb, labels, instances, placements)
