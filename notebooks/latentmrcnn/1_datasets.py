# %% [markdown]
# # latentmrcnn §V-A · The datasets: Apparel-5k-like bins, and stand-ins for COCO and Cityscapes
#
# **The paper.** Latent-MaskRCNN is evaluated on COCO, Cityscapes and Apparel-5k: "We collected this dataset of
# roughly 5000 images from a robot picking application. We use 4198 images in the training set and 463 in the
# validation set. There is only one object category, but the images exhibit a lot of inherent ambiguity due to
# complex occlusions, lighting, transparency, etc." (§V-A). The items are apparel in polybags (Fig. 1). The point is
# *ambiguity*: where one item ends and the next begins is often a judgement call, and a segmentation model that must
# commit to one answer will sometimes merge two items into one mask — for a picking robot, a double pick.
#
# **Here.** None of these datasets can be downloaded on this machine. `robopercept.latentmrcnn.scenes` builds their
# simulated twins in COCO format, with the released Apparel-5k's annotation layout
# (`annotations/instances_{train,val}.json`), so the same reader (`robopercept.latentmrcnn.data`) loads the real
# files — COCO, or the detectron2 dataset-dict lists the authors' code registers — when a user has them:
#
# * **Apparel-like bins**: flat, glossy items dropped into the world's tote, drawn from a few *product families*
#   per bin (one print shared by near-identical items), with fold shading inside the prints and strong specular
#   highlights. Train and validation families are disjoint (new products arrive in a warehouse).
# * **Catalog bins**, the stand-in for COCO: the catalog's five categories (test objects only, which the shared
#   stand-in backbone never saw), several per bin. It tests multi-category detection under overlap, not COCO's
#   80 categories or its range of scales.
# * **Street frames**, the stand-in for Cityscapes: the world's streets (`robopercept.world.street`, the same
#   generator fastseg's Cityscapes-format data uses), seen from a car's forward camera, with Cityscapes' eight
#   road-user classes annotated per class. It tests many small and large instances per image (perspective),
#   occlusion, and riders overlapping their bicycles; not real textures, clutter or Cityscapes' resolution.

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

from robopercept.latentmrcnn import paper as P
from robopercept.latentmrcnn.data import InstanceSet
from robopercept.latentmrcnn.scenes import APPAREL, CATALOG, STREET, ambiguity_example, generate_set
from robopercept.notebook import setup
from robopercept.reporting import figures, tables

run = setup("latentmrcnn_data", params, paper="latentmrcnn", data_dir=data_dir, artifacts_dir=artifacts_dir,
            reports_dir=reports_dir)
cfg = run["latentmrcnn_data"]
roots = {name: run.datasets / f"latentmrcnn_{name}" for name in (APPAREL, CATALOG, STREET)}

# %% [markdown]
# ## Generating the bins
#
# Each bin is a fresh simulation (one shard of the shard runner per `shard_size` bins), so a resumed or parallel
# run writes the same bytes. Items smaller than `min_instance_px` visible pixels are not annotated.

# %%
rows = []
sets = {}
for name, root in roots.items():
    generate_set(name, cfg, run.seed, run.data, root, progress=False)
    for split in ("train", "val"):
        ds = InstanceSet(root / "annotations" / f"instances_{split}.json", root)
        sets[name, split] = ds
        counts = np.array([len(ds.by_image[im["id"]]) for im in ds.images])
        areas = np.array([a["area"] for a in ds.doc["annotations"]])
        rows.append({"set": name, "split": split, "images": len(ds), "instances": int(counts.sum()),
                     "instances_per_image": counts.mean(), "max_per_image": int(counts.max()),
                     "median_area_px": float(np.median(areas)), "categories": len(ds.categories)})
stats = pd.DataFrame(rows)
_ = tables.write_table(stats, run.tables, "dataset_statistics",
                       caption=f"Simulated sets at {cfg.height}x{cfg.width} (seed {run.seed}). Apparel-5k per the "
                               f"paper (§V-A): {P.APPAREL['train']} train / {P.APPAREL['val']} validation images, "
                               "one category.")
display(stats.round(1))

# %% [markdown]
# ## What the bins look like
#
# Top: Apparel-like bins; middle: catalog bins; bottom: street frames; each with its ground-truth instances outlined. The family prints
# (below) show why neighbours are hard to tell apart: within a family every item carries the same print.

# %%
n = 4
fig, axes = plt.subplots(3, n, figsize=(3 * n, 6.9))
for r, name in enumerate((APPAREL, CATALOG, STREET)):
    ds = sets[name, "train"]
    for c in range(n):
        axes[r, c].set_axis_off()
        if c >= len(ds):
            continue
        img = ds.image(c).copy()
        masks, _ = ds.ground_truth(c)
        for m in masks:
            edge = m & ~np.pad(m, 1)[2:, 1:-1] | m & ~np.pad(m, 1)[:-2, 1:-1] | m & ~np.pad(m, 1)[1:-1, 2:] \
                | m & ~np.pad(m, 1)[1:-1, :-2]
            img[edge] = (255, 255, 0)
        axes[r, c].imshow(img)
        axes[r, c].set_title(f"{name} {c}: {len(masks)} instances", fontsize=8)
display(Image(filename=str(figures.save_figure(fig, run.figures / "dataset_examples.png"))))
plt.close(fig)
fig, ax = plt.subplots(figsize=(8, 1.3))
ax.imshow(ambiguity_example(cfg, run.seed))
ax.set_axis_off()
ax.set_title("product-family prints (training families)", fontsize=8)
display(Image(filename=str(figures.save_figure(fig, run.figures / "family_prints.png"))))
plt.close(fig)

# %% [markdown]
# ## Where even the ground truth is a judgement call
#
# Our ground truth is exact — the simulator knows which pixel belongs to which item — but much of it could not be
# told from the image alone: a boundary between two items of the same family, under a highlight, is invisible.
# One measure of that: the share of instance-boundary pixels that separate two items of the *same* family
# (identical prints on both sides), against boundaries between items of different families.

# %%
ds = sets[APPAREL, "val"]
same, total = 0, 0
for i in range(len(ds)):
    masks, _ = ds.ground_truth(i)
    family = np.array([-1] + [a["object_id"] // 10 for a in ds.by_image[ds.images[i]["id"]]])  # index 0: background
    label = np.zeros(masks.shape[1:], int)
    for k, m in enumerate(masks):
        label[m] = k + 1
    for a, b in ((label[:, 1:], label[:, :-1]), (label[1:], label[:-1])):
        edge = (a != b) & (a > 0) & (b > 0)  # a boundary between two items
        total += int(edge.sum())
        same += int((edge & (family[a] == family[b])).sum())
share = 100 * same / max(total, 1)
display(Markdown(f"Of the boundary pixels between two items in the validation bins, **{share:.0f} %** separate two "
                 "items of the same product family — boundaries that only the items' outlines, not their prints, "
                 "can reveal."))
_ = run.write_metrics("datasets", values={
    **{f"{r['set']}_{r['split']}_images": int(r["images"]) for r in rows},
    **{f"{r['set']}_{r['split']}_instances": int(r["instances"]) for r in rows},
    "apparel_same_family_boundary_pct": round(share, 2)})
