"""fastseg: Milioto, Mandtler, Stachniss. *Fast Instance and Semantic Segmentation Exploiting Local Connectivity,
Metric Learning, and One-Shot Detection for Robotics* (ICRA 2019)."""
