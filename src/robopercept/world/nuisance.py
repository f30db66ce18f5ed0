"""Nuisances that defeat image subtraction (before/after image pairs of a bin), each with a rate or strength.

Image subtraction assumes the only pixels that change between the before and the after image
belong to the grasped object. In a real bin that fails because:

* **neighbours move** — physics (``world.scene``) lets objects slide into the hole the grasped one
  leaves; in addition, with probability ``neighbour_bump_rate`` the gripper disturbs a neighbour
  on its way out (``world.suction.bump_neighbour``);
* **lighting changes** — with probability ``light_change_rate`` the light direction, intensity and
  tint of consecutive images differ by up to ``light_change_strength`` (a Markov chain over the
  images of one bin, so the after image of grasp *i* is exactly the before image of grasp *i+1*);
* **specular reflections** — glossy objects and the tote's glossy plastic get Blinn-Phong highlights
  computed from surface normals (from depth) and the current light, so highlights *move* when the
  light or the objects do (TinyRenderer's own specular term is weak and view-independent here);
* **shadows** — TinyRenderer's shadow map, toggled by ``shadows``; a shadow moves with the light;
* **sensor noise** — Gaussian noise on RGB (``rgb_noise_std`` grey levels) and depth.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .camera import BinCamera
from .scene import Frame, Lighting

TOTE_GLOSS = 0.35  # the tote's moulded plastic is mildly glossy
SHININESS = 60.0
LIGHT_DISTANCE_M = 1.2


def _normalize(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def initial_lighting(rng: np.random.Generator) -> Lighting:
    d = _normalize(np.array([rng.uniform(-0.5, 0.5), rng.uniform(-0.5, 0.5), 1.0]))
    return Lighting(direction=tuple(d.round(6)), gain=float(rng.uniform(0.95, 1.05)))


def next_lighting(prev: Lighting, rate: float, strength: float, rng: np.random.Generator) -> Lighting:
    """Lighting of the next image: unchanged, or perturbed by up to ``strength``."""
    # draw every random number whatever the branch, so a change of rate keeps the stream aligned
    u, dd, dg, dc = rng.random(), rng.normal(size=3), rng.uniform(-1, 1), rng.uniform(-1, 1, size=3)
    if u >= rate or strength == 0:
        return prev
    d = _normalize(np.array(prev.direction) + strength * dd * np.array([1, 1, 0.3]))
    if d[2] < 0.3:  # keep the light above the bin
        d = _normalize(d * np.array([1, 1, 0]) + np.array([0, 0, 0.6]))
    color = np.clip(np.array(prev.color) + 0.25 * strength * dc, 0.75, 1.0)
    gain = float(np.clip(prev.gain * (1 + 0.5 * strength * dg), 0.7, 1.3))
    return dataclasses.replace(prev, direction=tuple(d.round(6)), color=tuple(color.round(6)), gain=gain)


def normals_from_depth(depth: np.ndarray, camera: BinCamera) -> np.ndarray:
    """Unit surface normals (H x W x 3, world frame) by finite differences of back-projected depth."""
    pts = camera.backproject(depth.astype(np.float64))
    dx = np.gradient(pts, axis=1)
    dy = np.gradient(pts, axis=0)
    n = np.cross(dx, dy)
    n /= np.linalg.norm(n, axis=-1, keepdims=True) + 1e-12
    n[n[..., 2] < 0] *= -1  # face the camera
    return n


def gloss_map(ids: np.ndarray, gloss_of_instance: dict[int, float]) -> np.ndarray:
    g = np.full(ids.shape, TOTE_GLOSS, np.float32)
    for inst, gloss in gloss_of_instance.items():
        g[ids == inst] = gloss
    return g


def observe(frame: Frame, camera: BinCamera, gloss: np.ndarray, rng: np.random.Generator, *,
            specular_strength: float, rgb_noise_std: float, depth_noise_std_m: float) -> tuple[np.ndarray, np.ndarray]:
    """The sensor's view of a clean render: exposure, specular highlights, noise.

    Returns (rgb uint8, depth float32 metres). Uses exactly ``2 * H * W`` normal draws from ``rng``.
    """
    light = frame.lighting
    rgb = frame.rgb.astype(np.float32) * light.gain
    if specular_strength > 0:
        n = normals_from_depth(frame.depth, camera)
        pts = camera.backproject(frame.depth.astype(np.float64))
        view = camera.T_world_from_camera[:3, 3] - pts
        view /= np.linalg.norm(view, axis=-1, keepdims=True)
        # a positioned light (LIGHT_DISTANCE_M along its direction) makes a highlight *spot* that
        # moves with the light and with the surfaces, instead of a uniform sheen on flat surfaces
        to_light = LIGHT_DISTANCE_M * _normalize(np.array(light.direction)) - pts
        to_light /= np.linalg.norm(to_light, axis=-1, keepdims=True)
        half = view + to_light
        half /= np.linalg.norm(half, axis=-1, keepdims=True)
        spec = np.clip((n * half).sum(-1), 0, 1) ** SHININESS
        highlight = 255 * specular_strength * gloss * spec * light.gain
        rgb += highlight[..., None] * np.array(light.color, np.float32)
    h, w = frame.depth.shape
    noise = rng.normal(size=(2, h, w)).astype(np.float32)
    rgb += rgb_noise_std * noise[0][..., None]
    depth = frame.depth + depth_noise_std_m * noise[1]
    return np.clip(rgb, 0, 255).round().astype(np.uint8), depth.astype(np.float32)
