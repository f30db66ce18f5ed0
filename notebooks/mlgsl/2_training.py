# %% [markdown]
# # mlgsl §III-B, §III-C, §IV-B, §IV-C · Training with MLGSL and the baselines
#
# **The paper.** A fully convolutional network (§III-C) predicts, for every pixel of a depth image,
# a grasp quality `Q̂`, an angle `Φ̂` (as `cos 2Φ̂, sin 2Φ̂`) and an opening `Ŵ`. The *maximum
# likelihood grasp sampling loss* (MLGSL, eq. 3) assumes the robot picks a pixel with probability
# proportional to `Q̂` and maximises the probability of picking the labeled successful grasps, plus
# the squared errors of angle and width *at the labeled pixels only* — unlabeled pixels are never
# told they are bad. The baselines (§IV-B): **ImgMSE** (GG-CNN: a dense map where every unlabeled
# pixel is a negative), **MLGSL+Log** and **PixMSE**. Every model is trained for 50 epochs with
# different seeds; Top-1 success per epoch is Fig. 4 (16 labels per image) and Fig. 6 (2, 4 labels).
#
# **Here.** `robopercept.mlgsl.model` (the FCN, optional SAM), `.loss` (the four losses, each with a
# hand-checked unit test), `.train` (the runs below). All models share the optimiser, learning rate,
# batch, augmentation and epochs; the profile sets the input size and the number of epochs (printed
# below beside the paper's). Each run is selected at its best epoch on held-out images of *training*
# objects; the curves show the held-out *test* objects.
#
# **ImgMSE as its authors built it.** GG-CNN's network has a *linear* quality output trained by plain
# MSE against its label maps (compact rectangles of 1 on a 0 background, every term weighted 1;
# `dougsm/ggcnn`, `models/ggcnn2.py`), and Xavier-initialised convolutions; ImgMSE here is exactly
# that. The MLGSL variants read the same output through a sigmoid, because eq. (3)'s selection
# probability needs `Q̂ ≥ 0` (`robopercept.mlgsl.model.QUALITY_HEAD`). Until session 4 ImgMSE also had
# the sigmoid; with mostly-zero targets it saturated at 0 and never learned from 2 or 4 labels, which
# made several of the paper's claims hold for the wrong reason.

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
from robopercept.mlgsl import paper as P
from robopercept.mlgsl.train import RUN_BY_NAME, RUNS, train_all
from robopercept.reporting import figures, tables

run = setup("mlgsl_train", params, paper="mlgsl", data_dir=data_dir, artifacts_dir=artifacts_dir,
            reports_dir=reports_dir)
cfg, ecfg = run["mlgsl_train"], run["mlgsl_eval"]
jacquard_root = run.datasets / "mlgsl_jacquard"
clutter_root = run.datasets / "mlgsl_clutter"
models_dir = run.models / "mlgsl"
out_tables = run.tables
out_figures = run.figures
display(Markdown(f"This profile ({run.profile}): inputs {cfg.image_size}×{cfg.image_size} (the paper: "
                 f"{P.IMAGE_SIZE}×{P.IMAGE_SIZE}), {cfg.epochs} epochs (the paper: {P.EPOCHS})."))
display(pd.DataFrame([{"run": r.name, "loss": r.loss, "labels per image": r.labels or "all (≤16)",
                       "data": r.data, "attention": r.attention} for r in RUNS]))

# %% [markdown]
# ## Training every run

# %%
results = train_all(cfg, ecfg, run.seed, jacquard_root, clutter_root, models_dir,
                    run.training, progress=False)
curves = pd.DataFrame([{**h, "run": r["run"], "seed": r["seed_index"]} for r in results for h in r["history"]])
summary = (pd.DataFrame([{k: r[k] for k in ("run", "seed_index", "n_train", "best_epoch", "val_top1")}
                         for r in results]))
_ = run.write_timings("mlgsl_train", {"workers": cfg.workers, "runs_trained_now": sum("_timing" in r for r in results),
                                      "process_seconds": {f"{r['run']} / seed {r['seed_index']}": r["_timing"]["seconds"]
                                                          for r in results if "_timing" in r}})
_ = tables.write_table(summary, out_tables, "training_runs",
                       caption=f"Every run: training images, best epoch (validation Top-1 on training objects), "
                               f"({cfg.image_size}x{cfg.image_size}, {cfg.epochs} epochs, batch {cfg.batch_size}, "
                               f"lr {cfg.lr:g}, profile {run.profile}).")
display(summary.round(1))
display(Markdown("Training times are kept apart from these outputs, in `reports/timings/mlgsl/mlgsl_train.json`."))

# %% [markdown]
# ## Fig. 4 · Top-1 success per epoch, four losses, 16 labels per image

# %%
fig4 = curves[curves.run.isin(["MLGSL", "ImgMSE", "MLGSL+Log", "PixMSE"])]
fig, ax = plt.subplots(figsize=(6, 3.5))
sns.lineplot(fig4, x="epoch", y="test_top1", hue="run", errorbar=("pi", 100), marker="o", ax=ax)
ax.set_ylabel("Top-1 success on test objects (%)")
ax.set_title("Fig. 4 (ours): mean over seeds, band = min..max")
display(Image(filename=str(figures.save_figure(fig, out_figures / "fig4_losses.png"))))
plt.close(fig)

# %% [markdown]
# ## Fig. 6 · Top-1 success per epoch with 2, 4 and 16 labels per image (solid MLGSL, dashed ImgMSE)

# %%
names = {"MLGSL": ("MLGSL", 16), "MLGSL (4 labels)": ("MLGSL", 4), "MLGSL (2 labels)": ("MLGSL", 2),
         "ImgMSE": ("ImgMSE", 16), "ImgMSE (4 labels)": ("ImgMSE", 4), "ImgMSE (2 labels)": ("ImgMSE", 2)}
fig6 = curves[curves.run.isin(names)].copy()
fig6["loss"] = fig6.run.map(lambda r: names[r][0])
fig6["labels per image"] = fig6.run.map(lambda r: str(names[r][1]))
fig, ax = plt.subplots(figsize=(6, 3.5))
sns.lineplot(fig6, x="epoch", y="test_top1", hue="labels per image", style="loss", errorbar=None, marker="o", ax=ax,
             style_order=["MLGSL", "ImgMSE"])
ax.set_ylabel("Top-1 success on test objects (%)")
display(Image(filename=str(figures.save_figure(fig, out_figures / "fig6_labels_per_image.png"))))
plt.close(fig)

# %%
last = curves[curves.epoch == curves.epoch.max()].groupby("run").test_top1.mean()
first = curves[curves.epoch == 1].groupby("run").test_top1.mean()
four = ["MLGSL", "ImgMSE", "MLGSL+Log", "PixMSE"]
display(Markdown(
    f"After epoch 1, Top-1 on test objects: MLGSL {first['MLGSL']:.1f} %, ImgMSE {first['ImgMSE']:.1f} %, "
    f"MLGSL+Log {first['MLGSL+Log']:.1f} %, PixMSE {first['PixMSE']:.1f} % — highest {first[four].idxmax()}, lowest "
    f"{first[four].idxmin()} (the paper: MLGSL converges fastest in the first epochs). After the last epoch: "
    f"MLGSL {last['MLGSL']:.1f} %, ImgMSE {last['ImgMSE']:.1f} %, MLGSL+Log {last['MLGSL+Log']:.1f} %, PixMSE "
    f"{last['PixMSE']:.1f} % — lowest {last[four].idxmin()} (the paper: PixMSE performs worst); MLGSL (2 labels) "
    f"{last['MLGSL (2 labels)']:.1f} %, ImgMSE (2 labels) {last['ImgMSE (2 labels)']:.1f} %. "
    "Table I (next notebook) uses each run's checkpoint selected on validation."))
