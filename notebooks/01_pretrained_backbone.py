# %% [markdown]
# # graspseg §III-A · A stand-in for COCO-pretrained weights
#
# **The paper.** "To initialize the model with features that are amenable for object detection, we
# load weights from a Mask-RCNN pre-trained on COCO." Only the first convolution (which sees 10 input
# channels instead of 3) starts from random weights.
#
# **Here.** COCO weights cannot be downloaded, and a Mask R-CNN trained from scratch costs about
# 6 s per step on 2 CPU cores (measured), too slow to learn anything in the cpu budget. The stand-in:
#
# 1. a *generic* instance-segmentation set of simulated bins — training objects only, so it shares
#    no object with any test split — written in COCO format by `robopercept.common.pretrain_bins`;
# 2. the same torchvision ResNet-FPN backbone the grasp model uses, trained with a light dense head
#    to label every pixel with its category and whether it lies on an instance boundary
#    (`robopercept.common.pretrain`);
# 3. a checkpoint with the backbone under Mask R-CNN's key names, loaded by the grasp model through
#    the same function that loads torchvision's real `maskrcnn_resnet50_fpn` COCO file.
#
# What the stand-in buys is measured in Table I by the "Grasp-100-Scratch" ablation row.

# %% tags=["parameters"]
params = {}  # filled from params.yaml by robopercept.stage (empty: the notebook reads params.yaml)
data_dir = "data"
artifacts_dir = "artifacts"
reports_dir = "reports"

# %%
import pandas as pd
import torch
from dvclive import Live
from IPython.display import Image, Markdown, display
from matplotlib import pyplot as plt

from robopercept import paths
from robopercept.common.coco_data import CocoInstances
from robopercept.common.pretrain import (PretrainSettings, dense_targets, pretrain_backbone_portable,
                                         save_backbone_checkpoint)
from robopercept.notebook import setup
from robopercept.reporting import figures
from robopercept.common.pretrain_bins import generate_bin_images

run = setup("pretrained_backbone", params, paper="pretrain", data_dir=data_dir, artifacts_dir=artifacts_dir,
            reports_dir=reports_dir)
cfg = run["pretrain"]
sim_set = run.datasets / "pretrain_bins"
checkpoint = run.models / "pretrain" / "backbone.pt"
out_figures = run.figures

# %% [markdown]
# ## The generic simulated set

# %%
_ = generate_bin_images(cfg, run.seed, run.data, sim_set)
ds = CocoInstances(sim_set)
n_instances = len(ds.api.getAnnIds())
display(Markdown(f"{len(ds)} images, {n_instances} instances ({n_instances / len(ds):.1f} per image), "
                 f"{cfg.height}x{cfg.width} pixels, training objects only."))

# %% [markdown]
# ## Pretraining
#
# Three papers start from this backbone, so its bytes should not depend on the machine that trains it. torch's CPU
# training does: oneDNN's convolutions, MKL's matrix products and ATen's own kernels each pick their code by CPU,
# and the same seed trained different weights on an Intel Xeon and an AMD EPYC (README "Across machines"). The
# stand-in trains in *portable mode* (`robopercept.common.portable`: oneDNN off, MKL's reproducible `COMPATIBLE`
# branch, ATen's AVX2 kernels, two threads — about 3.5 times slower a step), which makes two runs on one machine
# repeat byte for byte but, measured, not two machines of different vendors. So the checkpoint this stage writes is
# committed to git (a `cache: false` output): a clone reuses it, like the pretrained weights a paper downloads, and
# the papers' own stages can be rerun on any machine; rerunning this stage (`dvc repro -f pretrained_backbone`) gives
# the same bytes on the machine that wrote them (measured on an AMD EPYC, session 22), other bytes on another vendor's.

# %%
settings = PretrainSettings(backbone=cfg.backbone, lr=cfg.lr, batch_size=cfg.batch_size, steps=cfg.steps, seed=run.seed)
with Live(dir=str(run.training), save_dvc_exp=False,
          dvcyaml=None, report=None) as live:
    model, history = pretrain_backbone_portable(settings, sim_set, live=live)
_ = save_backbone_checkpoint(model, checkpoint, settings, history, dataset=str(sim_set.name))
hist = pd.DataFrame(history)
_ = run.write_timings("pretrained_backbone", {"steps": len(hist), "seconds": float(hist.seconds.iloc[-1])})
display(Markdown(f"{len(hist)} steps; foreground category accuracy over the "
                 f"last 20 steps {hist.foreground_accuracy.tail(20).mean():.2f}."))

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 2.8))
hist.plot(x="step", y=["category_loss", "boundary_loss"], ax=axes[0])
axes[0].set_ylabel("training loss")
hist.assign(acc=hist.foreground_accuracy.rolling(10, min_periods=1).mean()).plot(x="step", y="acc", ax=axes[1],
                                                                                 legend=False)
axes[1].set_ylabel("foreground category accuracy (rolling 10)")
display(Image(filename=str(figures.save_figure(fig, out_figures / "pretrain_curves.png"))))
plt.close(fig)

# %% [markdown]
# What the pretrained backbone sees: category and boundary predictions on a few training images
# (this pretext task is not evaluated further; only the grasp model's Table I rows matter).

# %%
cells, titles = [], []
with torch.no_grad():
    for i in range(min(3, len(ds))):
        img, masks, labels = ds[i]
        out = model(img[None])[0]
        cat, edge = dense_targets(masks, labels)
        cells += [img.permute(1, 2, 0).numpy(), cat.numpy(), out[:-1].argmax(0).numpy(), torch.sigmoid(out[-1]).numpy()]
        titles += ["image", "category (target)", "category (predicted)", "boundary (predicted)"]
fig = figures.image_grid(cells, titles, cols=4, size=1.7, cmap="viridis")
display(Image(filename=str(figures.save_figure(fig, out_figures / "pretrain_examples.png"))))
plt.close(fig)
