"""``python -m robopercept.teach build DIR`` (a course copy) | ``grade [--exercise ID ...]`` (run its tests)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .build import TeachError, build_student_copy, grade


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m robopercept.teach", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write a course copy of the repository with the exercises blanked")
    b.add_argument("dest", help="a new or empty folder")
    g = sub.add_parser("grade", help="run the tests that grade the exercises (in this checkout)")
    g.add_argument("--exercise", "-e", action="append", default=None, help="an exercise id (repeatable)")
    args = ap.parse_args(argv)
    try:
        if args.command == "build":
            t0 = time.perf_counter()
            ex = build_student_copy(Path(args.dest))
            print(f"course copy with {len(ex)} exercises written to {args.dest} in {time.perf_counter() - t0:.1f} s; "
                  f"start at {Path(args.dest) / 'exercises' / 'README.md'}")
            return 0
        result = grade(only=args.exercise)
    except TeachError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    width = max(map(len, result))
    print("\n".join(f"{k:<{width}}  {'pass' if v else 'FAIL'}" for k, v in result.items()))
    print(f"graded: {sum(result.values())} / {len(result)} exercises pass")
    return 0 if all(result.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
