"""The paper's numbers (Adrian et al., Tables I–V; Tables IV–V as restored in ../shared/papers/README.md), for
columns labelled as the paper's. AUC of PCK@k over k = 1…100 at 640 x 480, mean ± σ over 5 seeds (σ where given)."""

TABLE1 = {  # label -> (AUC, sigma)
    "Pixelwise": (0.313, 0.011),
    "Pixelwise + Augmentations": (0.279, 0.019),
    "Pixelwise + Cross-Object": (0.387, 0.017),
    "Pixelwise + Cross-Object + Augmentations": (0.290, 0.036),
    "Pixelwise + Multi-Object + Augmentations": (0.565, 0.008),
    "NT-Xent + Multi-Object": (0.514, 0.027),
    "NT-Xent + Multi-Object + Augmentations": (0.621, 0.015),
}
TABLE2 = {  # D -> {loss: AUC}; "Both losses are trained on multi-object data and with full set of augmentations"
    3: {"NT-Xent": 0.318, "Pixelwise": 0.406},
    8: {"NT-Xent": 0.550, "Pixelwise": 0.532},
    16: {"NT-Xent": 0.621, "Pixelwise": 0.565},
    32: {"NT-Xent": 0.620, "Pixelwise": 0.593},
    64: {"NT-Xent": 0.634, "Pixelwise": 0.610},
}
TABLE3 = {  # batch size -> {loss: (AUC, sigma)}
    1: {"Pixelwise": (0.565, 0.008), "NT-Xent": (0.579, 0.018)},
    2: {"Pixelwise": (0.377, 0.032), "NT-Xent": (0.621, 0.015)},
    4: {"Pixelwise": (0.310, 0.017), "NT-Xent": (0.600, 0.010)},
}
TABLE4_PIXELWISE = {  # (correspondences, non-matches per match) -> (AUC, sigma)
    (10000, 150): (0.472, 0.016), (20000, 150): (0.565, 0.008), (20000, 300): (0.568, 0.008),
    (20000, 1000): (0.575, 0.010), (30000, 150): (0.564, 0.007), (40000, 150): (0.558, 0.014),
}
TABLE4_NTXENT = {512: (0.625, 0.004), 1024: (0.627, 0.012), 2048: (0.621, 0.015), 4096: (0.609, 0.013)}
TABLE5 = {  # setting -> (pixelwise cross-object %, ours %); 24 attempts per setting and model
    "Singulated": (70.8, 83.3), "Multi-Object, Isolated": (41.7, 95.8), "Multi-Object, Packed": (25.0, 70.8),
    "Overall": (45.8, 83.3),
}
TABLE5_ATTEMPTS = 24
SEEDS = 5
EPOCHS, PAIRS_PER_EPOCH = 500, 1000  # §IV-C: "trained for 500 epochs, with each epoch consisting of 1000 image pairs"
TRAIN_PAIRS = EPOCHS * PAIRS_PER_EPOCH


def value(experiment: str, label: str, variant) -> tuple[float, float]:
    """The paper's (AUC, sigma) for one row of our experiments (NaN where the paper has no such row: Figs. 5-6 are
    plots without numbers, Table II gives no sigma)."""
    nan = float("nan")
    loss = "NT-Xent" if variant.loss == "ntxent" else "Pixelwise"
    if experiment == "table1":
        return TABLE1.get(label, (nan, nan))
    if experiment == "table2":
        return (TABLE2.get(variant.descriptor_dim, {}).get(loss, nan), nan)
    if experiment == "table3":
        return TABLE3.get(variant.batch_size, {}).get(loss, (nan, nan))
    if experiment == "table4":
        if loss == "NT-Xent":
            return TABLE4_NTXENT.get(variant.correspondences, (nan, nan))
        return TABLE4_PIXELWISE.get((variant.correspondences, variant.non_matches), (nan, nan))
    if experiment == "fig5" and label.startswith("Pixelwise + Cross-Object"):
        return TABLE1["Pixelwise + Cross-Object"]
    return (nan, nan)
