"""The numbers paper ``graspseg`` publishes for instance segmentation (Table II, §V) and robot picking
(Table III, §VI), written down once. Everything here is the paper's, never ours: shown only in columns or
sentences labeled as the paper's (``../shared/papers/graspseg.txt``)."""

from __future__ import annotations

# Table II, paper row order: method -> (paste from, labeled images, AP, AP@0.5, AP@0.75, AP_L, AP_M)
TABLE2: dict[str, tuple[str, int, float, float, float, float, float]] = {
    "Mask2Former-100": ("None", 100, 49.30, 70.75, 51.47, 55.34, 41.70),
    "Single-Object-100": ("None", 100, 22.10, 24.05, 23.22, 27.03, 15.48),
    "Paste-Subtract": ("Subtract-Filter", 100, 62.11, 80.13, 67.01, 69.97, 52.83),
    "Paste-Subtract-Robust": ("Subtract-Filter", 100, 65.07, 86.24, 72.51, 72.97, 53.10),
    "Paste-Train": ("Train Objects", 100, 66.28, 84.22, 70.54, 73.27, 55.88),
    "Paste-Grasp": ("Grasp-100", 100, 69.68, 87.37, 75.37, 77.45, 58.47),
    "Paste-Grasp-Filter": ("Grasp-100-Filter", 100, 69.22, 86.15, 74.62, 77.63, 56.72),
    "Paste-Grasp-Robust": ("Grasp-100-Filter", 100, 63.02, 85.33, 70.63, 70.47, 51.54),
    "Paste-Grasp-Inpaint": ("Grasp-100 + Inpaint", 100, 72.33, 88.25, 78.11, 80.68, 59.40),
    "Mask2Former-1000": ("None", 1000, 70.08, 85.69, 74.34, 76.12, 61.48),
}
TABLE2_METRICS = ("AP", "AP@0.5", "AP@0.75", "AP_L", "AP_M")

# Table III: grasp error rate (%) over 700 grasps per model (§VI-B).
TABLE3: dict[str, float] = {"Paste-Subtract-Robust": 29.02, "Mask2Former-1000": 8.78, "Paste-Grasp-Inpaint": 8.22}
TABLE3_TRIALS = 700


def table2(method: str) -> dict[str, float]:
    """One Table II row's metrics as a dict keyed like ours (``AP``, ``AP@0.5``, ...)."""
    return dict(zip(TABLE2_METRICS, TABLE2[method][2:]))
