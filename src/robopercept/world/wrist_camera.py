"""A wrist-mounted RGB-D camera at an arbitrary pose, and the fixed arc trajectory a robot arm moves it along over a
static tabletop scene (the recordings of dense-object-net training data).

:class:`PosedCamera` renders through :class:`~robopercept.world.scene.BinScene` like the overhead
:class:`~robopercept.world.camera.BinCamera` (same interface: size, pybullet matrices, depth linearisation), but from
a camera-to-world pose ``T_wc`` in OpenCV's camera frame (x right, y down, z forward). Its intrinsics ``K`` use the
pixel-*index* convention of the dense-correspondence code (a pixel's ray is ``K⁻¹ [u, v, 1]`` with u, v integer
indices), which for OpenGL's pixel centres at u + 0.5 puts the principal point at ``(W − 1) / 2, (H − 1) / 2``.

:func:`arc_trajectory` is one fixed end-effector path for every scene (as the paper records "all scenes [...] using
the same robot end-effector trajectory"): the camera circles the table centre while its elevation rises and falls,
always looking at the centre; :func:`subsample` keeps a pose only once it has turned by ``min_angle_deg`` *and* moved
by ``min_translation_m`` since the last kept one (the paper: at least 5° and 2 cm).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np


@dataclasses.dataclass(frozen=True)
class PosedCamera:
    height_px: int
    width_px: int
    fov_y_deg: float
    T_wc: tuple[tuple[float, ...], ...]  # 4 x 4 camera-to-world (OpenCV camera frame), as nested tuples
    near: float = 0.05
    far: float = 3.0

    @classmethod
    def at(cls, T_wc: np.ndarray, height_px: int, width_px: int, fov_y_deg: float = 42.5) -> "PosedCamera":
        """The D435's colour camera has a ~42.5° vertical field of view."""
        return cls(height_px, width_px, fov_y_deg, tuple(tuple(float(v) for v in row) for row in np.asarray(T_wc)))

    @property
    def pose(self) -> np.ndarray:
        return np.array(self.T_wc, dtype=np.float64)

    @property
    def K(self) -> np.ndarray:
        f = (self.height_px / 2) / math.tan(math.radians(self.fov_y_deg) / 2)
        return np.array([[f, 0, (self.width_px - 1) / 2], [0, f, (self.height_px - 1) / 2], [0, 0, 1.0]])

    def view_matrix(self) -> list[float]:
        import pybullet as p

        T = self.pose
        eye = T[:3, 3]
        forward, down = T[:3, 2], T[:3, 1]
        return p.computeViewMatrix(eye.tolist(), (eye + forward).tolist(), (-down).tolist())

    def projection_matrix(self) -> list[float]:
        import pybullet as p

        return p.computeProjectionMatrixFOV(self.fov_y_deg, self.width_px / self.height_px, self.near, self.far)

    def linearize_depth(self, buffer: np.ndarray) -> np.ndarray:
        return self.far * self.near / (self.far - (self.far - self.near) * buffer)


def look_at(eye: np.ndarray, target: np.ndarray, world_up: np.ndarray = np.array([0.0, 0.0, 1.0])) -> np.ndarray:
    """Camera-to-world pose (OpenCV frame) of a camera at ``eye`` looking at ``target``."""
    z = np.asarray(target, float) - np.asarray(eye, float)
    z /= np.linalg.norm(z)
    x = np.cross(z, world_up)
    if np.linalg.norm(x) < 1e-9:  # looking straight down: any horizontal x
        x = np.array([1.0, 0.0, 0.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    T = np.eye(4)
    T[:3, 0], T[:3, 1], T[:3, 2], T[:3, 3] = x, y, z, eye
    return T


def arc_trajectory(n: int = 600, *, radius_m: float = 0.55, min_elevation_deg: float = 35.0,
                   max_elevation_deg: float = 75.0, turns: float = 0.9, target_height_m: float = 0.02) -> np.ndarray:
    """``n`` camera-to-world poses (n, 4, 4) along the fixed arc: azimuth over ``turns`` of a circle, elevation up and
    down once, always looking at the table centre."""
    t = np.linspace(0.0, 1.0, n)
    az = 2 * math.pi * turns * t
    el = np.radians(min_elevation_deg + (max_elevation_deg - min_elevation_deg) * np.sin(math.pi * t))
    eyes = np.stack([radius_m * np.cos(el) * np.cos(az), radius_m * np.cos(el) * np.sin(az),
                     target_height_m + radius_m * np.sin(el)], 1)
    return np.stack([look_at(e, np.array([0.0, 0.0, target_height_m])) for e in eyes])


def rotation_angle_deg(Ra: np.ndarray, Rb: np.ndarray) -> float:
    c = (np.trace(Ra.T @ Rb) - 1) / 2
    return math.degrees(math.acos(float(np.clip(c, -1.0, 1.0))))


def subsample(poses: np.ndarray, min_angle_deg: float = 5.0, min_translation_m: float = 0.02) -> list[int]:
    """Indices of the poses kept: the first, then each pose that has turned and moved enough since the last kept."""
    kept = [0]
    for i in range(1, len(poses)):
        last = poses[kept[-1]]
        if rotation_angle_deg(last[:3, :3], poses[i][:3, :3]) >= min_angle_deg and \
                np.linalg.norm(poses[i][:3, 3] - last[:3, 3]) >= min_translation_m:
            kept.append(i)
    return kept
