"""``python -m robopercept <command>`` (also installed as ``robopercept``).

Commands:
  profile NAME       render profiles/NAME into params.yaml (smoke | cpu | paper)
  params             validate params.yaml and print the active profile
"""

from __future__ import annotations

import argparse
import sys

from .config import PROFILES, ConfigError, read_params, write_params


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="robopercept", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("profile", help="switch params.yaml to a profile")
    p.add_argument("name", help=" | ".join(PROFILES))
    sub.add_parser("params", help="validate params.yaml")
    args = ap.parse_args(argv)
    try:
        if args.command == "profile":
            out = write_params(args.name)
            print(f"params.yaml now holds the {args.name!r} profile ({out}); `dvc repro` reruns what changed")
        else:
            params = read_params()
            print(f"params.yaml is valid (profile {params['profile']!r}, seed {params['seed']})")
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
