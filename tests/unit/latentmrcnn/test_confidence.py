"""Algorithm 1 (p-confidence masks) and Algorithm 2 (Union-NMS) on hand-made samples with worked answers."""

import numpy as np
import pytest

from robopercept.latentmrcnn.confidence import confidence_masks, n_required, union_nms

H, W = 20, 30


def rect(y0, y1, x0, x1):
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


def sample(*masks_and_scores):
    if not masks_and_scores:
        return np.zeros((0, H, W), bool), np.zeros(0)
    ms, ss = zip(*masks_and_scores)
    return np.stack(ms), np.asarray(ss, float)


def test_required_samples_is_the_ceiling_of_p_k():
    assert n_required(0.9, 16) == 15  # the authors' floor would take 14 (87.5 % < 90 %)
    assert n_required(1.0, 8) == 8 and n_required(0.5, 3) == 2 and n_required(0.01, 4) == 1
    assert n_required(0.7, 10) == 7  # p·k = 7.000000000000001 in floats: still 7
    with pytest.raises(ValueError, match="p must be"):
        n_required(0.0, 4)
    with pytest.raises(ValueError, match="at least one sample"):
        n_required(0.5, 0)


def test_p_one_is_the_intersection_of_every_sample_with_the_papers_score():
    extents = [rect(2, 12, 2, 12), rect(2, 12, 4, 14), rect(4, 14, 2, 12), rect(2, 14, 2, 14)]
    scores = [0.9, 0.8, 0.7, 0.6]
    samples = [sample((m, s)) for m, s in zip(extents, scores)]
    masks, sc = confidence_masks(samples, p=1.0)
    assert len(masks) == 1
    want = rect(4, 12, 4, 12)  # the intersection of all four: 8 x 8
    assert np.array_equal(masks[0], want)
    # s_c = 1/|I| Σ s_j |c ∩ m_j| / |c ∪ m_j| = 1/4 Σ s_j · 64 / |m_j|
    expected = np.mean([0.9 * 64 / 100, 0.8 * 64 / 100, 0.7 * 64 / 100, 0.6 * 64 / 144])
    assert sc[0] == pytest.approx(expected)


def test_an_under_segmenting_sample_does_not_merge_two_objects():
    a, b = rect(2, 10, 2, 10), rect(2, 10, 11, 19)
    merged = a | b | rect(2, 10, 10, 11)
    samples = [sample((a, 0.9), (b, 0.9)) for _ in range(9)] + [sample((merged, 0.95))]
    masks, scores = confidence_masks(samples, p=0.9)
    assert len(masks) == 2
    got = sorted(masks, key=lambda m: np.flatnonzero(m.any(0))[0])
    assert np.array_equal(got[0], a) and np.array_equal(got[1], b)
    assert (masks.sum(0) <= 1).all()  # confidence masks never share a pixel


def test_an_object_in_too_few_samples_is_dropped_and_low_scores_stop_the_greedy_loop():
    a, ghost = rect(2, 10, 2, 10), rect(12, 18, 20, 28)
    samples = [sample((a, 0.9), (ghost, 0.9))] + [sample((a, 0.9)) for _ in range(3)]
    masks, _ = confidence_masks(samples, p=0.5)  # K = 2: the ghost is in one sample only
    assert len(masks) == 1 and np.array_equal(masks[0], a)
    masks, _ = confidence_masks(samples, p=0.25)  # K = 1: a single sample suffices
    assert len(masks) == 2
    weak = [sample((a, 0.05)) for _ in range(4)]
    assert len(confidence_masks(weak, p=0.5)[0]) == 0  # score 0.05 < 0.1


def test_empty_samples_give_no_masks():
    masks, scores = confidence_masks([sample(), sample()], p=0.5)
    assert masks.shape == (0, H, W) and scores.shape == (0,)
    assert union_nms([sample()])[0].shape == (0, H, W)
    with pytest.raises(ValueError, match="at least one sample"):
        confidence_masks([], p=0.5)


def test_union_nms_unions_what_it_suppresses_and_suppressed_masks_suppress_nothing():
    a = rect(2, 12, 2, 12)
    a2 = rect(3, 13, 3, 13)  # IoU with a = 81 / 119 = 0.68
    far = rect(14, 20, 20, 30)
    masks, scores = union_nms([sample((a, 0.9), (far, 0.5)), sample((a2, 0.8))], iou_threshold=0.5)
    assert len(masks) == 2
    assert np.array_equal(masks[0], a | a2) and scores[0] == 0.9
    assert np.array_equal(masks[1], far) and scores[1] == 0.5
    # a chain: b overlaps a and c, c does not overlap a. a suppresses b; c is not suppressed by b (gone)
    A, B, C = rect(0, 10, 0, 10), rect(0, 10, 3, 13), rect(0, 10, 6, 16)
    masks, scores = union_nms([sample((A, 0.9)), sample((B, 0.8)), sample((C, 0.7))], iou_threshold=0.4)
    assert len(masks) == 2 and np.array_equal(masks[0], A | B) and np.array_equal(masks[1], C)
    # at threshold 1 nothing is suppressed: plain pooling
    assert len(union_nms([sample((A, 0.9)), sample((A, 0.8))], iou_threshold=1.0)[0]) == 2


def test_samples_of_different_sizes_are_refused():
    with pytest.raises(ValueError, match="image size"):
        union_nms([sample((rect(0, 2, 0, 2), 0.5)), (np.zeros((1, 5, 5), bool), np.ones(1))])
