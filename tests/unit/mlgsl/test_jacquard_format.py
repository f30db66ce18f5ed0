"""robopercept.formats.jacquard: round trip, a hand-written sample, malformed input."""

import math

import cv2
import numpy as np
import pytest
import tifffile

from robopercept.formats import jacquard
from robopercept.formats.jacquard import GraspRect, JacquardFormatError


def _sample(sid="0_abc", h=12, w=12):
    rng = np.random.default_rng(0)
    mask = np.zeros((h, w), bool)
    mask[3:9, 4:8] = True
    return jacquard.JacquardSample(
        sid, rng.integers(0, 255, (h, w, 3), dtype=np.uint8), np.full((h, w), 0.75, np.float32),
        np.where(mask, 0.7, 0.75).astype(np.float32), mask,
        [GraspRect(5.0, 6.0, math.radians(30), 8.0, 3.0), GraspRect(6.5, 5.25, -0.4, 5.0, 2.0)],
        {"objects": [{"object_id": 1}]})


def test_round_trip(tmp_path):
    s = _sample()
    jacquard.write_sample(tmp_path / "obj", s)
    (folder, sid), = jacquard.list_samples(tmp_path)
    r = jacquard.read_sample(folder, sid)
    assert sid == s.id
    np.testing.assert_array_equal(r.rgb, s.rgb)
    np.testing.assert_array_equal(r.perfect_depth, s.perfect_depth)
    np.testing.assert_array_equal(r.stereo_depth, s.stereo_depth)
    np.testing.assert_array_equal(r.mask, s.mask)
    assert r.scene == s.scene
    for a, b in zip(r.grasps, s.grasps):
        assert (a.row, a.col, a.opening, a.jaw) == pytest.approx((b.row, b.col, b.opening, b.jaw), abs=0.005)
        assert a.angle == pytest.approx(b.angle, abs=1e-3)


def test_hand_written_sample(tmp_path):
    """A sample written the way Jacquard ships it: x is the column, y the row, theta in degrees,
    clockwise on screen (y down) -> our counter-clockwise angle is -theta."""
    h = w = 8
    cv2.imwrite(str(tmp_path / "3_xyz_RGB.png"), np.zeros((h, w, 3), np.uint8))
    tifffile.imwrite(tmp_path / "3_xyz_perfect_depth.tiff", np.full((h, w), 1.5, np.float32))
    tifffile.imwrite(tmp_path / "3_xyz_stereo_depth.tiff", np.full((h, w), 1.5, np.float32))
    cv2.imwrite(str(tmp_path / "3_xyz_mask.png"), np.full((h, w), 255, np.uint8))
    (tmp_path / "3_xyz_grasps.txt").write_text("5.0;2.0;90.0;4.0;1.5\n2.5;6;-45;3;1\n")
    s = jacquard.read_sample(tmp_path, "3_xyz")
    g0, g1 = s.grasps
    assert (g0.row, g0.col) == (2.0, 5.0)
    assert g0.angle == pytest.approx(-math.pi / 2)
    assert (g0.opening, g0.jaw) == (4.0, 1.5)
    assert g1.angle == pytest.approx(math.pi / 4)
    # theta = 90 (clockwise on screen): the jaws close along the image's rows
    corners = g0.corners()
    assert np.ptp(corners[:, 1]) == pytest.approx(4.0)  # opening spans rows
    assert np.ptp(corners[:, 0]) == pytest.approx(1.5)
    assert s.mask.all() and s.scene is None


@pytest.mark.parametrize("line,what", [("1;2;3;4", "expected 5 fields"), ("1;2;x;4;5", "non-numeric"),
                                       ("1;2;3;0;5", "opening and jaw size must be > 0"), ("1;2;nan;4;5", "non-finite")])
def test_malformed_line_names_file_and_line(tmp_path, line, what):
    fn = tmp_path / "a_grasps.txt"
    fn.write_text("1;2;3;4;5\n" + line + "\n")
    with pytest.raises(JacquardFormatError, match=rf"a_grasps.txt:2: {what}"):
        jacquard.read_grasps(fn)


def test_missing_files_are_named(tmp_path):
    s = _sample()
    jacquard.write_sample(tmp_path, s)
    (tmp_path / f"{s.id}_stereo_depth.tiff").unlink()
    with pytest.raises(JacquardFormatError, match="stereo_depth.tiff: depth image missing"):
        jacquard.read_sample(tmp_path, s.id)
    (tmp_path / f"{s.id}_grasps.txt").unlink()
    with pytest.raises(JacquardFormatError, match="not a folder"):
        jacquard.list_samples(tmp_path / "nope")


def test_corrupt_tiff_is_named(tmp_path):
    s = _sample()
    jacquard.write_sample(tmp_path, s)
    (tmp_path / f"{s.id}_perfect_depth.tiff").write_bytes(b"not a tiff")
    with pytest.raises(JacquardFormatError, match="perfect_depth.tiff: unreadable TIFF"):
        jacquard.read_sample(tmp_path, s.id)
