"""Algorithm 1 (p-confidence masks) and Algorithm 2 (Union-NMS) on hand-made samples with worked answers."""

import numpy as np
import pytest

from typing import Sequence

from robopercept.latentmrcnn.confidence import MIN_SCORE, PAPER_P, Sample, _pool, confidence_masks, n_required, union_nms

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
    # a detection scoring <= min_score is dropped before matching: it cannot be one of the K samples
    faint = [sample((a, 0.9)), sample((a, 0.9)), sample((a, 0.08)), sample((a, 0.08))]
    assert len(confidence_masks(faint, p=0.5)[0]) == 1  # K = 2: the two confident samples suffice
    assert len(confidence_masks(faint, p=0.75)[0]) == 0  # K = 3: only two samples kept a detection


def test_later_picks_are_scored_against_the_full_sample_masks():
    # Sample 1 predicts X (10 x 10); sample 2 splits it: Y1 (the left 8 columns) and Y2 (X's last 2 columns and 2 more).
    X, Y1, Y2 = rect(0, 10, 0, 10), rect(0, 10, 0, 8), rect(0, 10, 8, 12)
    masks, scores = confidence_masks([sample((X, 0.9)), sample((Y1, 0.9), (Y2, 0.9))], p=1.0)
    assert len(masks) == 2
    assert np.array_equal(masks[0], rect(0, 10, 0, 8))  # X ∩ Y1 = 80 px: 1/2 (0.9·80/100 + 0.9·80/80)
    assert scores[0] == pytest.approx(0.5 * (0.9 * 80 / 100 + 0.9 * 80 / 80))
    assert np.array_equal(masks[1], rect(0, 10, 8, 10))  # what is left of X, inside Y2: 20 px
    # scored against |X| = 100 and |Y2| = 40 as predicted; against X's remaining 20 px it would be 0.675
    assert scores[1] == pytest.approx(0.5 * (0.9 * 20 / 100 + 0.9 * 20 / 40))


def test_empty_samples_give_no_masks():
    masks, scores = confidence_masks([sample(), sample()], p=0.5)
    assert masks.shape == (0, H, W) and scores.shape == (0,)
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
    # Algorithm 2 adds every later mask over the threshold to S[i], one already suppressed by an earlier mask too:
    # ordered A (0.9), C (0.8), B (0.7), A suppresses B and C is kept; B joins C's union as well
    masks, scores = union_nms([sample((A, 0.9)), sample((C, 0.8)), sample((B, 0.7))], iou_threshold=0.4)
    assert len(masks) == 2 and np.array_equal(masks[0], A | B) and np.array_equal(masks[1], C | B)
    assert list(scores) == [0.9, 0.8]
    # at threshold 1 nothing is suppressed: plain pooling
    assert len(union_nms([sample((A, 0.9)), sample((A, 0.8))], iou_threshold=1.0)[0]) == 2
    assert union_nms([sample()])[0].shape == (0, H, W)  # no masks in, none out


def test_samples_of_different_sizes_are_refused():
    with pytest.raises(ValueError, match="image size"):
        union_nms([sample((rect(0, 2, 0, 2), 0.5)), (np.zeros((1, 5, 5), bool), np.ones(1))])


# The first implementation (dense, recomputing every overlap after each pick), kept as the reference the incremental one
# must reproduce exactly.
def _reference_confidence_masks(samples: Sequence[Sample], p: float = PAPER_P,
                     min_score: float = MIN_SCORE) -> tuple[np.ndarray, np.ndarray]:
    """Algorithm 1: greedy p-confidence masks of one image from its ``k`` samples. Returns masks (m, H, W), scores (m,)."""
    k = len(samples)
    K = n_required(p, k)
    M, s, which, hw = _pool(samples)
    M, s, which = M[s > min_score], s[s > min_score], which[s > min_score]
    out_m, out_s = [], []
    if len(M) == 0:
        return np.zeros((0, *hw), bool), np.zeros(0)
    rows = np.arange(len(M))
    by_sample = [np.flatnonzero(which == j) for j in range(k)]
    full = M.sum(1).astype(float)  # the sample masks' areas as predicted (the score's |m_j|)
    while True:
        Mf = M.astype(np.float32)
        area = Mf.sum(1)
        alive = area > 0
        if not alive.any():
            break
        inter = Mf @ Mf.T  # |q ∩ m| for every pair
        overlap = np.where(alive[:, None] & alive[None, :], inter / np.maximum(area[:, None], 1), -1.0)  # |q∩m|/|q|
        best_ov = np.full((len(M), k), -1.0)
        best_ix = np.zeros((len(M), k), int)
        for j, cols in enumerate(by_sample):
            if len(cols):
                a = overlap[:, cols].argmax(1)
                best_ov[:, j], best_ix[:, j] = overlap[rows, cols[a]], cols[a]
        own = which
        best_ix[rows, own], best_ov[rows, own] = rows, np.where(alive, 2.0, -1.0)  # a query is its own sample's match
        chosen = np.argsort(-best_ov, axis=1, kind="stable")[:, :K]  # the K samples with the best matches
        ok = alive & (np.take_along_axis(best_ov, chosen, 1) > 0).all(1)
        best, best_c, best_score = -1.0, None, 0.0
        for q in np.flatnonzero(ok):
            members = best_ix[q, chosen[q]]
            c = np.logical_and.reduce(M[members], axis=0)  # ĉ_p = ∩_{m_j ∈ I} m_j
            size = int(c.sum())
            if size == 0:
                continue
            score = float(np.mean(s[members] * size / full[members]))  # s_c = 1/|I| Σ s_j |c ∩ m_j| / |c ∪ m_j|
            if score > best:
                best, best_c, best_score = score, c, score
        if best_c is None or best_score < min_score:
            break
        out_m.append(best_c.reshape(hw))
        out_s.append(best_score)
        M = M & ~best_c[None]  # exclude the pixels of the confidence masks predicted so far
    if not out_m:
        return np.zeros((0, *hw), bool), np.zeros(0)
    return np.stack(out_m), np.asarray(out_s)




@pytest.mark.parametrize("seed", range(5))
def test_incremental_algorithm_equals_the_dense_reference(seed):
    rng = np.random.default_rng(seed)
    objs = [rect(int(y), int(y) + int(rng.integers(4, 9)), int(x), int(x) + int(rng.integers(4, 12)))
            for y, x in zip(rng.integers(0, H - 8, 6), rng.integers(0, W - 12, 6))]
    samples = []
    for _ in range(6):
        ms, ss = [], []
        for o in objs:
            if rng.random() < 0.8:  # an object is sometimes missing from a sample
                ms.append(np.roll(o, (int(rng.integers(-1, 2)), int(rng.integers(-2, 3))), axis=(0, 1)))
                ss.append(rng.uniform(0.05, 1))
        if rng.random() < 0.5:  # a merged pair, as an under-segmenting sample would predict
            ms.append(objs[0] | objs[1])
            ss.append(rng.uniform(0.05, 1))
        samples.append((np.stack(ms) if ms else np.zeros((0, H, W), bool), np.asarray(ss)))
    for p in (0.3, 0.5, 0.9, 1.0):
        a_m, a_s = confidence_masks(samples, p)
        b_m, b_s = _reference_confidence_masks(samples, p)
        assert np.array_equal(a_m, b_m) and np.allclose(a_s, b_s)
