# %% [markdown]
# # graspseg §IV · Evaluating grasp segmentation (Table I, Fig. 2)
#
# **The paper.** The grasp segmentation model is compared with image subtraction
# (`|G(i_a) − G(i_b)| > t`, `G` = Gaussian blur of the greyscale image) and three background
# subtraction methods from OpenCV (MOG, MOG2, LSBP), each with and without the contour filter of
# §III-B.1; the models additionally use the occlusion and entropy filters. Metrics (§IV-C), on grasps
# of held-out test objects against the grasped object's visible mask: mIOU, relative error
# (incorrect pixels / ground-truth pixels) and recall (share of predictions kept by the filter; an
# empty prediction is always dropped). mIOU and error are computed on kept predictions only.
#
# **Here.** The same protocol on the simulated grasp dataset (§IV-A notebook): baselines tuned on
# labeled *training* grasps only, models from the §III-A notebook, everything evaluated on the labeled
# test grasps (test objects). A background model is learned from a two-frame "video": the before
# image fed 5 times with learning rate 1, then the after image classified with learning rate 0.
#
# **One deliberate deviation: the entropy threshold.** The paper's `t_ent` was chosen "to provide
# a reasonable trade-off between precision and recall" *for its model*. The relative entropy
# `ΣH(m̂_v)/Σm̂_v` sums the entropy of every pixel, background included, so the threshold depends on
# how confident a model is about the background — a property of its training budget. We therefore
# choose `t_ent` the way the paper describes, once for all models (as the paper does), on the pooled
# validation grasps of training objects (the F1-best threshold for retrieving masks with IOU ≥
# `good_iou`), and report the rows with the paper's `t_ent` (`graspseg_table1.t_ent`) as well, in their own table.

# %% tags=["parameters"]
params = {}  # filled from params.yaml by robopercept.stage (empty: the notebook reads params.yaml)
data_dir = "data"
n_examples = 4
artifacts_dir = "artifacts"
reports_dir = "reports"

# %%

import numpy as np
import pandas as pd
import seaborn as sns
import torch
from IPython.display import Image, Markdown, display
from matplotlib import pyplot as plt

from robopercept import paths
from robopercept.formats.grasp_pairs import iter_grasp_folders, read_sample
from robopercept.graspseg import baselines, table1 as T1
from robopercept.notebook import setup
from robopercept.graspseg.data import GraspSegDataset
from robopercept.graspseg.filters import FilterConfig, binary_entropy
from robopercept.graspseg.variants import VARIANTS, split_labeled_train
from robopercept.reporting import claims, figures, tables

run = setup("graspseg_table1", params, paper="graspseg", data_dir=data_dir, artifacts_dir=artifacts_dir,
            reports_dir=reports_dir)
cfg, model_cfg = run["graspseg_table1"], run["graspseg_model"]
fcfg = FilterConfig(t_occ=cfg.t_occ, t_ent=cfg.t_ent, min_contour_px_at_paper_res=cfg.min_contour_px_at_paper_res)
dataset = run.datasets / "graspseg_grasps"
models_dir = run.models / "graspseg" / "variants"
out_tables = run.tables
out_figures = run.figures
test = [read_sample(f) for f in iter_grasp_folders(dataset, "labeled_test")]
tune = [read_sample(f) for f in list(iter_grasp_folders(dataset, "labeled_train"))[: cfg.tune_max_pairs]]
gts = [s.visible for s in test]
display(Markdown(f"{len(test)} test grasps (test objects); baselines tuned on {len(tune)} training grasps."))

# %% [markdown]
# ## Baselines: tuning on training grasps

# %%
triples = [(s.before, s.after, s.visible) for s in tune]
t_sub, k_sub, train_sub = baselines.tune_subtract(triples)
tuned = [{"method": "Subtract", "parameter": f"t={t_sub:g}", "blur": k_sub, "train_mIOU": 100 * train_sub}]
bg_params = {}
for method in baselines.BACKGROUND_METHODS:
    value, ksize, score = baselines.tune_background(method, triples)
    bg_params[method] = (value, ksize)
    tuned.append({"method": method, "parameter": f"{baselines.TUNING_GRIDS[method][0]}={value:g}", "blur": ksize,
                  "train_mIOU": 100 * score})
tuned = pd.DataFrame(tuned)
display(tuned.round(1))

# %% [markdown]
# ## Evaluation on the test objects

# %%
results = [T1.evaluate_masks("Subtract", lambda i: baselines.subtract(test[i].before, test[i].after, t_sub, k_sub),
                                   gts, fcfg)]
for method, (value, ksize) in bg_params.items():
    results.append(T1.evaluate_masks(
        method, lambda i, m=method, v=value, k=ksize: baselines.background_subtract(test[i].before, test[i].after, m, v, k),
        gts, fcfg))
test_ds = GraspSegDataset(list(iter_grasp_folders(dataset, "labeled_test")))
# the validation grasps the training stage held out (training objects), shared split rule
_, val_folders = split_labeled_train(dataset, model_cfg)
val_ds = GraspSegDataset(val_folders)
models = T1.evaluate_models(list(VARIANTS), models_dir, test_ds, val_ds, gts, fcfg,
                                  calibrate=cfg.calibrate_t_ent, good_iou=cfg.good_iou)
results += models.results
probs, ckpts, verdicts, t_used = models.probs, models.checkpoints, models.verdicts, models.t_used
thresholds, paper_rows = models.thresholds, models.paper_rows
table = T1.table1(results)
backbone = ckpts["Grasp-100"]["settings"]["backbone"]
_ = tables.write_table(
    table, out_tables, "table1",
    caption=(f"Table I — grasp segmentation on held-out test objects (simulated, profile {run.profile}, "
             f"{len(test)} test grasps, backbone {model_cfg.backbone}). Columns `paper_*`: Liu et al., Table I, real robot "
             "data. Grasp-100-Scratch rows are our ablation (no pretrained backbone); the paper has no such row. "
             + (f"Model -Filter rows use one t_ent = {t_used:.3g} calibrated on validation grasps of training objects "
                f"(table1_entropy_thresholds); with the paper's t_ent = {cfg.t_ent:g} see that table."
                if cfg.calibrate_t_ent else f"All filters use the paper's thresholds (t_ent = {cfg.t_ent:g}).")))
display(table.round(1))

# %% [markdown]
# The entropy threshold the models' -Filter rows used, how confident each model is on validation
# grasps, and the same rows with the paper's `t_ent`:

# %%
thresholds = pd.DataFrame(thresholds).merge(
    pd.DataFrame(paper_rows).rename(columns=lambda c: f"paper_t_ent_{c}" if c != "method" else "method")
    .assign(model=lambda d: d.method.str.replace("-Filter", "", regex=False)).drop(columns="method"), on="model")
_ = tables.write_table(thresholds, out_tables, "table1_entropy_thresholds",
                       caption=f"Entropy threshold of the -Filter rows (one, calibrated on pooled validation grasps, vs the paper's {cfg.t_ent:g}), "
                               "and the -Filter rows on the test grasps with the paper's threshold.")
display(thresholds.round(3))

# %% [markdown]
# Which filter drops the models' predictions (inference times per grasp pair are recorded apart, in
# `reports/timings/graspseg/table1_inference_time.json`):

# %%
timing = pd.DataFrame([{"method": r.name, "ms_per_pair": 1000 * r.seconds_per_pair} for r in results])
_ = run.write_timings("table1_inference_time", {"threads": torch.get_num_threads(),
                                                "ms_per_pair": dict(zip(timing.method, timing.ms_per_pair))})
drops = pd.DataFrame({name: 100 * (1 - v[["nonempty", "occlusion", "entropy", "contours"]].mean())
                      for name, v in verdicts.items()}).T.add_suffix(" fails %")
display(drops.round(1))  # timings: reports/timings/graspseg/table1_inference_time.json

# %% [markdown]
# ## The paper's claims on this run

# %%
verdict = claims.evaluate_claims(paths.root() / "src/robopercept/graspseg/claims_table1.yaml", table)
_ = tables.write_table(verdict[["id", "claim", "holds"]], out_tables, "table1_claims",
                       caption="graspseg §IV-C claims checked against our Table I.")
display(verdict[["id", "claim", "holds", "note"]])
held = int(verdict.holds.fillna(False).astype(bool).sum())
missed = verdict[verdict.holds != True]  # noqa: E712  (None = could not be evaluated)
display(Markdown(f"**{held} of {len(verdict)} claims hold on this run.**" + "".join(
    f"\n\n- `{r.id}` does not hold{' (' + r.note + ')' if r.note else ''}. Likely reason: {r.if_missed}"
    for r in missed.itertuples())))

# %%
t = table.set_index("method")
gap = t.loc["Grasp-200", "mIOU"] - t.loc["Grasp-200", "paper_mIOU"]
sub_gap = t.loc["Subtract", "mIOU"] - t.loc["Subtract", "paper_mIOU"]
scratch = t.loc["Grasp-100", "mIOU"] - t.loc["Grasp-100-Scratch", "mIOU"]
display(Markdown(
    f"**Against the paper.** Our Subtract is {abs(sub_gap):.1f} points {'above' if sub_gap > 0 else 'below'} the "
    f"paper's ({t.loc['Subtract', 'mIOU']:.1f} vs {t.loc['Subtract', 'paper_mIOU']}): the simulated nuisances put the baseline in the paper's "
    f"regime. Our Grasp-200 is {abs(gap):.1f} points {'above' if gap > 0 else 'below'} the paper's "
    f"({t.loc['Grasp-200', 'mIOU']:.1f} vs {t.loc['Grasp-200', 'paper_mIOU']}). The pretrained stand-in changes Grasp-100 by {scratch:+.1f} points "
    "against training from scratch. Where our model rows fall short of the paper's, the likely causes are the "
    f"budget (a {model_cfg.backbone} trained for at most {ckpts['Grasp-100']['settings']['max_steps']} steps on 2 CPU cores "
    "instead of a COCO-pretrained ResNet-50 trained to convergence on a GPU) and the stand-in pretraining, which "
    f"is much weaker than COCO. With the paper's own t_ent = {cfg.t_ent:g} our models' filters keep "
    f"{', '.join(f'{r.model} {r.paper_t_ent_recall_pct:.0f} %' for r in thresholds.itertuples())} of the test "
    "predictions: our models are far less confident about the background than the paper's, which is why the "
    "threshold is calibrated on validation grasps above."))

# %% [markdown]
# ## Fig. 2: where subtraction fails
#
# Test grasps with a nuisance (a neighbour moved, the light changed, or a glossy object), where
# Subtract does worst relative to Grasp-200. Columns: inputs, Subtract, the model's visible and amodal
# predictions, the entropy of the visible prediction (bright = uncertain), and the ground truth.

# %%
sub_iou = results[0].iou
model_iou = next(r for r in results if r.name == "Grasp-200").iou
hard = [i for i, s in enumerate(test) if s.record["neighbours_moved"] or s.record["lighting_changed"]
        or s.record["grasped"]["glossy"]]
hard = sorted(hard, key=lambda i: sub_iou[i] - model_iou[i])[: cfg.n_examples]
cells, titles = [], []
for i in hard:
    s, p = test[i], probs["Grasp-200"][i]
    overlay = s.before.copy()
    overlay[s.grasp_mask] = (255, 0, 0)
    tags = ", ".join(k for k, v in (("neighbour moved", s.record["neighbours_moved"]),
                                     ("light changed", s.record["lighting_changed"]),
                                     ("glossy", s.record["grasped"]["glossy"])) if v)
    cells += [overlay, s.after, baselines.subtract(s.before, s.after, t_sub, k_sub), p[0], p[1],
              binary_entropy(p[0]), s.visible]
    titles += [f"before + g ({tags})", "after", f"Subtract IOU {100 * sub_iou[i]:.0f}",
               f"visible IOU {100 * model_iou[i]:.0f}", "amodal", "entropy", "ground truth"]
fig = figures.image_grid(cells, titles, cols=7, size=1.6, cmap="gray")
display(Image(filename=str(figures.save_figure(fig, out_figures / "fig2_hard_cases.png"))))
plt.close(fig)

# %% [markdown]
# ## Per-object breakdown
#
# mIOU per test object (objects with at least `min_object_grasps` test grasps) for Subtract and Grasp-200: which
# objects are hard for whom.

# %%
per = pd.DataFrame({"object": [s.record["grasped"]["object"] for s in test],
                    "category": [s.record["grasped"]["category"] for s in test],
                    "glossy": [s.record["grasped"]["glossy"] for s in test],
                    "Subtract": 100 * sub_iou, "Grasp-200": 100 * model_iou})
per_obj = (per.groupby(["object", "category", "glossy"])
           .agg(grasps=("Subtract", "size"), Subtract=("Subtract", "mean"), Grasp_200=("Grasp-200", "mean"))
           .reset_index().query(f"grasps >= {cfg.min_object_grasps}").sort_values("Grasp_200"))
_ = tables.write_table(per_obj, out_tables, "table1_per_object",
                       caption=f"mIOU per test object (>= {cfg.min_object_grasps} test grasps), Subtract vs Grasp-200.")
display(per_obj.round(1))
fig, ax = plt.subplots(figsize=(5, 3.2))
sns.scatterplot(per_obj, x="Subtract", y="Grasp_200", hue="category", style="glossy", ax=ax)
ax.plot([0, 100], [0, 100], color="grey", lw=0.8)
ax.set(xlabel="Subtract mIOU per object", ylabel="Grasp-200 mIOU per object", xlim=(0, 100), ylim=(0, 100))
display(Image(filename=str(figures.save_figure(fig, out_figures / "table1_per_object.png"))))
plt.close(fig)

# %%
_ = run.write_metrics("table1", values={"test_grasps": len(test), "backbone": model_cfg.backbone},
                      tables={"table1": table[["method", "mIOU", "error_pct", "recall_pct"]]}, claims=verdict)
