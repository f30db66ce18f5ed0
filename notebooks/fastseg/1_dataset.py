# %% [markdown]
# # fastseg §IV-A · Training data: street frames in Cityscapes' format
#
# **The paper.** "We use the Cityscapes dataset [...] we use the 8 classes containing fine pixelwise instance
# information: "person", "rider", "car", "truck", "bus", "train", "motorcycle", and "bicycle", and we treat the
# remaining pixels as background, both for the semantic as well as the instance task." It trains on the 2,975 finely
# annotated training images and validates "in 500 held out images from different cities", at 1024 × 512.
#
# **Here.** Cityscapes cannot be fetched, so the world renders streets (`robopercept.world.street`): a forward camera
# 1.3 m above a road with lane marks, sidewalks, facades, trees and poles, and road users of the eight classes built
# from primitives — cars, trucks, buses and a rare tram on the road, people on the sidewalks or crossing, riders on
# bicycles and motorcycles (the rider and the vehicle are separate instances, as Cityscapes annotates them). The
# frames are written as a Cityscapes folder (`leftImg8bit/`, `gtFine/*_labelIds.png`, `*_instanceIds.png`, the
# official label ids), read back through the same reader that loads the real dataset, and scored by the official
# evaluator. Validation frames come from their own "cities" (shards), as Cityscapes' do.
#
# What the frames test: many instances per image, a wide range of scales (perspective: a car 5 m away is a fifth of
# the image, one 60 m away a few pixels), occlusion, classes that differ in shape and size, and the rider/vehicle
# overlap. What they do not: real textures and lighting, articulated and varied pedestrians, clutter, weather, and
# Cityscapes' 19 background classes (here background is road, sidewalk, building, vegetation, pole and sky, all one
# class for the network, as in the paper).

# %% tags=["parameters"]
params = {}  # filled from params.yaml by robopercept.stage (empty: the notebook reads params.yaml)
data_dir = "data"
artifacts_dir = "artifacts"
reports_dir = "reports"

# %%
import numpy as np
import pandas as pd
from IPython.display import Image, Markdown, display
from matplotlib import pyplot as plt

from robopercept.fastseg.data import generate
from robopercept.formats.cityscapes import INSTANCE_CLASSES, CityscapesSet, instance_label_ids
from robopercept.notebook import setup
from robopercept.reporting import figures, tables

run = setup("fastseg_data", params, paper="fastseg", data_dir=data_dir, artifacts_dir=artifacts_dir,
            reports_dir=reports_dir)
cfg = run["fastseg_data"]
root = run.datasets / "fastseg_cityscapes"

# %% [markdown]
# ## Generating the frames
#
# One fresh street per frame, seeded by (seed, split, frame): a resumed or parallel run writes the same bytes.

# %%
generate(cfg, run.seed, root, progress=False)
sets = {split: CityscapesSet(root, split, size=(cfg.height, cfg.width)) for split in ("train", "val")}
rows = []
sizes = []
for split, ds in sets.items():
    counts = {c: 0 for c in INSTANCE_CLASSES}
    per_image = []
    for f in ds:
        masks, labels = f.instance_masks()
        per_image.append(len(masks))
        for m, lab in zip(masks, labels):
            name = INSTANCE_CLASSES[list(instance_label_ids().values()).index(int(lab))]
            counts[name] += 1
            if split == "train":
                sizes.append({"class": name, "pixels": int(m.sum())})
    rows.append({"split": split, "frames": len(ds), "instances": int(sum(per_image)),
                 "per_frame_mean": float(np.mean(per_image)), "per_frame_max": int(np.max(per_image)), **counts})
stats = pd.DataFrame(rows)
_ = tables.write_table(stats, run.tables, "dataset_statistics",
                       caption=f"Simulated street frames at {cfg.width}x{cfg.height} (seed {run.seed}): instances per "
                               "class. Cityscapes (fine): 2975 train / 500 val frames at 2048x1024.")
display(stats.round(1))
sizes = pd.DataFrame(sizes)
scale = sizes.groupby("class").pixels.describe(percentiles=[0.1, 0.5, 0.9])[["count", "10%", "50%", "90%", "max"]]
_ = tables.write_table(scale.reset_index(), run.tables, "instance_sizes",
                       caption="Visible pixels per training instance, by class: the range of scales.")
display(scale.round(0))

# %% [markdown]
# ## What the frames look like
#
# Image, semantic classes (the eight instance classes in colour, background grey) and instances.

# %%
n = 3
palette = np.random.default_rng(0).integers(40, 255, (40000, 3)).astype(np.uint8)
class_colour = {lid: palette[7 * k + 1] for k, lid in enumerate(instance_label_ids().values())}
fig, axes = plt.subplots(n, 3, figsize=(12, 2.2 * n), squeeze=False)
for r in range(min(n, len(sets["train"]))):
    f = sets["train"].frame(r)
    sem = np.full((*f.labels.shape, 3), 90, np.uint8)
    for lid, col in class_colour.items():
        sem[f.labels == lid] = col
    inst = np.where((f.instances >= 1000)[..., None], palette[f.instances % 40000], 0).astype(np.uint8)
    for c, (img, title) in enumerate(((f.rgb, f.name), (sem, "classes"), (inst, "instances"))):
        axes[r, c].imshow(img)
        axes[r, c].set_title(title, fontsize=8)
        axes[r, c].set_axis_off()
display(Image(filename=str(figures.save_figure(fig, run.figures / "dataset_examples.png"))))
plt.close(fig)

# %%
_ = run.write_metrics("dataset", values={"train_frames": len(sets["train"]), "val_frames": len(sets["val"]),
                                         "train_instances": int(stats.instances[0]),
                                         "instances_per_frame": float(stats.per_frame_mean[0])},
                      tables={"dataset_statistics": stats})
