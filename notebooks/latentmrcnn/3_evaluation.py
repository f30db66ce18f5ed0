# %% [markdown]
# # latentmrcnn §IV–V · Confidence masks, Union-NMS and the prior mean: Table I, Figs. 4, 5, 7, 8 and Table III
#
# **The paper.** One trained Latent-MaskRCNN serves three applications (§IV). Sampling `k` latents from the prior
# gives `k` segmentations of the image. *p-confidence masks* (Algorithm 1) intersect matching masks from at least
# `k·p` samples, so each predicted mask lies inside an object with probability ≥ p — high precision, for a picking
# robot that must not grasp two items at once. *Union-NMS* (Algorithm 2) merges the samples' masks — high recall.
# The *prior mean* decodes one latent, a drop-in replacement for Mask R-CNN. Table I scores them with metrics that
# match each use: MR@HP (max recall at high precision, matching by intersection over *prediction*), AR matched by
# intersection over *ground truth*, and mAP. Fig. 5 trades double picks against pickable area as p varies; the
# appendix's Table III and Fig. 8 ask whether confidence-mask scores predict mask quality.
#
# **Here.** The models of the training notebook, on the validation images of our three sets: the Apparel-like bins
# (standing in for Apparel-5k), the catalog bins (standing in for COCO) and the street frames (standing in for
# Cityscapes); every model is trained and evaluated class-agnostically (masks, not category labels, are what the
# paper's algorithms produce, so category confusion is not tested here). Metrics come from pycocotools with the
# overlap switched (`robopercept.latentmrcnn.metrics`); Table I's numbers are means over seeds with a paired bootstrap
# interval over images and seeds; Fig. 5, the picking table and Table III use the first seed's models (a bootstrap over
# images). Inference follows the authors' benchmark script where the paper gives no value: Union-NMS at IoU 0.3,
# sample detections scoring ≤ 0.1 dropped before Algorithm 1 (parameters `nms_iou`, `min_score`). The double-pick rate is
# evaluated at every circle centre (the expectation of the paper's random circles), with a gripper circle of
# `gripper_radius_px` pixels.

# %% tags=["parameters"]
params = {}  # filled from params.yaml by robopercept.stage (empty: the notebook reads params.yaml)
data_dir = "data"
artifacts_dir = "artifacts"
reports_dir = "reports"

# %%
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import Image, Markdown, display
from matplotlib import pyplot as plt

from robopercept import paths
from robopercept.latentmrcnn import evaluate as E
from robopercept.latentmrcnn import paper as P
from robopercept.latentmrcnn import table1 as T1
from robopercept.latentmrcnn.confidence import confidence_masks, n_required
from robopercept.latentmrcnn.data import InstanceSet
from robopercept.latentmrcnn.plots import overlay
from robopercept.latentmrcnn.sweep import load_model
from robopercept.notebook import setup
from robopercept.reporting import claims, figures, tables, verdicts
from robopercept.seed import derive_seed

run = setup("latentmrcnn_table1", params, paper="latentmrcnn", data_dir=data_dir, artifacts_dir=artifacts_dir,
            reports_dir=reports_dir)
tcfg, ecfg = run["latentmrcnn_train"], run["latentmrcnn_eval"]
models_dir = run.models / "latentmrcnn"
s = E.InferenceSettings(k=ecfg.k, p=ecfg.p, nms_iou=ecfg.nms_iou, min_score=ecfg.min_score,
                        seed=derive_seed(run.seed, "latentmrcnn_sampling"))

# %% [markdown]
# ## Predicting the validation images with every mode
#
# One set of `k` prior samples per image and seed serves Union-NMS, the confidence masks and every p of the sweep.
# Each (set, seed) is predicted and scored by `table1.evaluate_seed` — the first seed's also runs Fig. 5's sweep
# (below) — on `workers` processes with one torch thread each, so the bytes do not depend on the machine's core count
# or on how many workers run.

# %%
evals = T1.evaluate_all(tcfg.sets, tcfg.seeds, models_dir=models_dir, datasets_dir=run.datasets, ecfg=ecfg, s=s)
per_seed = {key: e.evaluators for key, e in evals.items()}
vals = {}
for set_name in tcfg.sets:
    root = run.datasets / f"latentmrcnn_{set_name}"
    vals[set_name] = InstanceSet(root / "annotations" / "instances_val.json", root, class_agnostic=True).head(ecfg.n_val)
gts = {name: [val.ground_truth(i)[0] for i in range(len(val))] for name, val in vals.items()}

# %% [markdown]
# ## Table I
#
# Ours beside the paper's (columns `paper_*`: Apparel-5k's for our Apparel-like set, COCO's for our catalog set,
# Cityscapes' for our street set).

# %%
table, replicates = T1.table1(per_seed, ecfg.n_boot, derive_seed(run.seed, "latentmrcnn_table1_bootstrap"))
_ = tables.write_table(
    table, run.tables, "table1",
    caption=(f"Table I — validation images of the simulated sets ({', '.join(f'{n}: {len(v)}' for n, v in vals.items())} "
             f"images; profile {run.profile}); mean over {tcfg.seeds} seeds, *_lo/_hi: 95 % paired bootstrap interval "
             f"over images and seeds ({ecfg.n_boot} replicates). k = {ecfg.k} samples, p = {ecfg.p}, Union-NMS IoU "
             f"{ecfg.nms_iou}. paper_*: Liu et al. Table I (Apparel-5k for apparel, COCO for catalog, "
             "Cityscapes for street)."))
show = ["method"] + [c for name in P.TABLE1_METRICS for c in (name, f"{name}_lo", f"{name}_hi", f"paper_{name}")]
display(table[show].round(1))

# %%
t1_verdict = claims.evaluate_claims(paths.root() / "src/robopercept/latentmrcnn/claims_table1.yaml",
                                    table.drop(columns=["set", "mode"]), replicates)
_ = tables.write_table(t1_verdict[["id", "section", "quote", "claim", "verdict", "holds", "margin", "margin_lo",
                                 "margin_hi", "share_held", "caveat"]], run.tables, "table1_claims",
                       caption=f"latentmrcnn §V-B/C claims against our Table I ({ecfg.n_boot} paired replicates).")
display(t1_verdict[["id", "verdict", "margin", "margin_lo", "margin_hi"]].round(2))
display(Markdown(verdicts.sentences(t1_verdict)))

# %% [markdown]
# ## Fig. 5 and Table III: double picks, pickable area, and what scores say about masks
#
# For each p of the sweep, the confidence masks of the first seed's samples (computed in `evaluate_seed`); Mask R-CNN
# has one point, from its detections scoring above `pick_score_thresh` (the masks a robot would pick from; the
# confidence masks are used as produced, down to their own stop at `min_score`). Table III's AUC uses every detection
# each model outputs. Then
# the rows the claims compare (Table I's p as `Confidence mask`, and every p of the sweep) with a paired bootstrap
# over images. With `k` samples, p asks for ⌈p·k⌉ of them — the paper's "at least kp" (the authors' code rounds
# down); this profile's case is printed below.

# %%
n_down = max(1, int(ecfg.p * ecfg.k + 1e-9))  # the authors' code: floor(p k)
display(Markdown(f"At k = {ecfg.k}, Table I's p = {ecfg.p:g} asks for {n_required(ecfg.p, ecfg.k)} of the "
                 f"{ecfg.k} samples; rounding down would ask for "
                 + ("the same." if n_down == n_required(ecfg.p, ecfg.k) else f"{n_down}.")))
sweep, points = [], {}
picking_tables, picking_reps = [], []
for set_name in tcfg.sets:
    first = evals[set_name, 0]
    sweep += first.sweep
    points[set_name] = first.fig8
    t, reps = T1.picking_table(first.points, ecfg.n_boot,
                               derive_seed(run.seed, "latentmrcnn_picking_bootstrap", set_name))
    picking_tables.append(t)
    picking_reps.append(reps)
sweep = pd.DataFrame(sweep)
_ = tables.write_table(sweep, run.tables, "fig5_sweep",
                       caption=f"Fig. 5's points (first seed): double-pick rate over every circle centre (gripper "
                               f"radius {ecfg.gripper_radius_px} px), pickable-area fraction, and the share of "
                               "predictions with IoP > 0.95 (Fig. 8, right), for MaskRCNN and confidence masks at each p.")
picking = pd.concat(picking_tables, ignore_index=True)
picking_replicates = [pd.concat([r[i] for r in picking_reps], ignore_index=True) for i in range(ecfg.n_boot)]
# the paper reports one confidence-mask AUC (its p unstated): beside our "Confidence mask" row only, not every p
picking["paper_auc"] = [P.TABLE3["MaskRCNN" if m.endswith("MaskRCNN") else "Confidence Mask"].get(
    P.PAPER_DATASET.get(m.split(":")[0], ""), np.nan) if m.endswith(("MaskRCNN", "Confidence mask")) else np.nan
    for m in picking.method]
_ = tables.write_table(picking, run.tables, "table3_picking",
                       caption=f"Double picks and pickable area (§V-D, first seed) and Table III's ROC AUC of scores "
                               f"predicting IoU > 0.5, with 95 % paired bootstrap intervals over images "
                               f"({ecfg.n_boot} replicates). paper_auc: Liu et al. Table III.")
display(picking.round(3))
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
fig_set = "apparel" if "apparel" in tcfg.sets else tcfg.sets[0]  # the paper draws Figs. 4/5/8 on Apparel-5k
app = sweep[sweep.set == fig_set]
conf_pts = app[app.method == "Confidence"]
axes[0].plot(conf_pts.double_pick_pct, conf_pts.pickable_area_fraction, "o-", label="p-confidence mask")
for r in conf_pts.itertuples():
    axes[0].annotate(f"{r.p:g}", (r.double_pick_pct, r.pickable_area_fraction), fontsize=7)
mr_pt = app[app.method == "MaskRCNN"].iloc[0]
axes[0].plot([mr_pt.double_pick_pct], [mr_pt.pickable_area_fraction], "s", c="C3", label="MaskRCNN")
axes[0].set(xlabel="double pick rate % (lower better)", ylabel="pickable area fraction (higher better)",
            title=f"Fig. 5 — {fig_set}")
axes[0].legend(fontsize=8)
axes[1].plot(conf_pts.p, conf_pts["iop_above_0.95_pct"], "o-", label="confidence mask")
axes[1].axhline(mr_pt["iop_above_0.95_pct"], c="C3", ls="--", label="MaskRCNN")
axes[1].set(xlabel="p", ylabel="predictions with IoP > 0.95 (%)", title="Fig. 8 (right)")
axes[1].legend(fontsize=8)
display(Image(filename=str(figures.save_figure(fig, run.figures / "fig5_fig8_right.png"))))
plt.close(fig)

# %%
ov_mr, ov_conf = points[fig_set]
fig, ax = plt.subplots(figsize=(4.6, 3.4))
ax.scatter(ov_mr.score, ov_mr.iou, s=6, alpha=0.5, label="MaskRCNN")
ax.scatter(ov_conf.score, ov_conf.iou, s=6, alpha=0.5, label=f"confidence mask (p = {ecfg.p:g})")
ax.set(xlabel="score of predicted mask", ylabel="IoU with closest ground truth", title=f"Fig. 8 (left) — {fig_set}")
ax.legend(fontsize=8)
display(Image(filename=str(figures.save_figure(fig, run.figures / "fig8_score_vs_iou.png"))))
plt.close(fig)
pv = claims.evaluate_claims(paths.root() / "src/robopercept/latentmrcnn/claims_picking.yaml", picking,
                            picking_replicates)
_ = tables.write_table(pv[["id", "section", "quote", "claim", "verdict", "holds", "margin", "margin_lo", "margin_hi",
                           "share_held", "caveat"]], run.tables, "picking_claims",
                       caption="latentmrcnn §V-D and appendix E claims against our double-pick / AUC table.")
display(Markdown(verdicts.sentences(pv)))

# %% [markdown]
# ## Fig. 4 and Fig. 7: confidence masks as p grows, and what the samples look like
#
# Fig. 4: the first `n_examples` validation images of the Apparel-like set, their confidence masks for several p. Fig. 7: the ground truth,
# Mask R-CNN and four of the latent samples (first seed).

# %%
val = vals[fig_set]
examples = evals[fig_set, 0].examples  # the first n_examples images: their samples and Mask R-CNN's detections
samples = examples["samples"]
ps = [p for p in (0.5, 0.7, 0.9, 1.0) if p > 0]
fig, axes = plt.subplots(ecfg.n_examples, 2 + len(ps), figsize=(2.6 * (2 + len(ps)), 2 * ecfg.n_examples),
                         squeeze=False)
for r in range(min(ecfg.n_examples, len(val))):
    img = val.image(r)
    axes[r, 0].imshow(img)
    axes[r, 1].imshow(overlay(img, gts[fig_set][r]))
    axes[r, 1].set_title("ground truth", fontsize=8)
    for c, p in enumerate(ps):
        m, _ = confidence_masks(samples[r], p, ecfg.min_score)
        axes[r, 2 + c].imshow(overlay(img, m))
        axes[r, 2 + c].set_title(f"p = {p:g}: {len(m)} masks", fontsize=8)
for a in axes.ravel():
    a.set_axis_off()
display(Image(filename=str(figures.save_figure(fig, run.figures / "fig4_confidence_masks.png"))))
plt.close(fig)

# %% [markdown]
# Fig. 4, bottom: how an empirical confidence mask is built. The highest-scoring mask of the first sample (m1), the
# mask of each of the next two samples that overlaps it most (m2, m3: Algorithm 1's matching, one mask per sample),
# and their intersection — the pixels all three samples put in one instance. Where the samples disagree about the
# item's extent, the intersection keeps only what they share.

# %%
img = val.image(0)
chosen = []
for j in range(min(3, ecfg.k)):
    m, sc = samples[0][j]
    keep = sc > ecfg.min_score
    if not keep.any():
        break
    m, sc = m[keep], sc[keep]
    chosen.append(m[np.argmax(sc)] if not chosen else m[np.argmax([(mm & chosen[0]).sum() for mm in m])])
inter = np.logical_and.reduce(chosen) if chosen else np.zeros(img.shape[:2], bool)
titles = [f"m{i + 1} (sample {i + 1})" for i in range(len(chosen))] + [f"intersection of {len(chosen)}"]
fig, axes = plt.subplots(1, len(chosen) + 1, figsize=(2.6 * (len(chosen) + 1), 2.2), squeeze=False)
for c, (m, title) in enumerate(zip([*chosen, inter], titles)):
    axes[0, c].imshow(overlay(img, [m]))
    axes[0, c].set_title(f"{title}: {int(m.sum())} px", fontsize=8)
    axes[0, c].set_axis_off()
display(Image(filename=str(figures.save_figure(fig, run.figures / "fig4_construction.png"))))
plt.close(fig)

# %% [markdown]
# Fig. 7: per image, the image and a zoomed-in centre (half the width and height), the ground truth, MaskRCNN and
# four latent samples.

# %%
n_show = min(4, ecfg.k)
fig, axes = plt.subplots(ecfg.n_examples, 4 + n_show, figsize=(2.6 * (4 + n_show), 2 * ecfg.n_examples), squeeze=False)
for r in range(min(ecfg.n_examples, len(val))):
    img = val.image(r)
    h, w = img.shape[:2]
    axes[r, 0].imshow(img)
    axes[r, 0].set_title("image", fontsize=8)
    axes[r, 1].imshow(img[h // 4: h // 4 + h // 2, w // 4: w // 4 + w // 2])
    axes[r, 1].set_title("zoomed-in centre", fontsize=8)
    axes[r, 2].imshow(overlay(img, gts[fig_set][r]))
    axes[r, 2].set_title("ground truth", fontsize=8)
    axes[r, 3].imshow(overlay(img, examples["maskrcnn"][r][0][examples["maskrcnn"][r][1] > 0.5]))
    axes[r, 3].set_title("MaskRCNN (score > 0.5)", fontsize=8)
    for c in range(n_show):
        m, sc = samples[r][c]
        axes[r, 4 + c].imshow(overlay(img, m[sc > 0.5]))
        axes[r, 4 + c].set_title(f"latent sample {c + 1}", fontsize=8)
for a in axes.ravel():
    a.set_axis_off()
display(Image(filename=str(figures.save_figure(fig, run.figures / "fig7_samples.png"))))
plt.close(fig)
# %% [markdown]
# ## What this replication shows, and where it departs from the paper
#
# **Scale.** The paper trains on Apparel-5k, COCO and Cityscapes from ImageNet (COCO) or COCO (the others) weights for detectron2's
# full schedule; this profile trains on a few hundred simulated images from the stand-in backbone for the step count
# in the training table. Absolute numbers are therefore not comparable with the paper's `paper_*` columns (other data,
# backbone and schedule; on a set that is easier than the paper's, such as the catalog stand-in for COCO, ours can land
# near or above them) and are not compared; what the claims test is the *ordering* of the four rows on each set, which
# is what the paper's sentences assert.
#
# **What the latent does.** Every claim about confidence masks and Union-NMS rests on the prior's samples differing.
# Below, per set: the KL between posterior and prior at the end of training (from the checkpoints' histories), and
# how alike the `k` samples of an image are — the share of one sample's masks (score > 0.5) that another sample
# reproduces with IoU ≥ 0.5 (`table1.sample_agreement`; 1 = identical samples). With identical samples a p-confidence
# mask is one sample's mask and Union-NMS is NMS on one segmentation, so a claim about them can be *missed* because
# the latent learned little, not because the algorithm fails.

# %%
diag = []
for set_name in tcfg.sets:
    for k in range(tcfg.seeds):
        _, ck = load_model(models_dir, set_name, "latent", k)
        last = ck["history"][-max(1, len(ck["history"]) // 10):]
        agree = evals[set_name, k].agreement
        diag.append({"set": set_name, "seed": k, "final_kl": float(np.mean([h["kl"] for h in last])),
                     "prior_sigma": float(np.exp(0.5 * np.mean([h.get("logvar_p", np.nan) for h in last]))),
                     "posterior_sigma": float(np.exp(0.5 * np.mean([h.get("logvar_q", np.nan) for h in last]))),
                     "sample_agreement": float(np.nanmean(agree)) if np.isfinite(agree).any() else np.nan,
                     "masks_per_sample": float(np.mean(evals[set_name, k].masks_per_sample))})
diag = pd.DataFrame(diag).groupby("set", sort=False).mean(numeric_only=True).drop(columns="seed").reset_index()
mr = table[table["mode"] == E.MODE_LABELS["maskrcnn"]].set_index("set")
diag["maskrcnn_mAP"] = diag.set.map(mr["mAP"])
diag["paper_maskrcnn_mAP"] = diag.set.map(mr["paper_mAP"])
_ = tables.write_table(diag, run.tables, "latent_diagnostics",
                       caption=f"What the latent carries (mean over {tcfg.seeds} seeds): final KL(q || p) in nats (last "
                               "tenth of training), the prior's and the posterior's σ (exp of the mean log σ² over z's "
                               f"dimensions, last tenth; the prior's starts at 1), agreement between the {ecfg.k} prior "
                               "samples of an image (share of "
                               "one sample's masks, score > 0.5, that another reproduces at IoU >= 0.5), masks per "
                               "sample, and MaskRCNN's mAP beside the paper's (Liu et al. Table I).")
display(diag.round(3))
all_v = pd.concat([t1_verdict, pv], ignore_index=True)
tally = claims.tally(all_v)
lines = [f"Of {len(all_v)} claims, {tally['held']} held, {tally['missed']} missed and {tally['inconclusive']} were "
         "inconclusive (the margin's interval straddles zero)."]
for r in diag.itertuples():
    lines.append(f"* **{r.set}** — MaskRCNN mAP {r.maskrcnn_mAP:.1f} (paper, on {P.PAPER_DATASET[r.set]}: "
                 f"{r.paper_maskrcnn_mAP:.1f}); KL {r.final_kl:.1f} nats, prior σ {r.prior_sigma:.2f}; samples agree on "
                 f"{100 * r.sample_agreement:.0f} % of their masks ({r.masks_per_sample:.1f} masks per sample).")
missed = all_v[all_v.verdict != claims.HELD]
if len(missed):
    lines.append("\nClaims not held, with what the measurements above allow one to say:")
    for r in missed.itertuples():
        lines.append(f"* **{r.id}** ({r.section}) — {r.verdict}, margin {r.margin:+.1f} "
                     f"[{r.margin_lo:+.1f}, {r.margin_hi:+.1f}]. Paper: “{r.quote}”")
    lines += ["\n" + text for text in T1.latent_use_sentences(diag)]
display(Markdown("\n".join(lines)))

# %%
_ = run.write_metrics("table1", values={**{f"validation_images_{n}": len(v) for n, v in vals.items()}, "k": ecfg.k},
                      tables={"table1": table[["method", *P.TABLE1_METRICS]].round(3),
                              "picking": picking[["method", "double_pick_pct", "pickable_area_fraction", "auc"]].round(4)},
                      claims=all_v[["id", "verdict"]])
