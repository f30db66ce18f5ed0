"""Write the site's MyST sources from ``reports/`` and build them with Sphinx.

Everything a page shows is read from committed files; nothing is computed anew except counts and sums:

* **scoreboards** — per paper: the paper's tables we reproduce (a table counts when its CSV is in ``reports/`` with
  numbers of ours: a placeholder that says the profile did not train it, :mod:`robopercept.reporting.not_trained`,
  is counted apart as "not trained at this profile"),
  the claim verdicts of every ``*claims.csv`` (held / missed / inconclusive / not evaluated, and how many rest on a
  row that never learned or a collapsed baseline), the cpu-profile wall time of the paper's stages and the commits
  and profile they ran at (``reports/timings/stages/*.json``);
* **tables** — each results table with our columns and the paper's side by side (a paper column is named
  ``paper_X`` or ``X (paper)`` in our CSVs), its caption the first paragraph of the table's ``.md``; a placeholder
  table reads "Not trained at this profile (…)";
* **claims** — every claim with the paper's sentence, its section, our margin and interval and the verdict;
* **departures** — the "**Here.**" paragraph of each notebook's introduction, where every notebook states what it
  does differently from the paper, gathered on one page per paper;
* **notebooks** — the executed notebooks of ``reports/notebooks/`` in section order, each with a provenance box
  (stage, profile, commit, date, wall time, package versions); a notebook whose stage has not run on the committed
  profile is shown unexecuted from ``notebooks/`` and says so.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from .. import paths


class SiteError(RuntimeError):
    """The site cannot be built from what ``reports/`` holds (named in the message)."""


@dataclass(frozen=True)
class PaperTable:
    label: str            # the paper's name for it: "Table I"
    csv: str | None       # reports/tables/<paper>/<csv>; None: not built in this repository
    paper_csv: str | None = None  # the paper's own table, when ours holds no paper column (shown right below it)


@dataclass(frozen=True)
class Paper:
    key: str
    title: str
    authors: str
    tables: tuple[PaperTable, ...]


PAPERS: tuple[Paper, ...] = (
    Paper("graspseg", "Self-Supervised Instance Segmentation by Grasping", "Liu, Chen, Abbeel",
          (PaperTable("Table I", "table1.csv"), PaperTable("Table II", "table2.csv"),
           PaperTable("Table III", "table3.csv"))),
    Paper("mlgsl", "Learn to Grasp with Less Supervision: A Data-Efficient Maximum Likelihood Grasp Sampling Loss",
          "Zhu et al.",
          (PaperTable("Table I", "table1.csv"), PaperTable("Table II", "table2.csv", paper_csv="table2_paper.csv"),
           PaperTable("Fewer training images (§IV-A)", "fewer_images.csv"),
           PaperTable("Collision-free grasps (§IV-C)", "collision_free.csv"),
           PaperTable("Clutter removal (§V)", "clutter_removal.csv"))),
    Paper("latentmrcnn", "Distributional Instance Segmentation (Latent-MaskRCNN)", "Liu, Mishra, Abbeel, Chen",
          (PaperTable("Table I", "table1.csv"), PaperTable("Table II", "table2.csv"),
           PaperTable("Table III", "table3_picking.csv"))),
    Paper("fastseg", "Fast Instance and Semantic Segmentation Exploiting Local Connectivity, Metric Learning, and "
          "One-Shot Detection for Robotics", "Milioto, Mandtler, Stachniss",
          (PaperTable("Table I", "table1.csv"), PaperTable("Table II", "table2.csv"),
           PaperTable("Table III", "table3.csv"))),
    Paper("don", "Efficient and Robust Training of Dense Object Nets for Multi-Object Robot Manipulation",
          "Adrian, Kupcsik, Spies, Neumann",
          (PaperTable("Table I", "table1.csv"), PaperTable("Table II", "table2.csv"),
           PaperTable("Table III", "table3.csv"), PaperTable("Table IV", "table4.csv"),
           PaperTable("Table V", "table5.csv"))),
)

SHARED_NOTEBOOKS = ("00_environment", "01_pretrained_backbone")
VERDICTS = ("held", "missed", "inconclusive", "not evaluated")
_MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full"


# --------------------------------------------------------------------------------------------------- reading

def section_order(stem: str) -> tuple[int, str]:
    """Notebooks in run order: by their numeric prefix (``2_x`` before ``10_y``), then by name."""
    head = stem.split("_", 1)[0]
    return (int(head) if head.isdigit() else 10**9, stem)

def _stage_of_notebooks(root: Path) -> dict[str, str]:
    """notebook path without suffix (``notebooks/graspseg/5_instance_segmentation``) -> its DVC stage."""
    stages = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]
    out = {}
    for name, spec in stages.items():
        m = re.search(r"notebooks/(\S+)\.(py|ipynb)", spec.get("cmd", ""))
        if m:
            out[f"notebooks/{m.group(1)}"] = name
    return out


def _timings(root: Path) -> dict[str, dict]:
    out = {}
    for f in sorted((root / "reports" / "timings" / "stages").glob("*.json")):
        try:
            out[f.stem] = json.loads(f.read_text())
        except json.JSONDecodeError as e:
            raise SiteError(f"corrupt timing record {f}: {e}") from e
    return out


def _packages(root: Path) -> dict[str, str]:
    f = root / "reports" / "metrics" / "environment" / "provenance.json"
    if not f.is_file():
        return {}
    return json.loads(f.read_text()).get("values", {}).get("packages", {})


def _read_csv(path: Path):
    import pandas as pd

    try:
        return pd.read_csv(path)
    except Exception as e:  # noqa: BLE001 - any parse failure is a corrupt report
        raise SiteError(f"cannot read {path}: {e}") from e


def _caption(csv: Path) -> str:
    md = csv.with_suffix(".md")
    if not md.is_file():
        return ""
    first = md.read_text().split("\n\n", 1)[0].strip()
    return "" if first.startswith("|") else first


def paper_base(col: str) -> str:
    """The name of our column a paper column stands beside: ``paper_AP`` -> ``AP``, ``Top-1 (paper)`` ->
    ``Top-1``, ``removal rate (paper, %)`` -> ``removal rate (%)``."""
    if col.startswith("paper_"):
        return col[len("paper_"):]
    if col.endswith(" (paper)"):
        return col[: -len(" (paper)")]
    return re.sub(r"\(paper,\s*", "(", col)


def is_paper_column(col: str) -> bool:
    return col.startswith("paper_") or "(paper" in col or col == "paper"


def paper_column(df_columns, col: str) -> str | None:
    """The paper's counterpart of our column ``col`` in the same table, if it has one."""
    for c in df_columns:
        if is_paper_column(c) and paper_base(c) == col:
            return c
    return None


def claims_files(root: Path, paper: str) -> list[Path]:
    folder = root / "reports" / "tables" / paper
    return [f for f in sorted(folder.glob("*claims*.csv")) if "verdict" in f.read_text().split("\n", 1)[0]]


def claim_counts(root: Path, paper: str) -> dict[str, int]:
    counts = {v: 0 for v in VERDICTS} | {"flagged": 0, "total": 0}
    for f in claims_files(root, paper):
        df = _read_csv(f)
        for _, r in df.iterrows():
            counts["total"] += 1
            v = str(r.get("verdict", ""))
            counts[v if v in counts else "not evaluated"] += 1
            if _flag(r):
                counts["flagged"] += 1
    return counts


def _flag(row) -> str:
    """Why a verdict is not evidence (a row that never learned, a collapsed baseline), or ''."""
    untrained = row.get("untrained_rows")
    if isinstance(untrained, str) and untrained.strip():
        return f"rests on rows that never learned: {untrained}"
    collapsed = row.get("baseline_collapsed")
    if collapsed is True or str(collapsed).lower() == "true":
        return "the baseline collapsed"
    return ""


def departures(notebook: dict) -> str:
    """The "**Here.**" paragraph(s) of a notebook's introduction: what it does differently from the paper."""
    for cell in notebook.get("cells", [])[:3]:
        if cell.get("cell_type") != "markdown":
            continue
        text = "".join(cell["source"])
        m = re.search(r"\*\*Here\.\*\*(.*?)(?=\n\n\*\*[A-Z][^*\n]{0,40}\.\*\*|\Z)", text, flags=re.S)
        if m:
            return m.group(1).strip()
    return ""


# --------------------------------------------------------------------------------------------------- writing
def _cell(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:.4g}"
    s = str(v).replace("\n", " ").strip()
    return re.sub(r"([\\`*_\[\]<>|$])", r"\\\1", s) or "–"


def list_table(header: list[str], rows: list[list], css: str, widths: str | None = None) -> str:
    lines = ["```{list-table}", ":header-rows: 1", f":class: {css}"]
    if widths:
        lines.append(f":widths: {widths}")
    lines.append("")
    for r in [header, *rows]:
        lines.append(f"* - {r[0] if r is header else _cell(r[0])}")
        for v in r[1:]:
            lines.append(f"  - {v if r is header else _cell(v)}")
    lines.append("```")
    return "\n".join(lines)


def results_table_md(df) -> str:
    """Our columns with the paper's beside each, headed ``ours: X`` / ``paper: X``."""
    cols = list(df.columns)
    order, header = [], []
    for c in cols:
        if is_paper_column(c):
            continue
        p = paper_column(cols, c)
        order.append(c)
        header.append(f"ours: {_cell(c)}" if p else _cell(c))
        if p:
            order.append(p)
            header.append(f"paper: {_cell(c)}")
    for c in cols:
        if is_paper_column(c) and c not in order:
            order.append(c)
            header.append(f"paper: {_cell(paper_base(c))}")
    rows = [[r[c] for c in order] for _, r in df.iterrows()]
    return list_table(header, rows, "results-table")


def paper_only_table_md(df) -> str:
    """A table that is the paper's alone (every column headed ``paper: X``)."""
    header = [f"paper: {_cell(paper_base(c).replace(' (paper)', ''))}" for c in df.columns]
    return list_table(header, [list(r) for _, r in df.iterrows()], "results-table")


def claims_table_md(df) -> str:
    header = ["claim", "section", "the paper's sentence", "what we test", "verdict", "margin [95 % interval]", "caveat"]
    rows = []
    for _, r in df.iterrows():
        margin = r.get("margin")
        if isinstance(margin, float) and not math.isnan(margin):
            m = f"{margin:.3g} [{r.get('margin_lo', float('nan')):.3g}, {r.get('margin_hi', float('nan')):.3g}]"
        else:
            m = "–"
        caveat = "; ".join(x for x in (_flag(r), r.get("caveat") if isinstance(r.get("caveat"), str) else "") if x)
        verdict = str(r.get("verdict", "")) + (" (flagged)" if _flag(r) else "")
        rows.append([r["id"], r.get("section", ""), r.get("quote", ""), r.get("claim", ""), verdict, m, caveat])
    return list_table(header, rows, "claims-table", widths="10 6 30 22 8 10 14")


def _fmt_minutes(s: float) -> str:
    return f"{s / 60:.1f} min"


def _packages_line(packages: dict[str, str]) -> str:
    keys = ("torch", "torchvision", "numpy", "pybullet", "opencv-contrib-python-headless", "diffusers", "dvc")
    return ", ".join(f"{k} {packages[k]}" for k in keys if k in packages) or "not recorded"


def _provenance_md(stage: str | None, timing: dict | None, packages: dict[str, str], run: bool) -> str:
    pk = _packages_line(packages)
    if not run or timing is None:
        body = (f"Stage `{stage}` has **not run** on the committed profile: this page shows the notebook's code and "
                f"text without outputs. Packages of the environment stage: {pk}.")
    else:
        when = timing.get("started_utc", "?").replace("T", " ").replace("Z", " UTC")
        body = (f"Stage `{stage}` · profile `{timing.get('profile', '?')}` · commit `{timing.get('commit', '?')}` · "
                f"run {when} · {_fmt_minutes(timing.get('wall_s', 0.0))} on the run's machine · packages: {pk}.")
    return f":::{{admonition}} Provenance\n:class: provenance\n{body}\n:::\n"


def write_sources(src: Path, root: Path | None = None) -> dict[str, dict]:
    """Write the MyST sources of the site into ``src`` (emptied first). Returns each paper's scoreboard."""
    import nbformat

    from ..reporting import not_trained

    root = Path(root) if root else paths.root()
    reports = root / "reports"
    if not (reports / "notebooks").is_dir():
        raise SiteError(f"{reports / 'notebooks'} does not exist: nothing to build a site from (run `dvc repro`)")
    if src.exists():
        shutil.rmtree(src)
    (src / "_static").mkdir(parents=True)
    stage_of = _stage_of_notebooks(root)
    timings = _timings(root)
    packages = _packages(root)
    fresh = _freshness(root)

    def notebook_page(nb_rel: str, dest: Path) -> tuple[str, str, bool]:
        """Copy one notebook (executed if its stage ran) to ``dest`` with a provenance box; (title, departures, run)."""
        stage = stage_of.get(nb_rel)
        executed = reports / "notebooks" / (nb_rel[len("notebooks/"):] + ".ipynb")
        run = executed.is_file() and stage in timings
        source = executed if run else root / (nb_rel + ".ipynb")
        if not source.is_file():
            raise SiteError(f"notebook {nb_rel}.ipynb is missing from notebooks/ and reports/notebooks/")
        try:
            nb = nbformat.read(source, as_version=4)
        except Exception as e:  # noqa: BLE001
            raise SiteError(f"corrupt notebook {source}: {e}") from e
        title = "".join(nb.cells[0].source).splitlines()[0].lstrip("# ").strip() if nb.cells else nb_rel
        box = nbformat.v4.new_markdown_cell(_provenance_md(stage, timings.get(stage), packages, run))
        nb.cells.insert(1, box)
        nb.metadata.pop("papermill", None)
        nb.metadata.setdefault("language_info", {"name": "python"})
        dest.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, dest)
        return title, departures(nb), run

    boards: dict[str, dict] = {}
    # shared notebooks
    shared = []
    for name in SHARED_NOTEBOOKS:
        title, _, run = notebook_page(f"notebooks/{name}", src / "shared" / f"{name}.ipynb")
        shared.append((name, title, run))
    (src / "shared" / "index.md").write_text(
        "# Shared stages\n\nThe environment record (package versions, machine) and the stand-in for the papers' "
        "ImageNet/COCO-pretrained weights that every paper's models start from.\n\n"
        + _provenance_md("environment", timings.get("environment"), packages, "environment" in timings)
        + "\n```{toctree}\n:maxdepth: 1\n\n"
        + "\n".join(name for name, _, _ in shared) + "\n```\n")

    for paper in PAPERS:
        folder = root / "notebooks" / paper.key
        nbs = sorted((p.stem for p in folder.glob("*.ipynb")), key=section_order)
        if not nbs:
            raise SiteError(f"notebooks/{paper.key}/ holds no notebook")
        pages, deps = [], []
        for stem in nbs:
            title, dep, run = notebook_page(f"notebooks/{paper.key}/{stem}", src / paper.key / f"{stem}.ipynb")
            pages.append((stem, title, run))
            if dep:
                deps.append((stem, title, dep))
        tables_dir = reports / "tables" / paper.key
        written = {t.csv: _read_csv(tables_dir / t.csv) for t in paper.tables
                   if t.csv and (tables_dir / t.csv).is_file()}
        untrained_tables = [c for c, df in written.items() if not_trained.is_placeholder(df)]
        present = [c for c in written if c not in untrained_tables]
        counts = claim_counts(root, paper.key)
        stages = {s: t for s, t in timings.items() if s.startswith(f"{paper.key}_")}
        all_stages = [s for s in stage_of.values() if s.startswith(f"{paper.key}_")]
        board = {
            "tables": len(present), "tables_total": len(paper.tables), "tables_not_trained": len(untrained_tables),
            "claims": counts,
            "cpu_s": sum(t.get("wall_s", 0.0) for t in stages.values() if t.get("profile") == "cpu"),
            "stages_run": len(stages), "stages_total": len(all_stages),
            "commits": sorted({t.get("commit", "?") for t in stages.values()}),
            "profiles": sorted({t.get("profile", "?") for t in stages.values()}),
            "dates": sorted({t.get("started_utc", "?")[:10] for t in stages.values()}),
            "stale": {st: {**fresh[st].reasons, **({"after stale": fresh[st].after} if fresh[st].after else {})}
                      for st in all_stages if fresh and st in fresh and not fresh[st].current},
            "checked": fresh is not None,
        }
        boards[paper.key] = board

        runs = "; ".join(f"`{st}` {t.get('profile', '?')} @ `{t.get('commit', '?')}` "
                         f"{t.get('started_utc', '?')[:16].replace('T', ' ')} UTC" for st, t in sorted(stages.items()))
        box = (":::{admonition} Provenance\n:class: provenance\n"
               f"Runs of this paper's stages (stage, profile, commit, start): {runs or 'none yet'}. Packages of the "
               f"environment stage: {_packages_line(packages)}. Each notebook page names its own run.\n:::\n")
        md = [f"# {paper.key} · {paper.title}", "", f"*{paper.authors}.* The paper's text: "
              f"`shared/papers` (see the repository README).", "", _scoreboard_md(paper, board), "", box,
              _stale_md(board), ""]
        md += ["## Tables: ours beside the paper's", ""]
        for t in paper.tables:
            md.append(f"### {t.label}")
            md.append("")
            if t.csv is None:
                md += ["Not built in this repository yet (see the paper's issue).", ""]
                continue
            f = tables_dir / t.csv
            if not f.is_file():
                md += [f"Not yet run on the committed profile (`reports/tables/{paper.key}/{t.csv}` is absent).", ""]
                continue
            df = written[t.csv]
            if not_trained.is_placeholder(df):
                why = not_trained.reason(df)
                md += [f"{_cell(why[:1].upper() + why[1:])}: this run has no numbers of ours for it "
                       f"(`reports/tables/{paper.key}/{t.csv}`).", ""]
                continue
            if t.paper_csv:
                pf = tables_dir / t.paper_csv
                if not pf.is_file():
                    raise SiteError(f"{pf} (the paper's {t.label}) is missing beside {f}")
                md += [_caption(f), "", list_table([_cell(c) for c in df.columns],
                                                   [list(r) for _, r in df.iterrows()], "results-table-ours"), "",
                       f"The paper's {t.label} (`reports/tables/{paper.key}/{t.paper_csv}`):", "",
                       paper_only_table_md(_read_csv(pf)), "", f"Source: `reports/tables/{paper.key}/{t.csv}`.", ""]
                continue
            if not any(is_paper_column(c) for c in df.columns):
                raise SiteError(f"{f} has no paper column (paper_X or 'X (paper)'): the site shows results tables "
                                "only beside the paper's numbers")
            md += [_caption(f), "", results_table_md(df), "", f"Source: `reports/tables/{paper.key}/{t.csv}`.", ""]
        md += ["## Claims", ""]
        cfiles = claims_files(root, paper.key)
        if not cfiles:
            md += ["No claim has been checked yet: the stages that check them have not run on the committed profile.",
                   ""]
        for f in cfiles:
            md += [f"### `{f.name}`", "", _caption(f), "", claims_table_md(_read_csv(f)), ""]
        md += ["## Departures from the paper", "",
               "Each notebook opens with what the paper did and what we do instead; the second half, gathered here:", ""]
        for stem, title, dep in deps:
            md += [f"### {title}", "", dep, "", f"([the notebook]({stem}.ipynb))", ""]
        figs = sorted((reports / "figures" / paper.key).rglob("*.png"))
        if figs:
            md += ["## Figures", ""]
            for fig in figs:
                rel = fig.relative_to(reports / "figures")
                dest = src / "_figures" / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(fig, dest)
                md += [f"```{{figure}} ../_figures/{rel.as_posix()}", ":width: 100%", "",
                       f"`reports/figures/{rel.as_posix()}`", "```", ""]
        md += ["## Notebooks, in the paper's order", "", "```{toctree}", ":maxdepth: 1", ""]
        md += [stem for stem, _, _ in pages]
        md += ["```", ""]
        not_run = [title for _, title, run in pages if not run]
        if not_run:
            md += ["Not yet run on the committed profile (shown without outputs): "
                   + "; ".join(_cell(t) for t in not_run) + ".", ""]
        (src / paper.key / "index.md").write_text("\n".join(md))

    (src / "index.md").write_text(_home_md(boards, packages, timings))
    (src / "_static" / "robopercept.css").write_text(_CSS)
    (src / "conf.py").write_text(_CONF)
    _copy_mathjax(src / "_static" / "mathjax")
    return boards


def _freshness(root: Path) -> dict | None:
    """Each stage's :mod:`robopercept.reporting.freshness` (None where the tree has no dvc.yaml / dvc.lock /
    params.yaml to read, e.g. a course copy)."""
    from ..reporting import freshness

    if not all((root / f).is_file() for f in ("dvc.yaml", "dvc.lock", "params.yaml")):
        return None
    return {r.stage: r for r in freshness.check(root)}


def _current(b: dict) -> str:
    if not b["checked"]:
        return "–"
    return f"{b['stages_total'] - len(b['stale'])} / {b['stages_total']}"


def _stale_md(b: dict) -> str:
    """The paper page's note on stages whose committed results this checkout would not make again as they are."""
    if not b["checked"]:
        return ""
    if not b["stale"]:
        return ("Every stage of this paper is current: its committed result was made by this checkout's code, "
                "parameters and data, from the results its upstream stages committed, none of which is stale "
                "(`python -m robopercept.reporting.freshness`).")
    items = []
    for st, reasons in b["stale"].items():
        why = "; ".join(f"{k}: " + ", ".join(_cell(v) for v in vals[:4]) + (", ..." if len(vals) > 4 else "")
                        for k, vals in reasons.items())
        items.append(f"- `{st}` — {why}")
    return "\n".join([":::{admonition} Not current\n:class: warning",
                      "These stages' committed results were made by other code, parameters or upstream results than "
                      "this checkout's, or read from a stage that was ('after stale'; `python -m "
                      "robopercept.reporting.freshness`); `dvc repro` would rerun them, and their tables and claims "
                      "may change:", "", *items, ":::"])


def _tables_cell(b: dict) -> str:
    """Paper tables reproduced, "2 / 5 (3 not trained at this profile)" when the profile left some out."""
    n = b.get("tables_not_trained", 0)
    return f"{b['tables']} / {b['tables_total']}" + (f" ({n} not trained at this profile)" if n else "")


def _scoreboard_md(paper: Paper, b: dict) -> str:
    c = b["claims"]
    cpu = _fmt_minutes(b["cpu_s"]) if b["cpu_s"] else "–"
    rows = [[_tables_cell(b), c["held"], c["missed"], c["inconclusive"], c["not evaluated"],
             c["flagged"], f"{b['stages_run']} / {b['stages_total']}", _current(b), cpu,
             ", ".join(b["commits"]) or "–", ", ".join(b["profiles"]) or "–", ", ".join(b["dates"]) or "–"]]
    header = ["paper tables reproduced", "claims held", "missed", "inconclusive", "not evaluated",
              "flagged (no evidence)", "stages run", "stages current", "cpu-profile time", "commits", "profile",
              "run dates"]
    return list_table(header, rows, "scoreboard")


def _home_md(boards: dict[str, dict], packages: dict[str, str], timings: dict[str, dict]) -> str:
    header = ["paper", "tables", "held", "missed", "inconclusive", "flagged", "stages run", "stages current",
              "cpu time", "commits", "profile"]
    rows = []
    for p in PAPERS:
        b, c = boards[p.key], boards[p.key]["claims"]
        rows.append([f"[{p.key}]({p.key}/index.md) — {_cell(p.title)}", _tables_cell(b),
                     c["held"], c["missed"], c["inconclusive"], c["flagged"], f"{b['stages_run']} / {b['stages_total']}",
                     _current(b), _fmt_minutes(b["cpu_s"]) if b["cpu_s"] else "–", ", ".join(b["commits"]) or "–",
                     ", ".join(b["profiles"]) or "–"])
    table = ["```{list-table}", ":header-rows: 1", ":class: scoreboard", ""]
    for r in [header, *rows]:
        table.append(f"* - {r[0]}")
        table += [f"  - {v if r is header else _cell(v)}" for v in r[1:]]
    table.append("```")
    env = timings.get("environment", {})
    pk = ", ".join(f"{k} {v}" for k, v in sorted(packages.items())) or "not recorded"
    return "\n".join([
        "# robopercept: five robot-perception papers, replicated in a simulated robot world", "",
        "Each paper's page shows our tables beside the paper's, every claim we checked with the paper's sentence and "
        "our verdict (with its bootstrap interval), the departures from the paper in one place, the figures, and "
        "the executed notebooks in the paper's order. Everything here is read from the repository's committed "
        "`reports/` (the output of `dvc repro` on the profile named on each page); no notebook was re-executed to "
        "build this site.", "",
        "**Reading a verdict.** *held*: the 95 % bootstrap interval of the margin lies on the paper's side; "
        "*missed*: on the other side; *inconclusive*: the interval straddles zero. *Flagged*: the verdict rests on a "
        "row that never learned or a baseline that collapsed, so it is evidence neither for nor against the paper. "
        "*Stages current*: stages whose committed results this checkout's code, parameters, data and upstream "
        "results made (a stage that is not current is named, with why, on its paper's page).",
        "", "\n".join(table), "",
        _provenance_md("environment", env or None, packages, bool(env)), "",
        f"All package versions of the environment stage: {pk}.", "",
        "```{toctree}", ":maxdepth: 1", ":caption: Papers", "", *[f"{p.key}/index" for p in PAPERS], "```", "",
        "```{toctree}", ":maxdepth: 1", ":caption: Shared", "", "shared/index", "```", ""])


def _copy_mathjax(dest: Path) -> None:
    try:
        import jupyter_server_mathjax
    except ImportError as e:
        raise SiteError("the site needs jupyter-server-mathjax for offline equations: pip install -e '.[dev]'") from e
    static = Path(jupyter_server_mathjax.__file__).parent / "static"
    shutil.copytree(static, dest, ignore=shutil.ignore_patterns("localization"))


_CSS = """
.results-table th, .claims-table th, .scoreboard th { font-size: 0.8em; }
.results-table td, .claims-table td, .scoreboard td { font-size: 0.85em; }
.claims-table td:nth-child(3) { font-style: italic; }
div.admonition.provenance { font-size: 0.85em; }
"""

_CONF = f"""# Generated by robopercept.site: do not edit (the site is rebuilt from reports/ by `make site`).
project = "robopercept"
author = "robopercept contributors"
extensions = ["myst_nb"]
nb_execution_mode = "off"
nb_output_stderr = "remove"
myst_enable_extensions = ["colon_fence", "dollarmath", "amsmath"]
myst_update_mathjax = False
myst_heading_anchors = 3
mathjax_path = "mathjax/MathJax.js?config={_MATHJAX_CONFIG}"
html_theme = "sphinx_book_theme"
html_title = "robopercept"
html_static_path = ["_static"]
html_css_files = ["robopercept.css"]
html_theme_options = {{"show_toc_level": 2, "use_download_button": False, "use_fullscreen_button": False}}
html_context = {{"default_mode": "light"}}
html_last_updated_fmt = None
html_copy_source = False
html_show_sourcelink = False
# search hits without page excerpts: the excerpts are fetch()ed from each page, which browsers refuse over file://
# (the README tells readers to open index.html straight from the folder; tests/site checks it)
html_show_search_summary = False
exclude_patterns = ["_build", "_static"]
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type", "misc.highlighting_failure", "toc.not_included"]
"""


def build_site(out: Path, root: Path | None = None, jobs: int = 2) -> Path:
    """Build the HTML site into ``out`` (its MyST sources in ``out/_myst``); returns the folder of index.html."""
    out = Path(out).resolve()
    src = out / "_myst"
    write_sources(src, root)
    html = out / "html"
    log = out / "sphinx.log"
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-j", str(jobs), "-E", str(src), str(html)]
    with log.open("w") as fh:
        r = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT)
    if r.returncode != 0 or not (html / "index.html").is_file():
        raise SiteError(f"sphinx-build failed (exit {r.returncode}); its log: {log}\n{log.read_text()[-3000:]}")
    return html
