"""``python -m robopercept.data {build,verify,materialize}``.

* ``build``        rebuild ``data/`` offline from installed packages (deterministic).
* ``verify``       check ``data/`` file by file against ``data.manifest.json`` and as a whole against
                   ``data.dvc`` (exit 1 naming the files, or the two hashes, that differ).
* ``manifest``     rewrite ``data.manifest.json`` from a ``data/`` that matches ``data.dvc``.
* ``materialize``  what ``make`` runs: nothing if ``data/`` already matches; else ``dvc pull`` when a
                   remote is configured and reachable; else ``build`` + ``verify``. The verified
                   folder is committed to the local DVC cache so ``dvc repro`` and ``dvc status``
                   see it.
"""

from __future__ import annotations

import argparse
import sys

from .materialize import DataMismatch, _hash_of_workspace, build, materialize, recorded_hash, verify, write_manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m robopercept.data", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=("build", "verify", "materialize", "manifest"))
    args = ap.parse_args(argv)
    try:
        if args.command == "build":
            print(f"built {build()}")
        elif args.command == "verify":
            print(verify())
        elif args.command == "manifest":
            if _hash_of_workspace() != recorded_hash():
                raise DataMismatch("data/ does not match data.dvc; materialize it before writing the manifest")
            print(f"wrote {write_manifest()}")
        else:
            print(materialize())
    except DataMismatch as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
