"""latentmrcnn's claims files: every claim quotes the paper verbatim and names a section."""

import re

import pytest

from robopercept import paths
from robopercept.reporting.claims import load_spec

FILES = ["claims_table1.yaml", "claims_table2.yaml", "claims_picking.yaml"]


def _squash(text: str) -> str:
    """The paper's text extraction dropped spaces, kept ligatures ("ptend", "conﬁdence") and line-break hyphens
    ("substan- tially"): compare without spaces and hyphens."""
    for a, b in (("ﬁ", "fi"), ("ﬂ", "fl"), ("ﬀ", "ff"), ("’", "'"), ("“", '"'), ("”", '"'), ("−", "-")):
        text = text.replace(a, b)
    return re.sub(r"[\s\-]+", "", text)


@pytest.mark.parametrize("name", FILES)
def test_every_claim_quotes_the_paper_verbatim(name):
    paper = paths.root().parent / "shared/papers/latentmrcnn.txt"
    text = _squash(paper.read_text()) if paper.exists() else None
    for c in load_spec(paths.root() / "src/robopercept/latentmrcnn" / name)["claims"]:
        assert c["section"].strip() and c["quote"].strip(), c["id"]
        if text is not None:
            assert _squash(c["quote"]) in text, f"{name}: {c['id']} does not quote the paper verbatim"
