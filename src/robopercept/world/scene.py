"""A tote of catalog objects in pybullet: drop, settle, render RGB-D + instance ids, amodal masks.

One :class:`BinScene` owns one pybullet client in DIRECT mode (no GUI, no GPU) and renders with
TinyRenderer on the CPU. Catalog shapes are created once per client and reused, so refilling a
bin costs only ``createMultiBody`` calls.

Instance ids in the rendered ``ids`` image: 0 is background (tote and floor), otherwise the
*instance number* of the object in this bin (1, 2, ... in spawn order), never pybullet's body id,
so the numbers mean the same thing in every process.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Iterable

import numpy as np

from .camera import BinCamera
from .catalog import Catalog, CatalogObject

TOTE_INNER = (0.44, 0.30)  # metres, x by y
TOTE_WALL_H = 0.12
TOTE_WALL_T = 0.015
GRAVITY = -9.81
TIME_STEP = 1 / 240


@dataclasses.dataclass(frozen=True)
class Lighting:
    """TinyRenderer light for one image (see world.nuisance for how it varies)."""

    direction: tuple[float, float, float] = (0.3, -0.4, 1.0)
    color: tuple[float, float, float] = (1.0, 1.0, 1.0)
    distance: float = 2.0
    ambient: float = 0.55
    diffuse: float = 0.45
    specular: float = 0.05
    gain: float = 1.0  # global exposure multiplier applied after rendering


@dataclasses.dataclass
class Frame:
    """One rendered observation of the bin."""

    rgb: np.ndarray  # H x W x 3 uint8
    depth: np.ndarray  # H x W float32, metres along the optical axis
    ids: np.ndarray  # H x W int32 instance numbers (0 = background)
    lighting: Lighting


@dataclasses.dataclass
class Placed:
    instance: int
    body: int
    obj: CatalogObject


class BinScene:
    """A bin with objects, its physics, and its camera."""

    def __init__(self, catalog: Catalog, camera: BinCamera, *, tote: bool = True):
        import pybullet as p

        self.p = p
        self.catalog = catalog
        self.camera = camera
        self.cid = p.connect(p.DIRECT)
        p.setGravity(0, 0, GRAVITY, physicsClientId=self.cid)
        p.setTimeStep(TIME_STEP, physicsClientId=self.cid)
        p.setPhysicsEngineParameter(numSolverIterations=30, deterministicOverlappingPairs=1,
                                    physicsClientId=self.cid)
        self._shapes: dict[int, tuple[int, int, int]] = {}
        self._textures: dict[str, int] = {}
        self.placed: dict[int, Placed] = {}  # instance -> Placed
        self._next_instance = 1
        self.static_bodies: list[int] = []
        self._view = camera.view_matrix()
        self._proj = camera.projection_matrix()
        self._build_tote(tote)

    # -- construction -------------------------------------------------------------------------
    def close(self) -> None:
        if self.cid is not None and self.p.isConnected(self.cid):
            self.p.disconnect(self.cid)
        self.cid = None

    def __enter__(self) -> "BinScene":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _box(self, half, pos, rgba, texture: int | None = None) -> int:
        p = self.p
        col = p.createCollisionShape(p.GEOM_BOX, halfExtents=half, physicsClientId=self.cid)
        vis = p.createVisualShape(p.GEOM_BOX, halfExtents=half, rgbaColor=rgba, physicsClientId=self.cid)
        body = p.createMultiBody(0, col, vis, pos, physicsClientId=self.cid)
        if texture is not None:
            p.changeVisualShape(body, -1, textureUniqueId=texture, physicsClientId=self.cid)
        p.changeDynamics(body, -1, lateralFriction=0.6, physicsClientId=self.cid)
        return body

    def _build_tote(self, tote: bool) -> None:
        """Floor plane (large, grey) and, if ``tote``, a bin: floor slab plus four walls."""
        ground = self._box([1.0, 1.0, 0.01], [0, 0, -0.0105], [0.32, 0.32, 0.34, 1])
        self.static_bodies.append(ground)
        if not tote:
            return
        ix, iy = TOTE_INNER[0] / 2, TOTE_INNER[1] / 2
        t, h = TOTE_WALL_T, TOTE_WALL_H
        wall = [0.18, 0.36, 0.62, 1]
        self.static_bodies.append(self._box([ix, iy, 0.0005], [0, 0, -0.0005], [0.55, 0.57, 0.6, 1]))
        for half, pos in (
            ([ix + 2 * t, t, h / 2], [0, iy + t, h / 2]),
            ([ix + 2 * t, t, h / 2], [0, -iy - t, h / 2]),
            ([t, iy, h / 2], [ix + t, 0, h / 2]),
            ([t, iy, h / 2], [-ix - t, 0, h / 2]),
        ):
            self.static_bodies.append(self._box(half, pos, wall))

    def _texture(self, rel: str) -> int:
        if rel not in self._textures:
            self._textures[rel] = self.p.loadTexture(str(self.catalog.path(rel)), physicsClientId=self.cid)
        return self._textures[rel]

    def _shape(self, obj: CatalogObject) -> tuple[int, int, int]:
        """(collision, visual, texture) shape ids for a catalog object, created once per client."""
        if obj.id in self._shapes:
            return self._shapes[obj.id]
        p, c = self.p, self.cid
        ex = obj.extents
        white = [1, 1, 1, 1]
        if obj.shape == "box":
            half = [e / 2 for e in ex]
            col = p.createCollisionShape(p.GEOM_BOX, halfExtents=half, physicsClientId=c)
            vis = p.createVisualShape(p.GEOM_BOX, halfExtents=half, rgbaColor=white, physicsClientId=c)
        elif obj.shape == "cylinder":
            col = p.createCollisionShape(p.GEOM_CYLINDER, radius=ex[0] / 2, height=ex[2], physicsClientId=c)
            vis = p.createVisualShape(p.GEOM_CYLINDER, radius=ex[0] / 2, length=ex[2], rgbaColor=white,
                                      physicsClientId=c)
        elif obj.shape == "sphere":
            col = p.createCollisionShape(p.GEOM_SPHERE, radius=ex[0] / 2, physicsClientId=c)
            vis = p.createVisualShape(p.GEOM_SPHERE, radius=ex[0] / 2, rgbaColor=white, physicsClientId=c)
        elif obj.shape == "mesh":
            fn = str(self.catalog.path(obj.mesh))
            s = [obj.mesh_scale] * 3
            col = p.createCollisionShape(p.GEOM_MESH, fileName=fn, meshScale=s, physicsClientId=c)
            vis = p.createVisualShape(p.GEOM_MESH, fileName=fn, meshScale=s, rgbaColor=white, physicsClientId=c)
        else:
            raise ValueError(f"object {obj.name}: unknown shape {obj.shape!r}")
        if col < 0 or vis < 0:
            raise RuntimeError(f"pybullet could not create the shape of {obj.name}")
        self._shapes[obj.id] = (col, vis, self._texture(obj.texture))
        return self._shapes[obj.id]

    # -- objects ------------------------------------------------------------------------------
    def spawn(self, obj: CatalogObject, pos, orn) -> int:
        """Add ``obj`` at ``pos`` / quaternion ``orn``; return its instance number."""
        p, c = self.p, self.cid
        col, vis, tex = self._shape(obj)
        body = p.createMultiBody(obj.mass, col, vis, list(pos), list(orn), physicsClientId=c)
        p.changeVisualShape(body, -1, textureUniqueId=tex, physicsClientId=c)
        p.changeDynamics(body, -1, lateralFriction=obj.friction, rollingFriction=0.0005,
                         spinningFriction=0.001, restitution=0.05, linearDamping=0.05,
                         angularDamping=0.05, physicsClientId=c)
        inst = self._next_instance
        self._next_instance += 1
        self.placed[inst] = Placed(inst, body, obj)
        return inst

    def remove(self, instance: int) -> None:
        pl = self.placed.pop(instance)
        self.p.removeBody(pl.body, physicsClientId=self.cid)

    def clear(self) -> None:
        for inst in list(self.placed):
            self.remove(inst)
        self._next_instance = 1

    def drop(self, objects: Iterable[CatalogObject], rng: np.random.Generator, steps: int) -> list[int]:
        """Drop objects one above the other at random poses into the tote and let them settle."""
        insts = []
        ix, iy = TOTE_INNER[0] / 2 - 0.05, TOTE_INNER[1] / 2 - 0.05
        for k, obj in enumerate(objects):
            pos = [rng.uniform(-ix, ix), rng.uniform(-iy, iy), 0.08 + 0.05 * k]
            q = rng.normal(size=4)
            q /= np.linalg.norm(q)
            insts.append(self.spawn(obj, pos, q.tolist()))
            # drop in small batches so objects interleave instead of stacking in a column
            if k % 3 == 2:
                self.step(40)
        self.settle(steps)
        self.discard_outside()
        return insts

    def step(self, n: int) -> None:
        for _ in range(n):
            self.p.stepSimulation(physicsClientId=self.cid)

    def settle(self, max_steps: int, *, min_steps: int = 30, chunk: int = 10,
               lin_tol: float = 0.01, ang_tol: float = 0.2) -> int:
        """Step until every object is at rest (speeds below the tolerances) or ``max_steps``;
        return the steps taken. Deterministic: the check happens at fixed step counts."""
        p, c = self.p, self.cid
        done = 0
        while done < max_steps:
            n = min(chunk, max_steps - done)
            self.step(n)
            done += n
            if done < min_steps:
                continue
            at_rest = True
            for pl in self.placed.values():
                lin, ang = p.getBaseVelocity(pl.body, physicsClientId=c)
                if max(map(abs, lin)) > lin_tol or max(map(abs, ang)) > ang_tol:
                    at_rest = False
                    break
            if at_rest:
                break
        return done

    def pose(self, instance: int) -> tuple[np.ndarray, np.ndarray]:
        pos, orn = self.p.getBasePositionAndOrientation(self.placed[instance].body, physicsClientId=self.cid)
        return np.array(pos), np.array(orn)

    def poses(self) -> dict[int, np.ndarray]:
        return {i: self.pose(i)[0] for i in self.placed}

    def discard_outside(self) -> list[int]:
        """Remove objects that left the tote (fell over a wall); return their instance numbers."""
        gone = []
        ix, iy = TOTE_INNER[0] / 2 + 0.01, TOTE_INNER[1] / 2 + 0.01
        for inst in list(self.placed):
            x, y, z = self.pose(inst)[0]
            if abs(x) > ix or abs(y) > iy or z < -0.02 or z > TOTE_WALL_H + 0.1:
                self.remove(inst)
                gone.append(inst)
        return gone

    # -- rendering ----------------------------------------------------------------------------
    def _raw(self, lighting: Lighting, shadows: bool, camera: BinCamera | None = None):
        p = self.p
        cam = camera or self.camera
        view = self._view if camera is None else cam.view_matrix()
        proj = self._proj if camera is None else cam.projection_matrix()
        w, h, rgba, depth, seg = p.getCameraImage(
            cam.width_px, cam.height_px, view, proj, renderer=p.ER_TINY_RENDERER,
            shadow=int(shadows), lightDirection=list(lighting.direction), lightColor=list(lighting.color),
            lightDistance=lighting.distance, lightAmbientCoeff=lighting.ambient,
            lightDiffuseCoeff=lighting.diffuse, lightSpecularCoeff=lighting.specular,
            physicsClientId=self.cid)
        rgba = np.asarray(rgba, dtype=np.uint8).reshape(h, w, 4)
        depth = cam.linearize_depth(np.asarray(depth, dtype=np.float64).reshape(h, w)).astype(np.float32)
        seg = np.asarray(seg, dtype=np.int64).reshape(h, w)
        return rgba[..., :3].copy(), depth, seg

    def _ids_from_seg(self, seg: np.ndarray) -> np.ndarray:
        body_to_inst = {pl.body: inst for inst, pl in self.placed.items()}
        ids = np.zeros(seg.shape, np.int32)
        for body, inst in body_to_inst.items():
            ids[seg == body] = inst
        return ids

    def render(self, lighting: Lighting = Lighting(), shadows: bool = True,
               camera: BinCamera | None = None) -> Frame:
        """Clean RGB-D + instance ids (nuisances are applied by world.nuisance)."""
        rgb, depth, seg = self._raw(lighting, shadows, camera)
        return Frame(rgb=rgb, depth=depth, ids=self._ids_from_seg(seg), lighting=lighting)

    def amodal_masks(self, instances: Iterable[int]) -> dict[int, np.ndarray]:
        """Full (amodal) silhouette of each instance: the object rendered alone from the same camera.

        Every other object is parked far below the camera's far plane for the render and put back
        at exactly the same pose afterwards (physics is not stepped in between).
        """
        p, c = self.p, self.cid
        saved = {i: p.getBasePositionAndOrientation(pl.body, physicsClientId=c) for i, pl in self.placed.items()}
        hidden = list(self.static_bodies)
        saved_static = {b: p.getBasePositionAndOrientation(b, physicsClientId=c) for b in hidden}
        out = {}
        try:
            for b in hidden:
                p.resetBasePositionAndOrientation(b, [0, 0, -50], [0, 0, 0, 1], physicsClientId=c)
            for i, pl in self.placed.items():
                p.resetBasePositionAndOrientation(pl.body, [0, 0, -50 - i], [0, 0, 0, 1], physicsClientId=c)
            for inst in instances:
                body = self.placed[inst].body
                p.resetBasePositionAndOrientation(body, *saved[inst], physicsClientId=c)
                _, _, seg = self._raw(Lighting(), False)
                out[inst] = seg == body
                p.resetBasePositionAndOrientation(body, [0, 0, -50 - inst], [0, 0, 0, 1], physicsClientId=c)
        finally:
            for b, (pos, orn) in saved_static.items():
                p.resetBasePositionAndOrientation(b, pos, orn, physicsClientId=c)
            for i, (pos, orn) in saved.items():
                p.resetBasePositionAndOrientation(self.placed[i].body, pos, orn, physicsClientId=c)
        return out


def thumbnail(catalog: Catalog, obj: CatalogObject, size: int = 96) -> np.ndarray:
    """A close-up render of one catalog object resting on a grey floor (for galleries)."""
    ext = max(obj.extents)
    fov = 2 * math.degrees(math.atan(0.75 * ext / 0.75))
    cam = BinCamera(size, size, fov)
    with BinScene(catalog, cam, tote=False) as scene:
        scene.spawn(obj, [0, 0, max(obj.extents) / 2 + 0.005], [0, 0, 0, 1])
        scene.step(120)
        pos, _ = scene.pose(1)
        scene.p.resetBasePositionAndOrientation(scene.placed[1].body, [0, 0, pos[2]], scene.pose(1)[1],
                                                physicsClientId=scene.cid)
        return scene.render(Lighting(), shadows=True).rgb
