"""Cut-and-paste (§III-B.2): invariants of the generated instance supervision."""

import numpy as np
import pytest

from robopercept.graspseg.paste import Crop, PasteConfig, PasteSampler, paste, transform_crop, visible_boundary

H, W = 64, 96


def disc(y, x, r, shape=(H, W)):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (yy - y) ** 2 + (xx - x) ** 2 <= r * r


def base_image(rng):
    img = rng.integers(0, 60, (H, W, 3), dtype=np.uint8)
    masks = np.stack([disc(20, 20, 8), disc(40, 70, 10)])
    img[masks[0]] = (200, 10, 10)
    img[masks[1]] = (10, 200, 10)
    return img, masks


def crops(rng, n=5):
    out = []
    for k in range(n):
        h, w = rng.integers(6, 20, 2)
        m = np.zeros((h, w), bool)
        m[1:-1, 1:-1] = True
        m[0, w // 2] = True
        rgb = np.zeros((h, w, 3), np.uint8)
        rgb[m] = (50 + 40 * k, 255, 255 - 40 * k)  # a colour no base pixel has
        out.append(Crop(rgb, m, source=f"crop{k}"))
    return out


@pytest.mark.parametrize("seed", range(12))
def test_pasted_masks_are_disjoint_and_own_every_changed_pixel(seed):
    rng = np.random.default_rng(seed)
    img, masks = base_image(rng)
    pool = crops(rng)
    res = paste(img, masks, pool, np.random.default_rng(100 + seed), PasteConfig(min_objects=5, max_objects=25))
    assert res.masks.dtype == bool and res.masks.shape[1:] == (H, W)
    owners = res.masks.sum(0)
    assert owners.max() <= 1, "instance masks overlap"
    assert (res.masks.sum((1, 2)) >= 1).all(), "a fully hidden instance was kept"
    assert len(res.sources) == len(res.masks) == len(res.pasted)
    # every pixel that changed belongs to exactly one pasted instance
    changed = (res.image != img).any(-1)
    pasted_px = res.masks[res.pasted].any(0)
    assert not (changed & ~pasted_px).any()
    # pixels of a pasted instance show a pasted crop's colour; the image's own instances keep theirs
    crop_colours = {tuple(c.rgb[c.mask][0]) for c in pool}
    for m, was_pasted in zip(res.masks, res.pasted):
        ys, xs = np.nonzero(m)
        colours = {tuple(res.image[y, x]) for y, x in zip(ys[:50], xs[:50])}
        if not was_pasted:
            assert colours <= {(200, 10, 10), (10, 200, 10)}
    # the image's own instances only lose pixels (occlusion), never gain any
    for m, src in zip(res.masks, res.sources):
        if src.startswith("image:"):
            k = int(src.split(":")[1])
            assert not (m & ~masks[k]).any()
    assert crop_colours  # (the pool has colours to compare against)
    # boundary: inside pasted instances only
    assert not (res.boundary & ~pasted_px).any()
    if res.pasted.any():
        assert res.boundary.any()


def test_occluded_instance_is_cut_and_fully_hidden_one_dropped():
    img = np.zeros((H, W, 3), np.uint8)
    small = disc(32, 48, 4)
    masks = small[None]
    big = Crop(np.full((41, 41, 3), 255, np.uint8), np.ones((41, 41), bool), "big")
    # the big square centred on the small disc hides it

    class Fixed:  # a generator that places the crop at the centre
        def integers(self, lo, hi=None):
            return 1 if hi == 2 else 0

        def uniform(self, lo, hi):
            return {(0.0, 360.0): 0.0, (0.75, 1.25): 1.0}.get((lo, hi), 32.0 if hi == H else 48.0)

    res = paste(img, masks, [big], Fixed(), PasteConfig(min_objects=1, max_objects=1))
    assert res.sources == ["big"] and res.pasted.tolist() == [True]
    assert res.masks[0].sum() == 41 * 41
    assert (res.image[res.masks[0]] == 255).all()


def test_same_seed_same_sample_and_sampler_is_order_free():
    rng = np.random.default_rng(1)
    img, masks = base_image(rng)
    pool = crops(rng)
    a = paste(img, masks, pool, np.random.default_rng(7))
    b = paste(img, masks, pool, np.random.default_rng(7))
    assert np.array_equal(a.image, b.image) and np.array_equal(a.masks, b.masks)
    sampler = PasteSampler([(img, masks), (img[::-1].copy(), masks[:, ::-1].copy())], pool, seed=3)
    forward = [sampler.sample(0, i).image for i in range(6)]
    backward = [sampler.sample(0, i).image for i in reversed(range(6))][::-1]
    assert all(np.array_equal(x, y) for x, y in zip(forward, backward))
    assert not np.array_equal(sampler.sample(1, 0).image, forward[0]) or not np.array_equal(
        sampler.sample(1, 1).image, forward[1])  # another epoch draws other samples


def test_transform_keeps_area_roughly_and_full_rotation():
    m = np.zeros((20, 30), bool)
    m[2:18, 3:27] = True
    c = Crop.cut(np.full((20, 30, 3), 9, np.uint8), m)  # outside the mask zeroed: no halo may come from it
    for angle in (0, 33, 90, 180, 271):
        for scale in (0.75, 1.0, 1.25):
            rgb, mask = transform_crop(c, angle, scale)
            assert abs(mask.sum() / (m.sum() * scale**2) - 1) < 0.12
            assert (rgb[mask] == 9).all(), (angle, scale, np.unique(rgb[mask]))  # boundary pixels included


def test_visible_boundary_is_the_inner_ring():
    m = disc(32, 48, 10)
    b = visible_boundary(m)
    assert (b <= m).all() and b.sum() < m.sum() / 2
    assert not b[32, 48] and b[32, 58]


def test_bad_inputs_are_named():
    img = np.zeros((H, W, 3), np.uint8)
    with pytest.raises(ValueError, match="empty mask"):
        Crop(np.zeros((3, 3, 3), np.uint8), np.zeros((3, 3), bool))
    with pytest.raises(ValueError, match="overlap"):
        paste(img, np.stack([disc(10, 10, 5), disc(12, 12, 5)]), [], np.random.default_rng(0),
              PasteConfig(max_objects=0))
    with pytest.raises(ValueError, match="no crops"):
        PasteSampler([(img, np.zeros((0, H, W), bool))], [], PasteConfig())
    with pytest.raises(ValueError, match="min_scale"):
        PasteConfig(min_scale=2.0, max_scale=1.0)
    with pytest.raises(ValueError, match="no base images"):
        PasteSampler([], [], PasteConfig(max_objects=0))
