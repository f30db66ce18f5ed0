# %% [markdown]
# # graspseg §IV · Evaluating grasp segmentation (Table I, Fig. 2)
#
# **The paper.** The grasp segmentation model is compared with image subtraction
# (`|G(i_a) − G(i_b)| > t`, `G` = Gaussian blur of the greyscale image) and three background
# subtraction methods (MOG, MOG2, LSBP), each with and without the contour filter of
# §III-B.1; the models additionally use the occlusion and entropy filters. Metrics (§IV-C), on grasps
# of held-out test objects against the grasped object's visible mask: mIOU, relative error
# (incorrect pixels / ground-truth pixels) and recall (share of predictions kept by the filter; an
# empty prediction is always dropped). mIOU and error are computed on kept predictions only.
#
# **Here.** The same protocol on the simulated grasp dataset (§IV-A notebook): baselines tuned on
# labeled *training* grasps only, models from the §III-A notebook, everything evaluated on the labeled
# test grasps (test objects). The background models are OpenCV's. A background model is learned from a two-frame
# "video": the before
# image fed several times (`baselines.WARMUP`, printed in the baselines section) at OpenCV's default learning schedule, then the after image classified with learning rate 0
# (until session 20 the warm-up ran at learning rate 1; see the baselines section below).
#
# **One deliberate deviation: the entropy threshold.** The paper's `t_ent` was chosen "to provide
# a reasonable trade-off between precision and recall" *for its model*. The relative entropy
# `ΣH(m̂_v)/Σm̂_v` sums the entropy of every pixel, background included, so the threshold depends on
# how confident a model is about the background — a property of its training budget. We therefore
# choose `t_ent` ourselves, once for all models (the paper too uses one), by a criterion the paper does not name:
# the F1-best threshold for retrieving masks with IOU ≥ `good_iou` on the pooled validation grasps of training
# objects, pooled over the paper's variants only (our ablation rows are evaluated at that threshold but do not
# choose it). If that criterion keeps many more predictions than the paper's filter did (the paper's -Filter
# recalls are Table I's `paper_recall_pct`; ours against them are printed under the calibrations table below), our
# -Filter rows are not comparable to the paper's as they stand, so we also report a second, *recall-matched* calibration (the threshold at which Grasp-100 keeps as many
# validation predictions as the paper's Grasp-100-Filter keeps test predictions) and the paper's own
# `t_ent` (`graspseg_table1.t_ent`), in their own table, with the claims under each.
#
# **Uncertainty.** The paper's variants are trained with several seeds (`graspseg_model.n_seeds`);
# every row is the mean over its seeds, and every interval and claim verdict comes from a bootstrap
# over test grasps and seeds together (`robopercept.reporting.uncertainty`; a method's row and its -Filter row are
# the same models, so one replicate draws the same seeds for both). Rows with one run (the deterministic
# baselines, and any row trained with one seed — Table I's `seeds` column) resample test grasps only: their
# intervals leave out seed noise.

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
from IPython.display import Image, Markdown, display
from matplotlib import pyplot as plt

from robopercept import paths
from robopercept.formats.grasp_pairs import iter_grasp_folders, read_sample
from robopercept.graspseg import baselines, table1 as T1, table1_findings as F
from robopercept.notebook import setup
from robopercept.graspseg.data import GraspSegDataset
from robopercept.graspseg.filters import FilterConfig, binary_entropy
from robopercept.graspseg.metrics import iou
from robopercept.graspseg.variants import VARIANTS, split_labeled_train, trained_models
from robopercept.seed import derive_seed
from robopercept.reporting import claims, figures, tables, verdicts

run = setup("graspseg_table1", params, paper="graspseg", data_dir=data_dir, artifacts_dir=artifacts_dir,
            reports_dir=reports_dir)
cfg, model_cfg = run["graspseg_table1"], run["graspseg_model"]
fcfg = FilterConfig(t_occ=cfg.t_occ, t_ent=cfg.t_ent, min_contour_px_at_paper_res=cfg.min_contour_px_at_paper_res)
dataset = run.datasets / "graspseg_grasps"
models_dir = run.models / "graspseg" / "variants"
ckpts = T1.read_checkpoints(trained_models(model_cfg), models_dir)  # first: a bad one stops here, not after tuning
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
sub_grid = baselines.SUBTRACT_THRESHOLDS
tuned = [{"method": "Subtract", "parameter": f"t={t_sub:g}, blur {k_sub}", "blur": k_sub, "train_mIOU": 100 * train_sub,
          "grid": f"{min(sub_grid):g}-{max(sub_grid):g}; blur {min(baselines.SUBTRACT_KSIZES)}-"
                  f"{max(baselines.SUBTRACT_KSIZES)}",
          "at the grid's top": t_sub == max(sub_grid)}]  # the parameter, as for the others (not the blur)
bg_params = {}
for method in baselines.BACKGROUND_METHODS:
    value, ksize, score = baselines.tune_background(method, triples)
    bg_params[method] = (value, ksize)
    grid = baselines.TUNING_GRIDS[method][1]
    tuned.append({"method": method, "parameter": f"{baselines.TUNING_GRIDS[method][0]}={value:g}", "blur": ksize,
                  "train_mIOU": 100 * score, "grid": f"{min(grid):g}-{max(grid):g}",
                  "at the grid's top": value == max(grid)})  # each grid starts at OpenCV's default
tuned = pd.DataFrame(tuned)
display(tuned.round(1))
edge = tuned[tuned["at the grid's top"] == True]  # noqa: E712
display(Markdown("No tuned parameter sits at the top of its grid." if edge.empty else
                 "At the top of its grid: "
                 + ", ".join(f"{r.method} {r.parameter} (grid {r.grid}; "
                             + ("32 is the largest meaningful threshold of a 32-bit LSBP string)" if r.method == "LSBP"
                                else "a larger value might tune further)") for r in edge.itertuples()) + "."))

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
models = T1.evaluate_models(trained_models(model_cfg), models_dir, test_ds, val_ds, gts, fcfg,
                            calibrate=cfg.calibrate_t_ent, good_iou=cfg.good_iou,
                            calibration_models=[n for n, v in VARIANTS.items() if not v.ablation], checkpoints=ckpts,
                            workers=model_cfg.workers)  # one-thread processes: the same bytes on any machine
baseline_results = list(results)
results += models.results
probs, ckpts, filter_checks, t_used = models.probs, models.checkpoints, models.verdicts, models.t_used
first = {name: (name, 0) for name in VARIANTS}  # the first seed of each variant, for figures
table, replicates = T1.table1(results, cfg.n_boot, derive_seed(run.seed, "graspseg_table1_bootstrap"))
spread = T1.seed_spread(results)  # the std over seeds (ddof=1) beside the mean, in the committed table too
table.insert(table.columns.get_loc("seeds") + 1, "mIOU_std_seeds",
             table.method.map(spread.set_index("method").mIOU_std_seeds))
backbone = ckpts[first["Grasp-100"]]["settings"]["backbone"]
_ = tables.write_table(
    table, out_tables, "table1",
    caption=(f"Table I — grasp segmentation on held-out test objects (simulated, profile {run.profile}, "
             f"{len(test)} test grasps, backbone {backbone}). Model rows: mean over `seeds`, `mIOU_std_seeds` their std "
             "(ddof=1; empty for one seed); mIOU_lo/hi, error_pct_lo/hi, recall_pct_lo/hi: 95 % "
             f"bootstrap interval over test grasps and seeds ({cfg.n_boot} replicates; rows with one seed: over test "
             "grasps only). Columns `paper_*`: Liu et al., "
             "Table I, real robot data. Grasp-100-Scratch and Grasp-100-LiteralLoss rows are our ablations (no "
             f"pretrained backbone; eq. (1) read literally), trained for at most {model_cfg.ablation_max_steps} steps "
             f"(the paper's variants: {model_cfg.max_steps}); the paper has no such rows. "
             + (f"Model -Filter rows use one t_ent = {t_used:.3g} calibrated on validation grasps of training objects "
                f"(F1 criterion); other calibrations in table1_calibrations."
                if cfg.calibrate_t_ent else f"All filters use the paper's thresholds (t_ent = {cfg.t_ent:g}).")))
display(table.round(1))
display(Markdown("Seed spread of the model rows (mIOU, std with ddof=1):"))
display(spread.round(2))

# %% [markdown]
# ## The entropy threshold: three calibrations
#
# Session 2 calibrated `t_ent` per model; commit 2694c4e switched to one threshold for all models,
# pooled over their validation grasps (the paper uses one `t_ent`). That switch flipped the verdict of
# `noaug_confidently_wrong` from missed to held at the time (before verdicts carried their bootstrap
# interval): a claim about -Filter rows can depend on the threshold. The claims section below gives today's
# verdicts, each claim's verdict under every threshold (`table1_claims_by_calibration`) and which of them change
# with it. The -Filter rows under each of the three thresholds:

# %%
calib = []
for cname, t in models.calibrations.items():
    ct, _ = T1.table1(baseline_results + models.results_at[cname])
    for r in ct[ct.method.str.endswith("-Filter") & ct.method.str.startswith("Grasp")].itertuples():
        calib.append({"calibration": cname, "t_ent": t, "method": r.method, "mIOU": r.mIOU, "error_pct": r.error_pct,
                      "recall_pct": r.recall_pct, "paper_recall_pct": r.paper_recall_pct})
calib = pd.DataFrame(calib)
_ = tables.write_table(calib, out_tables, "table1_calibrations",
                       caption="Model -Filter rows (mean over seeds) under three entropy thresholds: F1-best on the pooled "
                               "validation grasps of the paper's variants (ours, Table I), recall-matched (Grasp-100 keeps the paper's "
                               "Grasp-100-Filter share of validation grasps), and the paper's t_ent.")
display(calib.round(2))
ours_calib = calib[calib.calibration == models.table_calibration]
matched = calib[calib.calibration == "recall-matched"].set_index("method")
display(Markdown(F.recall_sentence(F.recall_comparability(ours_calib), models.table_calibration, matched)))
thresholds = pd.DataFrame(models.thresholds)
_ = tables.write_table(thresholds, out_tables, "table1_entropy_thresholds",
                       caption="Per model and seed: median relative entropy on validation grasps and the share of them "
                               "each threshold keeps. Thresholds: " + ", ".join(f"{c} {t:.3g}" for c, t in
                                                                               models.calibrations.items()) + ".")
display(thresholds.round(3))

# %% [markdown]
# Which filter drops the models' predictions (inference times per grasp pair are recorded apart, in
# `reports/timings/graspseg/table1_inference_time.json`):

# %%
timing = pd.DataFrame([{"method": f"{r.name} (seed {r.seed})", "ms_per_pair": 1000 * r.seconds_per_pair}
                       for r in results])
_ = run.write_timings("table1_inference_time", {"threads": 1, "processes": min(model_cfg.workers, len(probs)),
                                                "ms_per_pair": dict(zip(timing.method, timing.ms_per_pair))})
drops = pd.DataFrame({f"{n} (seed {k})": 100 * (1 - v[["nonempty", "occlusion", "entropy", "contours"]].mean())
                      for (n, k), v in filter_checks.items()}).T.add_suffix(" fails %")
display(drops.round(1))  # timings: reports/timings/graspseg/table1_inference_time.json

# %% [markdown]
# ## The paper's claims on this run
#
# Each claim quotes the paper; its verdict is **held** / **missed** only when the comparison holds /
# fails in at least the share of bootstrap replicates printed below (test grasps and seeds resampled), else
# **inconclusive**.

# %%
claims_file = paths.root() / "src/robopercept/graspseg/claims_table1.yaml"
verdict = claims.evaluate_claims(claims_file, table, replicates)
verdict = verdict.merge(T1.claims_by_seed(claims_file, results), on="id", how="left")
_ = tables.write_table(verdict[["id", "section", "quote", "claim", "verdict", "holds", "margin", "margin_lo", "margin_hi",
                                "share_held", "held_by_seed", "caveat"]], out_tables, "table1_claims",
                       caption=f"graspseg claims checked against our Table I: margin in the metric's units, its 95 % "
                               f"interval and the verdict from {cfg.n_boot} bootstrap replicates over test grasps and "
                               "seeds; `held_by_seed`: the claim on each seed's own table (the baselines and one-seed "
                               "rows in every one).")
display(verdict[["id", "section", "verdict", "margin", "margin_lo", "margin_hi"]].round(2))
display(Markdown(f"A verdict is held or missed when the comparison holds or fails in at least "
                 f"{100 * claims.CONFIDENCE:g} % of the replicates."))
display(Markdown("**" + " / ".join(f"{n} {v}" for v, n in claims.tally(verdict).items()) + "**."))
split_seeds = verdict[verdict.held_by_seed.fillna("").str.contains("held") & verdict.held_by_seed.fillna("").str.contains("missed")]
display(Markdown("The seeds' own tables agree on every claim." if split_seeds.empty else
                 "The seeds' own tables disagree on " + ", ".join(f"`{r.id}` ({r.held_by_seed})"
                                                                  for r in split_seeds.itertuples())
                 + ": read those verdicts against the seed spread above, not as the paper's claim settled."))
display(Markdown(verdicts.sentences(verdict)))
by_calibration = []
for cname in models.calibrations:
    ct, creps = T1.table1(baseline_results + models.results_at[cname], cfg.n_boot,
                          derive_seed(run.seed, "graspseg_table1_bootstrap"))
    cv = claims.evaluate_claims(claims_file, ct, creps)
    by_calibration.append(cv.set_index("id").verdict.rename(cname))
by_calibration = pd.concat(by_calibration, axis=1).reset_index()
_ = tables.write_table(by_calibration, out_tables, "table1_claims_by_calibration",
                       caption="Verdict of each claim under each entropy threshold (the baselines' rows do not depend "
                               "on it).")
display(by_calibration)
varies = by_calibration.set_index("id").nunique(axis=1) > 1
display(Markdown("Claims whose verdict changes with the threshold: "
                 + (", ".join(f"`{c}`" for c in varies[varies].index) if varies.any() else "none") + "."))

# %%
t = table.set_index("method")
gap = t.loc["Grasp-200", "mIOU"] - t.loc["Grasp-200", "paper_mIOU"]
sub_gap = t.loc["Subtract", "mIOU"] - t.loc["Subtract", "paper_mIOU"]
scratch = t.loc["Grasp-100", "mIOU"] - t.loc["Grasp-100-Scratch", "mIOU"]
literal = t.loc["Grasp-100", "mIOU"] - t.loc["Grasp-100-LiteralLoss", "mIOU"]
steps_gap = model_cfg.max_steps != model_cfg.ablation_max_steps  # the ablations train for fewer steps
paper_recalls = t.loc[[m for m in t.index if m.endswith("-Filter") and m.startswith("Grasp-")], "paper_recall_pct"]
paper_recalls = paper_recalls.dropna()
paper_keep = thresholds.groupby("model")["val_recall_at_paper (%)"].mean()

ci_scratch = T1.paired_interval(replicates, "Grasp-100", "Grasp-100-Scratch")
ci_literal = T1.paired_interval(replicates, "Grasp-100", "Grasp-100-LiteralLoss")

display(Markdown(
    f"**Against the paper.** Our Subtract is {abs(sub_gap):.1f} points {'above' if sub_gap > 0 else 'below'} the "
    f"paper's ({t.loc['Subtract', 'mIOU']:.1f} vs {t.loc['Subtract', 'paper_mIOU']}). Our Grasp-200 is {abs(gap):.1f} "
    f"points {'above' if gap > 0 else 'below'} the paper's ({t.loc['Grasp-200', 'mIOU']:.1f} vs "
    f"{t.loc['Grasp-200', 'paper_mIOU']}). On the test grasps Grasp-100 is {scratch:+.1f} points from "
    f"Grasp-100-Scratch (95 % interval [{ci_scratch[0]:+.1f}, {ci_scratch[1]:+.1f}]) and {literal:+.1f} from "
    f"Grasp-100-LiteralLoss ([{ci_literal[0]:+.1f}, {ci_literal[1]:+.1f}])"
    + (f" — but those two ablations train for at most {model_cfg.ablation_max_steps} steps against Grasp-100's "
       f"{model_cfg.max_steps}, so these gaps mix the ablation with the step budget; at the same budget the §III-A "
       "notebook's `grasp_model_ablations` compares them on validation grasps" if steps_gap else "")
    + f". Our models are a {model_cfg.backbone} trained for at most "
    f"{model_cfg.max_steps} steps with early stopping in {model_cfg.workers} single-thread processes, from "
    + ("the shared stand-in pretraining on simulated scenes (not the paper's COCO weights). "
       if model_cfg.pretrained_checkpoint == "stand-in" else f"`{model_cfg.pretrained_checkpoint}`. ")
    + f"With the paper's own t_ent = {cfg.t_ent:g} our models' filters keep "
    f"{', '.join(f'{m} {v:.0f} %' for m, v in paper_keep.items())} of their validation predictions"
    + (f" — fewer than the paper's {paper_recalls.min():.0f}–{paper_recalls.max():.0f} %" if paper_keep.max() < paper_recalls.min()
       else f" (the paper's model -Filter recalls are {paper_recalls.min():.0f}–{paper_recalls.max():.0f} %)")
    + (f"; Table I's -Filter rows use the F1-calibrated t_ent = {t_used:.3g} instead (for the reason in the "
       "introduction)." if cfg.calibrate_t_ent else "; Table I's -Filter rows use it.")))

# %% [markdown]
# ## The baselines, against the paper's ranking
#
# The paper's ranking of the unfiltered baselines (Table I, real data), then which simulated nuisances each of ours
# survives — mIOU of the unfiltered baselines on the test grasps by nuisance (a grasp can have several):

# %%
paper_order = sorted(baselines.BACKGROUND_METHODS + ("Subtract",), key=lambda m: -T1.PAPER_TABLE1[m][0])
display(Markdown("The paper ranks " + " > ".join(f"{m} ({T1.PAPER_TABLE1[m][0]:g} mIOU)" for m in paper_order)
                 + f"; its MOG2-Filter is {T1.PAPER_TABLE1['MOG2-Filter'][0]:g}."))
nuisance = F.nuisance_flags([s.record for s in test])
# the -Filter rows: mIOU over the grasps with the nuisance that the contour filter keeps (Table I's -Filter mIOU)
by_nuisance = F.miou_by_nuisance(baseline_results, nuisance)
by_nuisance["test grasps"] = len(test)
by_nuisance.loc["share of test grasps (%)"] = [100 * nuisance[c].mean() for c in nuisance.columns] + [len(test)]
_ = tables.write_table(by_nuisance.reset_index(names="method"), out_tables, "table1_baselines_by_nuisance",
                       caption="Baselines: mIOU (%) on the test grasps with each nuisance (a -Filter row: over the "
                               "grasps with it that the contour filter keeps).")
display(by_nuisance.round(1))
bn = by_nuisance.loc[[r.name for r in baseline_results]]
bnf = by_nuisance.loc[[r.name + "-Filter" for r in baseline_results]]
paper_order_f = sorted(bnf.index, key=lambda m: -T1.PAPER_TABLE1[m][0])
orders = F.ranking_orders(bn, bnf, paper_order, paper_order_f, nuisance.columns)  # None in "= paper's": no grasp there
mog_same = sum(all(np.array_equal(baselines.background_subtract(b, a, "MOG", 0.0, k, warmup_lr=1.0),
                                  baselines.background_subtract(b, a, "MOG", 30.0, k, warmup_lr=1.0))
                   for k in baselines.BLUR_GRID) for b, a, _ in triples)
mog_rate1 = 100 * max(np.mean([iou(baselines.background_subtract(b, a, "MOG", 0.0, k, warmup_lr=1.0), m)
                               for b, a, m in triples]) for k in baselines.BLUR_GRID)
mog_train = float(tuned.set_index("method").loc["MOG", "train_mIOU"])
worst = {m: bn.loc[m, ["neighbour moved", "light changed", "glossy object"]].astype(float).idxmin() for m in bn.index}
order_ours = t.loc[list(bn.index), "mIOU"].sort_values(ascending=False)
display(Markdown(
    "Ranking here (unfiltered mIOU): " + " > ".join(f"{m} {v:.1f}" for m, v in order_ours.items())
    + ". Each baseline's weakest nuisance: " + ", ".join(f"{m}: {worst[m]} ({bn.loc[m, worst[m]]:.1f} vs "
                                                        f"{bn.loc[m, 'none']:.1f} without nuisance)" for m in bn.index)
    + f". The paper gives no protocol for fitting a background model to a two-frame \"video\"; ours feeds the before "
    f"image {baselines.WARMUP} times at OpenCV's default learning schedule, then the after image at rate 0. Until "
    f"session 20 the warm-up ran at learning rate 1: there MOG's noiseSigma 0 vs 30 gives identical masks at every "
    f"pre-blur on {mog_same} of {len(triples)} tuning grasps"
    + (" (the two ends of its grid gave the same masks everywhere)" if mog_same == len(triples) else "")
    + f", and its best tuning mIOU there (noiseSigma 0, over the blur grid) is {mog_rate1:.1f} against "
    f"{mog_train:.1f} now (tuned over noiseSigma and blur)"
    + (f": since noiseSigma 0 and 30 give the same masks at rate 1, the {mog_train - mog_rate1:+.1f} points on the same grasps are "
       "the protocol's" if mog_same == len(triples) else "")
    + ". The paper's "
    "real scenes and its protocol are not ours; the table above is what our ranking rests on, not a claim about the "
    "paper's."))
display(Markdown(f"The paper's order: unfiltered {' > '.join(paper_order)}; -Filter {' > '.join(paper_order_f)}. "
                 "Ours on the test grasps with each nuisance (and on those with none):"))
display(orders)
display(Markdown(F.order_sentences(orders)))

# %% [markdown]
# **Tuned, or as OpenCV ships them?** The paper names MOG, MOG2 and LSBP but no parameter. Our rows are tuned on
# training grasps (each method's own parameter and a pre-blur, above) — the stronger baselines. The same methods at
# every OpenCV default (MOG2 with its shadow detection on, no pre-blur; the same warm-up), on the same test grasps:

# %%
defaults = [T1.evaluate_masks(m, lambda i, m=m: baselines.background_subtract(test[i].before, test[i].after, m, None),
                              gts, fcfg) for m in baselines.BACKGROUND_METHODS]
defaults_table = T1.against_defaults(defaults, table)
_ = tables.write_table(defaults_table, out_tables, "table1_baselines_defaults",
                       caption="Background-subtraction baselines at OpenCV's defaults (every parameter as the library "
                               "ships it, MOG2's shadow detection on, no pre-blur, the same warm-up) against our tuned "
                               "rows (Table I) and the paper's, on the same test grasps; -Filter: with the contour "
                               "filter. Not in the paper.")
display(defaults_table.round(1))
at_defaults = defaults_table.set_index("method")
found = F.defaults_findings(baselines.BACKGROUND_METHODS, t, at_defaults, t.loc["Subtract", "mIOU"], T1.PAPER_TABLE1)
display(Markdown(F.defaults_sentence(found, baselines.BACKGROUND_METHODS, t, at_defaults, T1.PAPER_TABLE1)))

# %% [markdown]
# ## Fig. 2: where subtraction fails
#
# Test grasps with a nuisance (a neighbour moved, the light changed, or a glossy object), where
# Subtract does worst relative to Grasp-200's first seed (the model whose predictions are shown). Columns: inputs,
# Subtract, the model's visible and amodal
# predictions, the entropy of the visible prediction (bright = uncertain), and the ground truth.

# %%
sub_iou = results[0].iou
model_iou = next(r for r in results if (r.name, r.seed) == first["Grasp-200"]).iou
hard = [i for i, s in enumerate(test) if s.record["neighbours_moved"] or s.record["lighting_changed"]
        or s.record["grasped"]["glossy"]]
hard = sorted(hard, key=lambda i: sub_iou[i] - model_iou[i])[: cfg.n_examples]
cells, titles = [], []
for i in hard:
    s, p = test[i], probs[first["Grasp-200"]][i]
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
# mIOU per test object (objects with at least `min_object_grasps` test grasps) for Subtract and Grasp-200 (each
# grasp's IOU averaged over Grasp-200's seeds, as Table I's row averages them): which objects are hard for whom.

# %%
g200 = [r.iou for r in results if r.name == "Grasp-200"]  # unfiltered rows, one per seed
per = pd.DataFrame({"object": [s.record["grasped"]["object"] for s in test],
                    "category": [s.record["grasped"]["category"] for s in test],
                    "glossy": [s.record["grasped"]["glossy"] for s in test],
                    "Subtract": 100 * sub_iou, "Grasp-200": 100 * np.mean(g200, axis=0)})
per_obj = (per.groupby(["object", "category", "glossy"])
           .agg(grasps=("Subtract", "size"), Subtract=("Subtract", "mean"), Grasp_200=("Grasp-200", "mean"))
           .reset_index().query(f"grasps >= {cfg.min_object_grasps}").sort_values("Grasp_200"))
_ = tables.write_table(per_obj, out_tables, "table1_per_object",
                       caption=f"mIOU per test object (>= {cfg.min_object_grasps} test grasps), Subtract vs "
                               f"Grasp-200 (each grasp's IOU averaged over its {len(g200)} seeds).")
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
