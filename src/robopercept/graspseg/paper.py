"""The numbers paper ``graspseg`` publishes, written down once.

Everything here is the paper's, never ours: tables, figures and notebook prose show these values only
in columns or sentences labeled as the paper's, and format them from this module (no notebook types a
paper number). Sources are the paper's sections and tables (``../shared/papers/graspseg.txt`` with the
restored tables of its README).
"""

from __future__ import annotations

# Table I (real robot data), in the paper's row order: method -> (mIOU, relative error %, recall %).
TABLE1: dict[str, tuple[float, float, float]] = {
    "Subtract": (51.1, 396, 98.6), "Subtract-Filter": (61.6, 44.5, 50.4),
    "MOG": (51.8, 333, 98.3), "MOG-Filter": (59.9, 47.1, 65.4),
    "MOG2": (32.4, 1289, 99.8), "MOG2-Filter": (47.3, 970, 42.0),
    "LSBP": (37.7, 1050, 99.8), "LSBP-Filter": (55.6, 359, 44.0),
    "Grasp-100-NoAug": (78.3, 31.5, 100), "Grasp-100": (78.7, 22.6, 99.8),
    "Grasp-100-NoAug-Filter": (80.4, 26.9, 92.3), "Grasp-200": (86.8, 14.3, 99.6),
    "Grasp-100-Filter": (91.1, 9.05, 29.4), "Grasp-200-Filter": (92.6, 7.63, 63.9),
}

# §III-B.1: "We found t_ent = 0.1 to provide a reasonable trade-off between precision and recall."
T_ENT = 0.1
# Image resolution of the paper's grasp pairs (height, width); sizes below are stated at it.
IMAGE_HW = (640, 960)
# §III-B.1: the contour filter keeps objects with 1-2 contours of at least this many pixels (at IMAGE_HW).
MIN_CONTOUR_PX = 1000
# §III-A, eq. (2): max-pool kernel sizes of the multi-scale loss (pixels at IMAGE_HW).
LOSS_KERNELS = (11, 51, 101, 201)


def table1(method: str) -> dict[str, float]:
    """One Table I row as a dict (``mIOU``, ``error_pct``, ``recall_pct``)."""
    miou, err, rec = TABLE1[method]
    return {"mIOU": miou, "error_pct": err, "recall_pct": rec}


# §IV-A: "We collect 110k grasp image pairs ... We label 1k images from the training set and 6k images from the
# test objects".
DATASET = {"grasp_pairs": 110_000, "labeled_train_images": 1_000, "labeled_test_images": 6_000}
