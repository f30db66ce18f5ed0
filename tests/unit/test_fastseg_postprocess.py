"""§III-B: instances from centres and embeddings, duplicate removal, the δ_a filter, and the all-to-all baseline."""

import numpy as np
import torch

from robopercept.fastseg.postprocess import PostSettings, all_to_all_instances, grid_instances, upsample_instances


def heads(duplicate_blob=False):
    """Two cars (class 3) side by side with embeddings 0 and 2 along one axis, a centre blob on each."""
    C, h, w = 9, 8, 12
    sem = torch.full((C, h, w), -5.0)
    sem[0] = 5.0
    sem[3, 2:6, 1:5], sem[0, 2:6, 1:5] = 5.0, -5.0
    sem[3, 2:6, 7:11], sem[0, 2:6, 7:11] = 5.0, -5.0
    centre = torch.full((1, h, w), -6.0)
    centre[0, 3:5, 2:4] = 4.0
    centre[0, 3:5, 8:10] = 4.0
    if duplicate_blob:  # two separate blobs on the first car, same embedding: the weaker is a duplicate
        centre[0, 3:5, 2:4] = -6.0
        centre[0, 2, 1] = 4.0
        centre[0, 5, 4] = 3.0
    emb = torch.zeros((4, h, w))
    emb[0, :, 6:] = 2.0
    return sem, centre, emb


def test_two_instances_recovered_with_their_masks_and_scores():
    sem, centre, emb = heads()
    grid, inst = grid_instances(sem, centre, emb)
    assert grid.shape == (8, 12) and len(inst) == 2
    masks = sorted((i.mask for i in inst), key=lambda m: np.nonzero(m)[1].min())
    assert masks[0].sum() == 16 and masks[0][2:6, 1:5].all() and masks[1][2:6, 7:11].all()
    assert all(i.class_index == 3 and i.score > 0.9 for i in inst)


def test_a_second_blob_with_the_same_embedding_is_a_duplicate():
    sem, centre, emb = heads(duplicate_blob=True)
    from robopercept.fastseg.postprocess import _blobs

    assert _blobs(torch.sigmoid(centre[0]).numpy() > 0.7)[1] == 3  # three blobs, two on one car
    _, inst = grid_instances(sem, centre, emb)
    assert len(inst) == 2 and max(i.score for i in inst if i.mask[2, 1]) > 0.98  # the stronger blob kept


def test_elements_far_from_every_centre_are_dropped():
    sem, centre, emb = heads()
    emb[1, 2, 1] = 0.5  # one element of the first car 0.5 from its centre: beyond δ_a
    _, inst = grid_instances(sem, centre, emb)
    assert sum(i.mask.sum() for i in inst) == 31
    _, loose = grid_instances(sem, centre, emb, PostSettings(assign_distance=1.0))
    assert sum(i.mask.sum() for i in loose) == 32


def test_no_centre_above_threshold_no_instance():
    sem, centre, emb = heads()
    _, inst = grid_instances(sem, torch.full_like(centre, -1.0), emb)
    assert inst == []


def test_all_to_all_baseline_finds_the_same_two_clusters_without_centres():
    sem, _, emb = heads()
    _, inst = all_to_all_instances(sem, emb, PostSettings(min_pixels=4))
    assert len(inst) == 2 and sorted(int(i.mask.sum()) for i in inst) == [16, 16]


def test_upsampling_through_the_superpixel_index():
    sem, centre, emb = heads()
    grid, inst = grid_instances(sem, centre, emb)
    index = np.arange(8 * 12).reshape(8, 12).repeat(2, 0).repeat(2, 1)  # k = 2, a plain grid
    full, up = upsample_instances(grid, inst, index)
    assert full.shape == (16, 24) and all(u.mask.sum() == 4 * i.mask.sum() for u, i in zip(up, inst))
    assert [i.mask.sum() for i in upsample_instances(grid, inst, None)[1]] == [i.mask.sum() for i in inst]
    assert upsample_instances(grid, inst, None, min_pixels=17)[1] == []  # each car is 16 elements


def test_the_mask_probe_counts_what_the_assignment_filter_drops(tmp_path):
    import math

    import pytest

    from robopercept.fastseg.dataset import FrameSet
    from robopercept.fastseg.mask_probe import probe
    from robopercept.fastseg.model import FastSeg, ModelSettings
    from robopercept.formats import cityscapes as C

    ids = C.label_ids()
    rng = np.random.default_rng(0)
    for i in range(2):
        labels = np.full((64, 128), ids["road"], np.int64)
        inst = labels.copy()
        labels[20:50, 10:60], inst[20:50, 10:60] = ids["car"], ids["car"] * 1000
        C.write_frame(tmp_path / "cs", "val", C.stem("simtown", 0, i), rng.integers(0, 255, (64, 128, 3), np.uint8),
                      labels, inst)
    ds = FrameSet(tmp_path / "cs", "val")
    torch.manual_seed(0)
    m = FastSeg(ModelSettings(decoder_width=8, dec_os=4)).eval()
    with torch.no_grad():  # every element a confident centre of class "car": the filter alone decides the masks
        m.centre.head.bias.fill_(10.0)
        m.semantic.head.bias.zero_()
        m.semantic.head.bias[3] = 50.0
    rows = probe(m, ds, 0.5, [1e-6, math.inf], min_pixels=1)
    tight, loose = rows
    assert loose["unassigned_share"] == 0 and tight["unassigned_share"] >= loose["unassigned_share"]
    assert loose["instances"] >= 1 and 0 <= loose["iou_median"] <= 1
    with pytest.raises(ValueError, match="threshold"):
        probe(m, ds, 1.5, [0.1])
    with pytest.raises(ValueError, match="assignment distances"):
        probe(m, ds, 0.5, [0.0])
