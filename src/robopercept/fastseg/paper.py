"""The paper's reported numbers (Milioto et al., ICRA 2019), for the "paper" columns only — never used as outputs.
Layout restored in shared/papers/README.md."""

# Table I (input 1024x512, encoder OS 16): mAP@50, mAP, IoU (%), Spix / CNN / Cluster (ms), FPS
TABLE1 = {
    "Baseline": {"network": "DN53 OS1", "dec_os": 1, "mAP@50": 46.9, "mAP": 24.3, "IoU": 65.4, "spix_ms": None,
                 "cnn_ms": 138, "cluster_ms": 240, "fps": 2},
    "Ours DN53 OS1": {"network": "DN53 OS1", "dec_os": 1, "mAP@50": 46.7, "mAP": 22.3, "IoU": 65.4, "spix_ms": None,
                      "cnn_ms": 141, "cluster_ms": 36, "fps": 5.5},
    "Ours DN53 OSk": {"network": "DN53 OS4", "dec_os": 4, "mAP@50": 46.5, "mAP": 21.9, "IoU": 63.7, "spix_ms": 4,
                      "cnn_ms": 73, "cluster_ms": 9, "fps": 12},
    "Ours MNv2 OS1": {"network": "MNv2 OS1", "dec_os": 1, "mAP@50": 46.2, "mAP": 21.9, "IoU": 62.3, "spix_ms": None,
                      "cnn_ms": 48, "cluster_ms": 36, "fps": 11},
    "Ours MNv2 OSk": {"network": "MNv2 OS4", "dec_os": 4, "mAP@50": 45.2, "mAP": 21.1, "IoU": 60.4, "spix_ms": 4,
                      "cnn_ms": 19, "cluster_ms": 9, "fps": 31},
}
# Table II: semantic IoU (%) per class; reference methods are semantic-only (*)
TABLE2_CLASSES = ("car", "bus", "truck", "motorcycle", "train", "bicycle", "person", "rider")
TABLE2 = {
    "SegNet* (paper)": (89.2, 43.1, 38.1, 35.7, 44.1, 51.8, 62.7, 42.8),
    "ERFNet* (paper)": (93.4, 60.8, 52.2, 49.8, 53.7, 64.2, 78.5, 59.7),
    "ENet* (paper)": (91.0, 49.3, 39.3, 41.6, 50.5, 59.8, 71.3, 49.6),
    "Ours MNv2 OSk": (88.6, 77.3, 57.4, 38.9, 61.9, 48.6, 60.2, 50.6),
    "Ours DN53 OSk": (94.1, 73.2, 62.1, 45.8, 62.4, 53.9, 61.3, 57.3),
}
TABLE2_FPS = {"SegNet* (paper)": 16, "ERFNet* (paper)": 50, "ENet* (paper)": 76, "Ours MNv2 OSk": 31, "Ours DN53 OSk": 12}
TABLE2_MEAN = {"SegNet* (paper)": 50.9, "ERFNet* (paper)": 64.0, "ENet* (paper)": 56.5, "Ours MNv2 OSk": 60.4,
               "Ours DN53 OSk": 63.7}
# Table III: instance AP, AP@50 (%), FPS
TABLE3 = {
    "DeepWatershed (paper)": (19.4, 35.3, None), "FSUfAD (paper)": (21.0, 38.6, 21),
    "Mask-RCNN (paper)": (26.2, 49.9, 2), "PANet (paper)": (31.8, 57.1, 2),
    "Mask-RCNN, COCO-pretrained (paper)": (32.0, 58.1, 2), "PANet, COCO-pretrained (paper)": (36.4, 63.1, 2),
    "Ours MNv2 OSk": (21.1, 45.2, 31), "Ours DN53 OSk": (21.9, 46.5, 12),
}
