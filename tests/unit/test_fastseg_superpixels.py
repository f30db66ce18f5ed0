"""§III-C grid superpixels: the one-step grid SLIC, under-segmentation error, and the grid <-> pixel mappings."""

import numpy as np
import pytest
import torch

from robopercept.fastseg.superpixels import (downsample_labels, grid_slic, rgb_to_lab, rgb_uint8_to_lab,
                                             undersegmentation_error, upsample)


def two_regions(h=32, w=48, edge=21):
    img = np.zeros((h, w, 3), np.uint8)
    img[:, :edge] = (200, 40, 40)
    img[:, edge:] = (30, 60, 200)
    seg = np.zeros((h, w), np.int64)
    seg[:, edge:] = 1
    return img, seg


def test_lab_matches_scikit_image():
    from skimage.color import rgb2lab

    rgb = np.random.default_rng(0).integers(0, 256, (8, 9, 3), dtype=np.uint8)
    ours = rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1).float() / 255).permute(1, 2, 0).numpy()
    assert np.abs(ours - rgb2lab(rgb)).max() < 0.05


def test_the_uint8_lab_path_is_the_float_formula():
    rgb = np.random.default_rng(1).integers(0, 256, (16, 24, 3), dtype=np.uint8)
    rgb[0, :4] = [(0, 0, 0), (255, 255, 255), (1, 2, 3), (10, 10, 10)]  # the dark end of both piecewise branches
    fast = rgb_uint8_to_lab(rgb).numpy()
    slow = rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1).float() / 255).numpy()
    assert fast.shape == (3, 16, 24) and fast.dtype == np.float32
    assert np.abs(fast - slow).max() < 1e-3


def test_uint8_and_float_inputs_give_the_same_superpixels():
    rng = np.random.default_rng(2)
    smooth = np.kron(rng.integers(0, 256, (8, 12, 3)), np.ones((8, 8, 1))).astype(np.uint8)  # blocks off the grid
    rgb = np.clip(smooth.astype(int) + rng.integers(-20, 21, smooth.shape), 0, 255).astype(np.uint8)
    from_uint8 = grid_slic(rgb, 4).numpy()
    from_float = grid_slic(torch.from_numpy(rgb).permute(2, 0, 1).float() / 255, 4).numpy()
    assert (from_uint8 != from_float).mean() < 1e-3  # float-rounding ties at most


def test_each_pixel_joins_one_of_the_nine_cells_around_its_own():
    img, _ = two_regions()
    k = 4
    idx = grid_slic(img, k).numpy()
    wc = 48 // k
    rows, cols = idx // wc, idx % wc
    own_r, own_c = np.mgrid[0:32, 0:48] // k
    assert np.abs(rows - own_r).max() <= 1 and np.abs(cols - own_c).max() <= 1
    assert idx.min() >= 0 and idx.max() < (32 // k) * wc


def test_superpixels_follow_a_colour_edge_off_the_grid_lines():
    img, seg = two_regions(edge=21)  # the edge cuts cells 5 (x 20..23) in two
    k = 4
    plain = np.arange(8 * 12).reshape(8, 12).repeat(k, 0).repeat(k, 1)
    idx = grid_slic(img, k).numpy()
    assert undersegmentation_error(idx, seg) < undersegmentation_error(plain, seg)
    assert undersegmentation_error(idx, seg) == 0  # a clean two-colour edge is followed exactly


def test_undersegmentation_error_counts_the_smaller_leak():
    seg = np.array([[0, 0, 1, 1]])
    assert undersegmentation_error(np.array([[0, 0, 1, 1]]), seg) == 0
    # one superpixel covering 3 pixels of segment 0 and 1 of segment 1: min(3, 1) + min(1, 3) = 2 over 4 pixels
    assert undersegmentation_error(np.array([[0, 0, 0, 0]]), np.array([[0, 0, 0, 1]])) == pytest.approx(0.5)


def test_downsample_takes_the_label_at_each_superpixels_centre_of_mass_and_upsample_inverts_it():
    img, seg = two_regions(edge=21)
    k = 4
    idx = grid_slic(img, k).numpy()
    grid = downsample_labels(seg, idx, k)
    assert grid.shape == (8, 12)
    back = upsample(grid, idx)
    assert (back == seg).all()  # superpixels follow the edge, so nothing is lost going down and back up
    t = upsample(torch.from_numpy(grid), torch.from_numpy(idx))
    assert torch.equal(t, torch.from_numpy(seg))


def test_grid_slic_refuses_sizes_it_cannot_tile():
    with pytest.raises(ValueError, match="must divide"):
        grid_slic(np.zeros((30, 48, 3), np.uint8), 4)
    with pytest.raises(ValueError, match="uint8"):
        grid_slic(np.zeros((30, 48), np.uint8), 3)
