"""The numbers paper ``mlgsl`` publishes, written down once.

Everything here is the paper's, never ours: tables and notebook prose show these values only in
columns or sentences labeled as the paper's, and format them from this module (no notebook types a
paper number). Sources: ``../shared/papers/mlgsl.txt`` (Table I, §IV-C, Table II, §V).
"""

from __future__ import annotations

# Table I (Jacquard, 10k images; the rectangle metric for Top-k, a GQ-CNN discriminator for accuracy/recall).
TABLE1 = {
    "MLGSL": {"top1": 82.8, "top5": 91.0, "accuracy": 80.2, "recall": 75.7},
    "MLGSL (2 labels)": {"top1": 81.6, "top5": 90.3, "accuracy": 77.3, "recall": 73.4},
    "ImgMSE": {"top1": 82.5, "top5": 89.7, "accuracy": 85.2, "recall": 92.3},
    "ImgMSE (2 labels)": {"top1": 42.4, "top5": 45.2, "accuracy": 41.9, "recall": 17.4},
}
# Numbers given in the text of §IV-C.
TEXT = {
    "MLGSL (1k)": {"top1": 69.8},  # §IV-C.3: "converge to 69.8%"
    "ImgMSE (1k)": {"top1": 60.2},
    "attention": {"top1_mean": 81.6, "top1_std": 1.2},  # §IV-C.4: all architectures
    "collision_free": {"MLGSL": 67.3, "MLGSL (clutter)": 84.2},  # §IV-C.5, single vs clutter training
    "clutter_success_drop_pct": 5,  # §IV-C.5: "we observe a 5% down on prediction success rate"
}
# §III-D / §IV-C: Jacquard subsets used for training (images) and labels per image (dense vs sparse).
DATASET = {"images": 10_000, "small_images": 1_000, "labels_dense": 16, "labels_sparse": 2,
           # §III-D on Jacquard itself
           "jacquard_images": "more than 50k images of 11k objects", "jacquard_labels": "1 million success grasp labels"}
EPOCHS = 50  # §IV-B: "Each model is trained with different seeds for 50 epochs"
IMAGE_SIZE = 300  # §III-D: images resized to 300 x 300

# Table II as the paper reports it (real robot, Fig. 7 objects; CTPG on a GTX 1060). Reference only.
TABLE2 = {
    "GGCNN [15]": {"required data": "10k x 16", "SR (%)": 83.3, "k/n": "30/36", "CTPG (ms)": 21},
    "GGCNN2 [16]": {"required data": "10k x 16", "SR (%)": 88.9, "k/n": "48/54", "CTPG (ms)": 21},
    "GQCNN [2]": {"required data": "7m x 1", "SR (%)": 91.7, "k/n": "33/36", "CTPG (ms)": 570},
    "FC-GQCNN [19]": {"required data": "7m x 1", "SR (%)": 90.7, "k/n": "49/54", "CTPG (ms)": 29},
    "CGPN [13]": {"required data": "30k x 20", "SR (%)": 85.2, "k/n": "46/54", "CTPG (ms)": 410},
    "MLGSL (Ours)": {"required data": "10k x 2", "SR (%)": 90.7, "k/n": "98/108", "CTPG (ms)": 21},
}
# §V-B clutter removal over 10 runs: share of objects removed (%), by training data.
CLUTTER_REMOVAL = {"single-object data": 70.0, "cluttered data": 90.0}
CLUTTER_RUNS = 10
