"""The site's sources: what each page reads from reports/, and the errors a broken report gets."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from robopercept import paths
from robopercept.reporting.freshness import git_committed_outs
from robopercept.site import PAPERS, SiteError, write_sources
from robopercept.site.build import claim_counts, departures, paper_base, paper_column, results_table_md, section_order

ROOT = paths.root()


def _copy_repo(dst: Path) -> Path:
    for name in ("notebooks", "reports"):
        shutil.copytree(ROOT / name, dst / name)
    shutil.copy2(ROOT / "dvc.yaml", dst / "dvc.yaml")
    for stage in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].values():
        for path in git_committed_outs(stage):  # the outputs git holds, under artifacts/ too (the backbone)
            if path.startswith("artifacts/") and (ROOT / path).is_file():
                (dst / path).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / path, dst / path)
    return dst


def test_paper_columns_pair_with_ours_in_both_naming_conventions():
    assert paper_base("paper_AP@0.5") == "AP@0.5"
    assert paper_base("Top-1 (paper)") == "Top-1"
    assert paper_base("removal rate (paper, %)") == "removal rate (%)"
    cols = ["method", "AP", "paper_AP", "Top-1", "Top-1 (paper)", "paper_network"]
    assert paper_column(cols, "AP") == "paper_AP" and paper_column(cols, "Top-1") == "Top-1 (paper)"
    assert paper_column(cols, "method") is None


def test_results_table_puts_each_paper_column_beside_ours():
    import pandas as pd

    md = results_table_md(pd.DataFrame({"method": ["a"], "AP": [1.0], "AP_lo": [0.5], "paper_AP": [2.0],
                                        "paper_network": ["x"]}))
    header = [line[4:] for line in md.splitlines()[4:9]]
    assert header == ["method", "ours: AP", "paper: AP", "AP\\_lo", "paper: network"], header


def test_departures_are_the_here_paragraph_only():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "# t\n\n**The paper.** did A.\n\n**Here.** we do B, because C.\n\n* bullet D\n\n**Uncertainty.** seeds.")])
    assert departures(nb) == "we do B, because C.\n\n* bullet D"
    assert departures(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# no such paragraph")])) == ""


def test_claim_counts_count_verdicts_and_flags(tmp_path):
    folder = tmp_path / "reports" / "tables" / "p"
    folder.mkdir(parents=True)
    (folder / "table1_claims.csv").write_text(
        "id,section,quote,claim,verdict,margin,margin_lo,margin_hi,untrained_rows\n"
        "a,§1,q,c,held,1,0.5,2,\nb,§1,q,c,missed,-1,-2,-0.5,Row-X\nc,§2,q,c,inconclusive,0,-1,1,\n")
    (folder / "table1_claims_by_calibration.csv").write_text("id,F1\na,held\n")  # no verdict column: not claims
    counts = claim_counts(tmp_path, "p")
    assert (counts["held"], counts["missed"], counts["inconclusive"], counts["flagged"], counts["total"]) == (1, 1, 1, 1, 3)


def test_every_paper_and_notebook_gets_a_page(tmp_path):
    boards = write_sources(tmp_path / "src", ROOT)
    for paper in PAPERS:
        page = (tmp_path / "src" / paper.key / "index.md").read_text()
        assert "## Tables: ours beside the paper's" in page and "## Departures from the paper" in page
        for nb in (ROOT / "notebooks" / paper.key).glob("*.ipynb"):
            copied = nbformat.read(tmp_path / "src" / paper.key / nb.name, as_version=4)
            assert "Provenance" in "".join(copied.cells[1].source), nb
        assert boards[paper.key]["tables_total"] == len(paper.tables)
    assert (tmp_path / "src" / "_static" / "mathjax" / "MathJax.js").is_file()
    home = (tmp_path / "src" / "index.md").read_text()
    assert "scoreboard" in home and "  - profile" in home  # the home scoreboard names the profile of the runs


def test_a_results_table_without_the_papers_column_is_refused(tmp_path):
    root = _copy_repo(tmp_path / "repo")
    f = root / "reports" / "tables" / "graspseg" / "table1.csv"
    import pandas as pd

    df = pd.read_csv(f)
    df[[c for c in df.columns if not c.startswith("paper_")]].to_csv(f, index=False)
    with pytest.raises(SiteError, match="table1.csv has no paper column"):
        write_sources(tmp_path / "src", root)


def test_missing_reports_and_corrupt_notebooks_are_named(tmp_path):
    root = tmp_path / "empty"
    root.mkdir()
    (root / "dvc.yaml").write_text("stages: {}\n")
    with pytest.raises(SiteError, match="nothing to build a site from"):
        write_sources(tmp_path / "src", root)
    root = _copy_repo(tmp_path / "repo")
    (root / "reports" / "notebooks" / "graspseg" / "5_instance_segmentation.ipynb").write_text("{not json")
    with pytest.raises(SiteError, match="corrupt notebook .*5_instance_segmentation.ipynb"):
        write_sources(tmp_path / "src2", root)


def test_notebooks_are_ordered_by_their_numeric_prefix():
    stems = ["10_extra", "2_training", "1_datasets", "README"]
    assert sorted(stems, key=section_order) == ["1_datasets", "2_training", "10_extra", "README"]


def test_stages_whose_results_this_checkout_would_not_make_are_named_on_their_papers_page(tmp_path):
    import hashlib

    import yaml

    repo = _copy_repo(tmp_path / "repo")
    shutil.copytree(ROOT / "src", repo / "src")
    for name in ("dvc.lock", "params.yaml", "data.dvc"):
        shutil.copy2(ROOT / name, repo / name)
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    params = yaml.safe_load((repo / "params.yaml").read_text())
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    pinned = {d["path"]: d.get("md5", "") for e in lock["stages"].values() for d in e.get("deps", [])}  # data/, …
    for name, entry in lock["stages"].items():  # a dependency added to dvc.yaml after the stage last ran
        known = {d["path"] for d in entry.get("deps", [])}
        entry.setdefault("deps", []).extend({"path": d, "hash": "md5", "md5": pinned.get(d, "")}
                                            for d in stages.get(name, {}).get("deps", []) if d not in known)
        declared = [k for k in stages.get(name, {}).get("params", []) if isinstance(k, str)]
        if declared:  # a parameter section added to dvc.yaml after the stage last ran (filled in below)
            recorded = entry.setdefault("params", {}).setdefault("params.yaml", {})
            recorded.update({k: None for k in declared if k not in recorded})
        made = {o["path"] for o in entry.get("outs", [])}  # an output added to dvc.yaml after the stage last ran
        entry.setdefault("outs", []).extend({"path": next(iter(o)) if isinstance(o, dict) else o, "hash": "md5",
                                             "md5": ""} for o in stages.get(name, {}).get("outs", [])
                                            if (next(iter(o)) if isinstance(o, dict) else o) not in made)
    for entry in lock["stages"].values():  # make every stage current against the copy, then change one module
        for values in entry.get("params", {}).values():
            for key in values:
                cur = params
                for part in key.split("."):
                    cur = cur[part]
                values[key] = cur
        for d in entry.get("deps", []):
            f = repo / d["path"]
            if f.is_file():
                d["md5"] = hashlib.md5(f.read_bytes()).hexdigest()
        for d in entry.get("deps", []):
            for o in (o for e in lock["stages"].values() for o in e.get("outs", [])):
                if o["path"] == d["path"]:
                    d["md5"] = o["md5"]
    (repo / "dvc.lock").write_text(yaml.safe_dump(lock))
    boards = write_sources(tmp_path / "src", repo)
    assert all(b["stale"] == {} for b in boards.values()), {k: b["stale"] for k, b in boards.items()}
    (repo / "src/robopercept/fastseg/verdict.py").write_text("# changed\n")
    boards = write_sources(tmp_path / "src2", repo)
    assert set(boards["fastseg"]["stale"]) == {"fastseg_eval"} and boards["don"]["stale"] == {}
    page = (tmp_path / "src2" / "fastseg" / "index.md").read_text()
    assert "Not current" in page and "src/robopercept/fastseg/verdict.py: changed" in page
    assert "stages current" in (tmp_path / "src2" / "index.md").read_text()
    # a tree without dvc.lock (a course copy) gets no freshness column values, not an error
    (repo / "dvc.lock").unlink()
    assert all(not b["checked"] for b in write_sources(tmp_path / "src3", repo).values())


def test_a_table_the_profile_did_not_train_is_shown_as_such_and_not_counted_as_reproduced(tmp_path):
    """don's cpu profile trains Table I and Fig. 5 only: don_eval writes Tables II-IV as placeholders
    (robopercept.reporting.not_trained), which have no paper column and must not count as reproduced."""
    from robopercept.reporting import not_trained, tables

    root = _copy_repo(tmp_path / "repo")
    # the committed tables are placeholders at the cpu profile since session 46: "trained" versions first (numbers)
    for name in ("table2", "table3", "table4"):
        tables.write_table(pd.DataFrame({name: ["a row"], "AUC": [0.3], "paper_AUC": [0.5]}),
                           root / "reports" / "tables" / "don", name,
                           caption=f"{name}: trained.")
    before = write_sources(tmp_path / "src0", root)["don"]
    assert before["tables_not_trained"] == 0
    setting = "don_train.experiments: table1, fig5"
    for name in ("table2", "table3", "table4"):
        tables.write_table(not_trained.placeholder(name, setting), root / "reports" / "tables" / "don", name,
                           caption=f"{name}: {not_trained.status(setting)}.")
    board = write_sources(tmp_path / "src", root)["don"]
    assert board["tables_not_trained"] == 3 and board["tables"] == before["tables"] - 3
    page = (tmp_path / "src" / "don" / "index.md").read_text()
    section = page.split("### Table II", 1)[1].split("###", 1)[0]
    assert "Not trained at this profile (don\\_train.experiments: table1, fig5)" in section
    assert "(3 not trained at this profile)" in page  # the paper's scoreboard says how many
    assert f"{board['tables']} / 5 (3 not trained at this profile)" in (tmp_path / "src" / "index.md").read_text()
