"""The overhead RGB-D camera: pybullet matrices, pinhole intrinsics (OpenCV convention) and
extrinsics, depth-buffer linearization and back-projection.

The world frame has the bin floor at z = 0 with the bin centred on the origin; the camera looks
straight down from ``height`` metres with the image's up direction along +y. Intrinsics are those
of the ideal pinhole that TinyRenderer implements: ``fx = fy = (H/2) / tan(fov_y/2)``,
``cx = W/2``, ``cy = H/2``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

BIN_VIEW_Y_M = 0.36  # metres of the bin floor spanned by the image rows
CAMERA_HEIGHT_M = 0.75


@dataclasses.dataclass(frozen=True)
class BinCamera:
    height_px: int
    width_px: int
    fov_y_deg: float
    eye_height_m: float = CAMERA_HEIGHT_M
    near: float = 0.1
    far: float = 2.0

    @classmethod
    def for_size(cls, height_px: int, width_px: int) -> "BinCamera":
        if height_px < 8 or width_px < 8:
            raise ValueError(f"camera image too small: {height_px}x{width_px}")
        fov = 2 * math.degrees(math.atan((BIN_VIEW_Y_M / 2) / CAMERA_HEIGHT_M))
        return cls(height_px, width_px, fov)

    # -- pybullet ---------------------------------------------------------------------------
    def view_matrix(self) -> list[float]:
        import pybullet as p

        return p.computeViewMatrix([0, 0, self.eye_height_m], [0, 0, 0], [0, 1, 0])

    def projection_matrix(self) -> list[float]:
        import pybullet as p

        return p.computeProjectionMatrixFOV(self.fov_y_deg, self.width_px / self.height_px, self.near, self.far)

    # -- OpenCV-style calibration ---------------------------------------------------------------
    @property
    def K(self) -> np.ndarray:
        f = (self.height_px / 2) / math.tan(math.radians(self.fov_y_deg) / 2)
        return np.array([[f, 0, self.width_px / 2], [0, f, self.height_px / 2], [0, 0, 1.0]])

    @property
    def T_world_from_camera(self) -> np.ndarray:
        """4x4 pose of the camera (x right, y down, z forward) in the world frame."""
        T = np.eye(4)
        T[:3, :3] = np.array([[1, 0, 0], [0, -1, 0], [0, 0, -1.0]])
        T[:3, 3] = [0, 0, self.eye_height_m]
        return T

    @property
    def T_camera_from_world(self) -> np.ndarray:
        return np.linalg.inv(self.T_world_from_camera)

    def pixels_per_meter(self, z: float = 0.0) -> float:
        """Image scale for a surface at world height ``z``."""
        return float(self.K[1, 1] / (self.eye_height_m - z))

    def linearize_depth(self, buffer: np.ndarray) -> np.ndarray:
        """OpenGL depth buffer in [0, 1] -> metric depth along the optical axis (metres)."""
        return self.far * self.near / (self.far - (self.far - self.near) * buffer)

    def world_to_pixel(self, xyz: np.ndarray) -> np.ndarray:
        """Project world points (N x 3) to pixel coordinates (N x 2, as (u=col, v=row))."""
        xyz = np.atleast_2d(xyz)
        cam = (self.T_camera_from_world @ np.c_[xyz, np.ones(len(xyz))].T)[:3]
        uv = (self.K @ cam)[:2] / cam[2]
        return uv.T

    def backproject(self, depth: np.ndarray) -> np.ndarray:
        """Metric depth (H x W) -> world points (H x W x 3)."""
        h, w = depth.shape
        K = self.K
        v, u = np.mgrid[0:h, 0:w].astype(float)
        x = (u + 0.5 - K[0, 2]) / K[0, 0] * depth
        y = (v + 0.5 - K[1, 2]) / K[1, 1] * depth
        cam = np.stack([x, y, depth, np.ones_like(depth)], -1)
        return (cam @ self.T_world_from_camera.T)[..., :3]

    def as_dict(self) -> dict:
        """Stored calibration (JSON-friendly), as in a real camera's calibration file."""
        return {
            "height": self.height_px, "width": self.width_px,
            "K": np.round(self.K, 6).tolist(),
            "T_world_from_camera": np.round(self.T_world_from_camera, 6).tolist(),
            "depth_unit": "metre", "convention": "opencv (x right, y down, z forward)",
        }
