import numpy as np
import pytest

from robopercept.world.camera import BinCamera


def test_project_backproject_round_trip():
    cam = BinCamera.for_size(160, 240)
    pts = np.array([[0.0, 0.0, 0.0], [0.1, -0.05, 0.02], [-0.15, 0.1, 0.05]])
    uv = cam.world_to_pixel(pts)
    # the optical axis hits the image centre; +y in the world is up in the image
    np.testing.assert_allclose(uv[0], [120, 80])
    assert uv[1, 0] > 120 and uv[1, 1] > 80
    depth = np.full((160, 240), cam.eye_height_m - 0.02)
    world = cam.backproject(depth)
    u, v = uv[1]
    np.testing.assert_allclose(world[int(v), int(u)][:2], pts[1][:2], atol=2 / cam.pixels_per_meter())


def test_depth_linearization_ends():
    cam = BinCamera.for_size(64, 96)
    np.testing.assert_allclose(cam.linearize_depth(np.array([0.0, 1.0])), [cam.near, cam.far])


def test_too_small():
    with pytest.raises(ValueError, match="too small"):
        BinCamera.for_size(4, 4)
