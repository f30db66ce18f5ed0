"""latentmrcnn's claims files: every claim quotes the paper verbatim and names a section."""

import pytest
from paper_quotes import assert_quotes_verbatim

from robopercept import paths

FILES = ["claims_table1.yaml", "claims_table2.yaml", "claims_picking.yaml"]


@pytest.mark.parametrize("name", FILES)
def test_every_claim_quotes_the_paper_verbatim(name):
    assert_quotes_verbatim(paths.root() / "src/robopercept/latentmrcnn" / name, "latentmrcnn")
