"""The paper's reported numbers (Liu et al., ICRA 2023), for the "paper" columns only — never used as outputs."""

# Table I: MR@HP / AR / mAP per dataset (README of shared/papers restores the layout)
TABLE1 = {
    "COCO": {"MaskRCNN": (20.0, 66.0, 35.0), "Latent Union NMS": (7.4, 72.3, 26.5),
             "Latent Confidence Mask": (22.0, 48.1, 30.5), "Latent Prior Mean": (19.5, 65.8, 35.3)},
    "Cityscapes": {"MaskRCNN": (25.3, 55.1, 35.8), "Latent Union NMS": (17.7, 57.5, 33.6),
                   "Latent Confidence Mask": (28.0, 48.6, 34.1), "Latent Prior Mean": (25.7, 53.8, 35.0)},
    "Apparel-5k": {"MaskRCNN": (23.6, 39.9, 26.9), "Latent Union NMS": (13.6, 61.4, 34.1),
                   "Latent Confidence Mask": (42.4, 41.8, 35.1), "Latent Prior Mean": (26.9, 49.4, 34.3)},
}
TABLE1_METRICS = ("MR@HP", "AR", "mAP")
# Table II: apparel-picking robot — double pick rate (%) and average sealed cups ("several hundred grasps" each)
TABLE2 = {"MaskRCNN": (4.40, 4.76), "Latent-MRCNN": (0.82, 4.91)}
# Table III (appendix): ROC AUC of scores predicting IoU > 0.5
TABLE3 = {"MaskRCNN": {"COCO": 0.7372, "Cityscapes": 0.8443, "Apparel-5k": 0.7756},
          "Confidence Mask": {"COCO": 0.7941, "Cityscapes": 0.8666, "Apparel-5k": 0.9435}}
CONFIDENCE_P = 0.9  # §V-B: Table I's confidence masks
MRHP_THRESHOLDS = (0.75, 0.8, 0.85, 0.9, 0.95)
APPAREL = {"train": 4198, "val": 463}  # §V-A: Apparel-5k's training and validation images
# our simulated sets stand in for these columns
PAPER_DATASET = {"apparel": "Apparel-5k", "catalog": "COCO", "street": "Cityscapes"}
