"""graspseg: Liu, Chen, Abbeel, *Self-Supervised Instance Segmentation by Grasping*.

Modules are named after the paper's concepts: :mod:`.baselines` (§IV-B image and background
subtraction), :mod:`.metrics` (§IV-C mIOU, relative error, recall), :mod:`.data_stats`
(§IV-A dataset statistics and subtraction diagnostics).
"""
