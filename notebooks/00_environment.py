# %% [markdown]
# # 00 · Environment and provenance
#
# Every table and figure in `reports/` points here. This notebook records **what ran where**: the
# package versions, the machine (CPU, GPU, threads), the parameter profile and the seed, and the
# commit of the code. It also shows the **object catalog** in `data/` — the raw input the simulated
# robot world draws every dataset from (see `robopercept.world.catalog`).
#
# The papers' datasets came from real robots and real bins. None of them can be fetched here, so
# this repository ships a simulated world (pybullet, rendered on the CPU) that writes each dataset in
# the real dataset's on-disk format. The catalog below is what fills its bins.

# %% tags=["parameters"]
params = {}  # filled from params.yaml by robopercept.stage (empty: the notebook reads params.yaml)
data_dir = "data"
reports_dir = "reports"

# %%
import json

import numpy as np
import pandas as pd
from IPython.display import Image, Markdown, display

from robopercept import paths
from robopercept.notebook import setup
from robopercept.reporting import cpu, figures, provenance, tables
from robopercept.world.catalog import load_catalog, summarize
from robopercept.world.scene import thumbnail

run = setup("environment", params, paper="environment", data_dir=data_dir, reports_dir=reports_dir)
cfg = run["environment"]
rng = np.random.default_rng(run.seed)
out_tables = run.tables
out_figures = run.figures

# %% [markdown]
# ## Software and machine

# %%
versions = provenance.package_versions()
machine = provenance.machine()
run_info = {"profile": run.profile, "seed": run.seed}
display(pd.DataFrame({"package": list(versions), "version": list(versions.values())}))
display(pd.DataFrame({"key": list(machine) + list(run_info), "value": [str(v) for v in [*machine.values(), *run_info.values()]]}))

# %% [markdown]
# **Which machines give the same bytes.** Every stage is deterministic run to run on one machine, but float results
# can differ between CPU *models* (oneDNN and MKL choose kernels by instruction set and cache size, and another
# blocking sums in another order): the stand-in backbone came out with different bytes on three machines that all
# call themselves "AMD EPYC" or Xeon (README, "Stages"). The fingerprint below is what to compare before expecting a
# rerun to match `dvc.lock` byte for byte (`robopercept.reporting.cpu.same_bytes_expected`).

# %%
cpu_fingerprint = cpu.fingerprint()
display(pd.DataFrame({"key": list(cpu_fingerprint), "value": [str(v) for v in cpu_fingerprint.values()]}))

# %% [markdown]
# The metrics file below is what DVC tracks for this stage. It holds only what is stable across
# reruns of the same code on the same machine (no timings, no commit), so `dvc repro` twice gives the same bytes.
# The commit, profile and time of every stage run are recorded by `robopercept.stage` apart from the
# DVC-tracked outputs, in `reports/timings/stages/<stage>.json`.

# %%
_ = run.write_metrics("provenance", values={"run": run_info, "machine": machine, "cpu": cpu_fingerprint,
                                                   "packages": versions})

# %% [markdown]
# ## The object catalog
#
# Objects are procedural primitives (boxes, cylinders, thin pouches, balls) and meshes from
# `pybullet_data`, each with a procedural texture (printed labels, stripes, noise, checker), mass,
# friction, a gloss flag (glossy items make specular highlights that defeat image subtraction), a
# category, and a **train/test split**: a dataset built from training objects never contains a test
# object, as in the papers' held-out-object evaluations.

# %%
catalog = load_catalog(data_dir)
counts = pd.DataFrame(summarize(catalog.items)).T.rename_axis("category").reset_index()
counts.loc[len(counts)] = ["total", counts.train.sum(), counts.test.sum(), counts.glossy.sum()]
tables.write_table(counts, out_tables, "catalog_summary", caption="Object catalog: objects per category and split.")
display(counts)

# %%
idx = rng.choice(len(catalog.items), size=min(cfg.gallery_objects, len(catalog.items)), replace=False)
shown = sorted((catalog.items[i] for i in idx), key=lambda o: (o.category, o.id))
thumbs = [thumbnail(catalog, o, cfg.gallery_size) for o in shown]
fig = figures.image_grid(thumbs, [f"{o.name}\n{o.split}{' · glossy' if o.glossy else ''}" for o in shown], cols=8)
display(Image(filename=str(figures.save_figure(fig, out_figures / "catalog_gallery.png"))))

# %%
display(Markdown(f"Catalog: **{len(catalog.items)} objects**, "
                 f"{len(catalog.objects('train'))} train / {len(catalog.objects('test'))} test, "
                 f"catalog version {json.loads((catalog.root / 'catalog.json').read_text())['version']}."))
