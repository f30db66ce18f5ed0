"""``python -m robopercept.site build [OUT]``: build the site from ``reports/`` (default OUT: ``build/site``)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .. import paths
from .build import SiteError, build_site


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m robopercept.site", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the HTML site from the committed reports/")
    b.add_argument("out", nargs="?", default=None, help="output folder (default: build/site)")
    b.add_argument("-j", "--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    out = Path(args.out) if args.out else paths.root() / "build" / "site"
    t0 = time.perf_counter()
    try:
        html = build_site(out, jobs=args.jobs)
    except SiteError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"site built in {time.perf_counter() - t0:.0f} s: open {html / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
