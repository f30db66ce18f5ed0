"""latentmrcnn: Liu, Mishra, Abbeel, Chen. *Distributional Instance Segmentation: Modeling Uncertainty and High
Confidence Predictions with Latent-MaskRCNN* (ICRA 2023)."""
