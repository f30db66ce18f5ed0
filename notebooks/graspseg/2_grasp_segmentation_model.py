# %% [markdown]
# # graspseg §III-A · Training the grasp segmentation model
#
# **The paper.** Given the before image `i_b`, the after image `i_a` and the grasp mask `g`, a
# ResNet-50 + FPN predicts the visible mask `m_v` and the amodal mask `m_a` of the grasped object
# (Fig. 2). The input is `[i_b, i_a, i_b − i_a, g]`; from the stride-4 FPN level, two gated residual
# blocks `y = x + σ(C2(x))·C1(x)`, each followed by a transposed convolution, bring the prediction back
# to the input resolution. The loss (eq. 1–2) sums six weighted binary cross-entropies on both
# channels: a balanced pair (`w = m`, `w = 1 − m`) and four max-pooled versions of the mask that
# emphasise the object's boundary. Training: Adam, learning rate 5e-6, batch 8, until convergence, on
# 100–200 labeled grasps, with random crops, resizes, blurs and colour changes.
#
# **Here.** `robopercept.graspseg.model`, `.loss`, `.data` and `.train` implement exactly that; the
# variants of Table I are trained below. On the cpu profile the backbone is a ResNet-18 with a
# narrower head, the learning rate is larger and training stops after a fixed budget or when the
# validation mIOU (grasps of *training* objects held out from training) stops improving — see the
# parameters. The `paper` profile uses ResNet-50, a 256-wide head and lr 5e-6. The backbone's
# initialisation is `pretrained_checkpoint`: `"stand-in"` (default) is the checkpoint of the previous
# notebook; a path to torchvision's COCO `maskrcnn_resnet50_fpn` weights gives the paper's setting.

# %% tags=["parameters"]
params = {}  # filled from params.yaml by robopercept.stage (empty: the notebook reads params.yaml)
data_dir = "data"
artifacts_dir = "artifacts"
reports_dir = "reports"

# %%
import pandas as pd
import seaborn as sns
from IPython.display import Image, Markdown, display
from matplotlib import pyplot as plt

from robopercept import paths
from robopercept.notebook import setup
from robopercept.graspseg.loss import PAPER_HEIGHT, PAPER_KERNELS, scaled_kernels
from robopercept.graspseg.train import load_checkpoint
from robopercept.graspseg.variants import VARIANTS, train_variants
from robopercept.reporting import figures, tables

run = setup("graspseg_train", params, paper="graspseg", data_dir=data_dir, artifacts_dir=artifacts_dir,
            reports_dir=reports_dir)
cfg = run["graspseg_model"]
dataset = run.datasets / "graspseg_grasps"
pretrained = (run.models / "pretrain" / "backbone.pt"
              if cfg.pretrained_checkpoint == "stand-in" else paths.resolve(cfg.pretrained_checkpoint))
if not pretrained.exists():
    raise FileNotFoundError(f"pretrained_checkpoint: {pretrained} does not exist")
models_dir = run.models / "graspseg" / "variants"
out_tables = run.tables
out_figures = run.figures
height = int(pd.read_json(dataset / "camera.json", typ="series")["height"])
display(Markdown(f"Loss kernels: the paper's {PAPER_KERNELS} at {PAPER_HEIGHT} rows become {scaled_kernels(height)} at "
                 f"{height} rows."))

# %% [markdown]
# ## Training the variants

# %%
summary = train_variants(cfg, dataset, pretrained, models_dir,
                         run.training / "variants", run.seed)
_ = tables.write_table(summary, out_tables, "grasp_model_training",
                       caption=f"Grasp segmentation training ({cfg.backbone}, head width {cfg.head_width}, "
                               f"lr {cfg.lr:g}, batch {cfg.batch_size}, profile {run.profile}).")
display(summary.round(2))

# %%
curves = pd.concat([pd.DataFrame(load_checkpoint(models_dir / f"{name}.pt")[1]["history"]).assign(variant=name)
                    for name in VARIANTS])
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
sns.lineplot(curves, x="step", y="train_loss", hue="variant", ax=axes[0])
sns.lineplot(curves, x="step", y="val_mIOU", hue="variant", ax=axes[1], legend=False)
axes[0].set_ylabel("training loss (eq. 2)")
axes[1].set_ylabel("validation mIOU (visible)")
display(Image(filename=str(figures.save_figure(fig, out_figures / "grasp_model_curves.png"))))
plt.close(fig)

# %%
best = summary.set_index("variant").val_mIOU
display(Markdown(
    f"Validation mIOU (training objects): Grasp-200 {best['Grasp-200']:.1f}, Grasp-100 {best['Grasp-100']:.1f}, "
    f"Grasp-100-NoAug {best['Grasp-100-NoAug']:.1f}, from scratch {best['Grasp-100-Scratch']:.1f}. "
    f"The pretrained stand-in {'helps' if best['Grasp-100'] > best['Grasp-100-Scratch'] else 'does not help'} "
    f"at this budget ({best['Grasp-100'] - best['Grasp-100-Scratch']:+.1f} points). Table I evaluates all "
    "variants on the held-out test objects."))
