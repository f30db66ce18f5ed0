# %% [markdown]
# # mlgsl §III-D · The single-object (Jacquard-like) and the cluttered datasets
#
# **The paper.** Models are trained on Jacquard [22]: more than 50k images of 11k objects, each
# object alone on a plane, with about a million successful grasp labels — grasps that a *simulated*
# robot tried and that succeeded. Images are augmented with random rotations and zooms and resized to
# 300×300. A second, *cluttered* dataset is built from Jacquard: a few single-object images are
# segmented, rotated, zoomed and translated into one scene, their labels are merged and pruned by
# collision (a jaw must not land on another object).
#
# **Here.** Jacquard cannot be downloaded on this machine, so we make its simulated twin the same way
# it was made: `robopercept.world.jacquard_data` drops one catalog object on a table, renders RGB,
# perfect depth, a noisy stereo depth and the mask, tries grasp candidates with a simulated
# parallel-jaw gripper (`robopercept.world.jaw_gripper`, pybullet) and keeps the successful ones as
# labels, and `robopercept.formats.jacquard` writes everything in **Jacquard's on-disk format**
# (`<id>_RGB.png`, `<id>_perfect_depth.tiff`, `<id>_stereo_depth.tiff`, `<id>_mask.png`,
# `<id>_grasps.txt`). The loaders downstream are Jacquard loaders: point `jacquard_dir` at a real copy
# and the rest of the pipeline runs on it (the simulated trials of the later notebooks need our
# `_scene.json` sidecar, which real Jacquard lacks). Training and test objects are disjoint catalog
# objects. `robopercept.mlgsl.clutter` then composes the cluttered dataset.

# %% tags=["parameters"]
params = {}  # filled from params.yaml by robopercept.stage (empty: the notebook reads params.yaml)
data_dir = "data"
artifacts_dir = "artifacts"
reports_dir = "reports"

# %%
import json

import numpy as np
import pandas as pd
from IPython.display import Image, Markdown, display
from matplotlib import pyplot as plt

from robopercept import paths
from robopercept.formats import jacquard
from robopercept.mlgsl import paper as P
from robopercept.mlgsl.clutter import ClutterSpec, compose_dataset
from robopercept.notebook import setup
from robopercept.mlgsl.plots import draw_grasps
from robopercept.reporting import figures, tables
from robopercept.mlgsl.jacquard_sim import FINGER_T_M, generate, gripper_spec, table_camera

run = setup("mlgsl_data", params, paper="mlgsl", data_dir=data_dir, artifacts_dir=artifacts_dir,
            reports_dir=reports_dir)
cfg, clutter_cfg = run["mlgsl_data"], run["mlgsl_clutter"]
root = run.datasets / "mlgsl_jacquard"
clutter_root = run.datasets / "mlgsl_clutter"
out_tables = run.tables
out_figures = run.figures
out_metrics = run.metrics

# %% [markdown]
# ## Simulated grasp trials → Jacquard-format samples
#
# Each candidate is centred between the object's edges along a random closing direction (measured on
# the mask over the band the jaws sweep) with an opening wider than the object there; the gripper
# reaches below the surface at the centre (the paper's ε), closes with a limited force and lifts
# (the values this profile uses are printed below). A jaw that would land on the object is a
# *collision*; a grasp that does not bring the object up is *dropped*. Candidates wider than the
# gripper opens are not tried.

# %%
display(Markdown(
    f"This profile ({run.profile}): opening {1000 * cfg.opening_margin_min_m:g}–{1000 * cfg.opening_margin_max_m:g} mm "
    f"wider than the object, at most {1000 * cfg.max_opening_m:g} mm; ε = {1000 * cfg.grasp_depth_m:g} mm below the "
    f"surface; grip force {cfg.grip_force_n:g} N; lift {100 * gripper_spec(cfg).lift_m:g} cm (the trial succeeds when "
    "the object rises more than half of it)."))
summary = generate(cfg, run.seed, run.data, root, progress=False)
rows = []
for split, s in summary["splits"].items():
    rows.append({"split": split, "objects": f"{split} ({cfg.n_train_objects if split == 'train' else cfg.n_test_objects})",
                 "samples": s["samples"], "labels": s["labels"], "labels_per_image": s["labels"] / s["samples"],
                 "trials": s["trials"], "trial_success_pct": 100 * s["outcomes"].get("lifted", 0) / s["trials"],
                 "collision_pct": 100 * s["outcomes"].get("collision", 0) / s["trials"],
                 "dropped_pct": 100 * s["outcomes"].get("dropped", 0) / s["trials"],
                 "poses_rejected": s["outcomes"].get("pose_dropped", 0) + s["outcomes"].get("rolled_away", 0),
                 "objects_skipped": s["skipped_objects"]})
stats = pd.DataFrame(rows)
_ = tables.write_table(stats, out_tables, "dataset_statistics",
                       caption=f"Simulated Jacquard-like dataset ({cfg.render_size}x{cfg.render_size}, seed {run.seed}).")
# throughput of this call's shards: a timing record, kept apart from DVC-tracked outputs
wall = summary["timing_s"].get("wall_s", 0.0)
_ = run.write_timings("mlgsl_data", {"samples_generated_now": summary["generated_now"], "shard_wall_s_sum": wall,
                                     "wall_s_now": summary["wall_s_now"], "workers": cfg.workers})
display(stats.round(2))

# %%
shape_rows = [{"split": split, "shape": shape, **v, "labels_per_sample": v["labels"] / max(1, v["samples"])}
              for split, s in summary["splits"].items() for shape, v in s["per_shape"].items()]
per_shape = pd.DataFrame(shape_rows)
_ = tables.write_table(per_shape, out_tables, "dataset_per_shape",
                       caption="Samples and labels per object shape (objects with too few successful grasps are skipped).")
display(per_shape.round(2))

# %% [markdown]
# ## The cluttered dataset (§III-D)

# %%
camera = table_camera(cfg.render_size, cfg.view_m)
finger_px = FINGER_T_M * camera.pixels_per_meter(0.0)
clutter = compose_dataset(root, clutter_root, clutter_cfg.n_train, clutter_cfg.n_test,
                          ClutterSpec(clutter_cfg.min_objects, clutter_cfg.max_objects, clutter_cfg.zoom,
                                      finger_px=finger_px, stereo_noise_std_m=cfg.stereo_noise_std_m,
                                      stereo_edge_m=cfg.stereo_edge_m, stereo_holes=cfg.stereo_holes), run.seed)
crow = pd.DataFrame([{"split": k, **v, "kept_pct": 100 * v["labels_kept"] / v["labels_in"],
                      "labels_per_image": v["labels_kept"] / v["samples"]} for k, v in clutter["splits"].items()])
_ = tables.write_table(crow, out_tables, "clutter_statistics",
                       caption="Cluttered samples: labels merged from the objects, then pruned (centre occluded by "
                               "another object, or a jaw on another object).")
display(crow.round(2))

# %%
examples = jacquard.list_samples(root / "train")[:4] + jacquard.list_samples(clutter_root / "train")[:2]
fig, axes = plt.subplots(len(examples), 4, figsize=(8, 2.1 * len(examples)))
for row, (folder, sid) in zip(axes, examples):
    s = jacquard.read_sample(folder, sid)
    row[0].imshow(s.rgb)
    draw_grasps(row[0], s.grasps, "red", lw=0.8)
    row[1].imshow(s.perfect_depth, cmap="viridis")
    row[2].imshow(np.where(s.stereo_depth > 0, s.stereo_depth, np.nan), cmap="viridis")
    row[3].imshow(s.mask if s.instances is None else s.instances, cmap="gray" if s.instances is None else "tab10")
    row[0].set_ylabel(sid[:18], fontsize=7)
for ax, t in zip(axes[0], ("RGB + labels", "perfect depth", "stereo depth (holes white)", "mask / instances")):
    ax.set_title(t, fontsize=8)
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
display(Image(filename=str(figures.save_figure(fig, out_figures / "dataset_examples.png"))))
plt.close(fig)

# %%
train_stats, test_stats = summary["splits"]["train"], summary["splits"]["test"]
_ = run.write_metrics("datasets", values={
    "train_samples": train_stats["samples"], "test_samples": test_stats["samples"],
    "labels_per_image_train": train_stats["labels"] / train_stats["samples"],
    "trial_success_pct_train": 100 * train_stats["outcomes"].get("lifted", 0) / train_stats["trials"],
    "clutter_label_kept_pct_train": float(crow.kept_pct.iloc[0])})
display(Markdown(
    f"**{train_stats['samples']} training and {test_stats['samples']} test images** "
    f"({train_stats['labels'] / train_stats['samples']:.1f} and {test_stats['labels'] / test_stats['samples']:.1f} "
    f"labels per image; the paper's dense setting is {P.DATASET['labels_dense']}). "
    f"{100 * train_stats['outcomes'].get('lifted', 0) / train_stats['trials']:.0f} % of the tried candidates lifted "
    f"the object (generation throughput: `reports/timings/mlgsl/mlgsl_data.json`). "
    f"Jacquard, per the paper: {P.DATASET['jacquard_images']}, {P.DATASET['jacquard_labels']}. The {run.profile} "
    f"profile has {train_stats['samples']} training images; the paper's experiments use "
    f"{P.DATASET['images'] // 1000}k / {P.DATASET['small_images'] // 1000}k (`profiles/paper.yaml`)."))
