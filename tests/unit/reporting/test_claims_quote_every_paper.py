"""Every claims file of every paper quotes its paper verbatim and names a section — one sweep over
``src/robopercept/<paper>/claims*.yaml``, so a claims file added later is checked without a test of its own."""

import pytest

from paper_quotes import assert_quotes_verbatim
from robopercept import paths

FILES = sorted((paths.root() / "src/robopercept").glob("*/claims*.yaml"))


def test_every_paper_has_claims_files():
    assert {f.parent.name for f in FILES} == {"graspseg", "latentmrcnn", "fastseg", "mlgsl", "don"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_claims_file_quotes_its_paper_verbatim(path):
    assert_quotes_verbatim(path, path.parent.name)
