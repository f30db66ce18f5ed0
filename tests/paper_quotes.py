"""Claims quote their paper verbatim: the check every paper's claims test shares."""

from __future__ import annotations

import re
from pathlib import Path

from robopercept import paths
from robopercept.reporting.claims import load_spec


def squash(text: str) -> str:
    """The papers' text extraction dropped spaces, kept ligatures ("conﬁdence") and line-break hyphens
    ("substan- tially") and rendered some formulas as TeX ("$\\log(\\cdot)$"): compare with ligatures spelled out,
    those formulas as quoted, without spaces and hyphens."""
    for a, b in (("$\\log(\\cdot)$", "log(·)"), ("ﬁ", "fi"), ("ﬂ", "fl"), ("ﬀ", "ff"), ("’", "'"), ("“", '"'),
                 ("”", '"'), ("−", "-")):
        text = text.replace(a, b)
    return re.sub(r"[\s\-]+", "", text)


def assert_quotes_verbatim(claims_file: Path, paper: str) -> None:
    """Every claim of ``claims_file`` (and every sentence it lists as not evaluated) names a section and quotes ``../shared/papers/<paper>.txt`` verbatim, "[…]"
    marking elided words (the quote check is skipped where the checkout has no papers folder)."""
    txt = paths.root().parent / f"shared/papers/{paper}.txt"
    text = squash(txt.read_text()) if txt.exists() else None
    spec = load_spec(claims_file)
    for c in spec["claims"] + (spec.get("not_evaluated") or []):  # sentences listed as not evaluated quote it too
        assert c["section"].strip() and c["quote"].strip(), c["id"]
        if text is not None:
            at = 0
            for part in re.split(r"\[(?:…|\.\.\.)\]", c["quote"]):  # "[…]" elides words: the parts, in order
                found = text.find(squash(part), at)
                assert found >= 0, f"{Path(claims_file).name}: {c['id']} does not quote {paper} verbatim ({part!r})"
                at = found + len(squash(part))
