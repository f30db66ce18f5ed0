"""§III-B correspondences through depth and poses, checked on synthetic geometry with a known answer."""

import numpy as np

from robopercept.don.correspondence import backproject, find_matches, project, sample

K = np.array([[100.0, 0, 31.5], [0, 100.0, 23.5], [0, 0, 1]])  # 64 x 48, pixel-index convention
H, W = 48, 64


def look_down(x, y, z):
    """Camera at (x, y, z) looking straight down at the table (OpenCV frame: z forward = world -z)."""
    T = np.eye(4)
    T[:3, :3] = np.array([[1, 0, 0], [0, -1, 0], [0, 0, -1.0]])
    T[:3, 3] = [x, y, z]
    return T


def plane_depth(T, height=0.0):
    """Depth image of the plane z = height seen from a downward camera."""
    return np.full((H, W), T[2, 3] - height)


def test_matches_land_on_the_same_world_point():
    Ta, Tb = look_down(0, 0, 1.0), look_down(0.05, 0.02, 0.9)
    da, db = plane_depth(Ta), plane_depth(Tb)
    m = find_matches(da, Ta, db, Tb, K)
    assert len(m) > 0.5 * H * W
    pa = backproject(da, K, Ta)[m.uv_a[:, 1], m.uv_a[:, 0]]
    pb = backproject(db, K, Tb)[m.uv_b[:, 1], m.uv_b[:, 0]]
    # the two pixels see the same point up to B's rounding to a pixel (half a pixel at 0.9 m: 4.5 mm)
    assert np.abs(pa - pb).max() < 0.0046
    uv, z = project(pa, K, Tb)
    assert np.allclose(np.rint(uv), m.uv_b) and np.allclose(z, 0.9)


def test_occluded_and_out_of_view_pixels_are_dropped():
    Ta, Tb = look_down(0, 0, 1.0), look_down(0.1, 0, 1.0)  # B shifted 10 cm: 10 px of A fall out of B's view
    da, db = plane_depth(Ta), plane_depth(Tb)
    db[:, 10:20] = 0.5  # a box in front of the table in B's view hides what A sees there
    m = find_matches(da, Ta, db, Tb, K)
    assert not ((m.uv_b[:, 0] >= 10) & (m.uv_b[:, 0] < 20)).any()
    assert m.uv_a[:, 0].min() >= 10  # A's leftmost 10 columns project left of B's image
    full = find_matches(da, Ta, plane_depth(Tb), Tb, K)
    assert len(full) == H * (W - 10)


def test_mask_restricts_a_and_sampling_is_seeded():
    Ta, Tb = look_down(0, 0, 1.0), look_down(0.02, 0, 1.0)
    mask = np.zeros((H, W), bool)
    mask[10:20, 20:30] = True
    m = find_matches(plane_depth(Ta), Ta, plane_depth(Tb), Tb, K, mask_a=mask)
    assert len(m) == 100 and mask[m.uv_a[:, 1], m.uv_a[:, 0]].all()
    s1, s2 = sample(m, 500, np.random.default_rng(3)), sample(m, 500, np.random.default_rng(3))
    assert len(s1) == 500 and np.array_equal(s1.uv_a, s2.uv_a)
    assert len(sample(find_matches(np.zeros((H, W)), Ta, plane_depth(Tb), Tb, K), 10, np.random.default_rng(0))) == 0
