"""Which of this package's source files a notebook or module runs: the static import closure.

Used twice, so that neither list is typed by hand and drifts:

* ``dvc.yaml``: every stage must depend on each ``src/robopercept`` file its notebook imports,
  directly or through other modules (``tests/unit/test_stage_deps.py``); ``python -m
  robopercept.codedeps notebooks/<...>.py`` prints that list for a maintainer editing a stage;
* the shard runner's plan identity: a generator's code hash covers its whole closure, so editing any
  module it uses starts the dataset over (:func:`robopercept.world.shards.code_hash`).

The closure is computed from the source (``ast``), without importing anything: every ``import`` and
``from ... import`` of a ``robopercept`` module anywhere in a file (functions included), plus the
``__init__.py`` of each package on the way, since Python runs those on import.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = "robopercept"
ROOT = Path(__file__).resolve().parent  # src/robopercept


def module_path(name: str) -> Path | None:
    """Source file of module ``name`` (``robopercept.a.b``), or None if it is not one of ours."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = ROOT.joinpath(*parts[1:])
    for p in (base.with_suffix(".py"), base / "__init__.py"):
        if p.is_file():
            return p
    return None


def _module_name(path: Path) -> str:
    rel = path.resolve().relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, package: str | None) -> set[str]:
    """Names of robopercept modules ``path`` imports (candidates; non-modules are dropped later)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if package is None:
                    continue
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)  # `from pkg import module`
    return {n for n in out if n.split(".")[0] == PACKAGE}


def closure(start: str | Path) -> list[Path]:
    """Every robopercept source file that importing ``start`` (a module name, or a notebook / any
    Python file by path) executes, sorted."""
    todo: list[tuple[Path, str | None]] = []
    if isinstance(start, Path) or str(start).endswith(".py"):
        p = Path(start).resolve()
        todo.append((p, _package_of(p)))
        seen: set[Path] = set()
        first = p
    else:
        p = module_path(str(start))
        if p is None:
            raise ValueError(f"{start!r} is not a module of {PACKAGE} (looked under {ROOT})")
        todo.append((p, _package_of(p)))
        seen, first = set(), None
    while todo:
        path, package = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imports(path, package):
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # parent packages' __init__ run first
                mp = module_path(".".join(parts[:i]))
                if mp is not None and mp not in seen:
                    todo.append((mp, _package_of(mp)))
    return sorted(s for s in seen if s != first)


def _package_of(path: Path) -> str | None:
    try:
        name = _module_name(path)
    except ValueError:
        return None  # a notebook or a file outside the package: relative imports mean nothing
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def relative_to_repo(paths: list[Path], repo: Path) -> list[str]:
    return [p.resolve().relative_to(repo.resolve()).as_posix() for p in paths]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m robopercept.codedeps notebooks/<...>.py | robopercept.<module> ...", file=sys.stderr)
        return 2
    repo = ROOT.parent.parent
    for a in args:
        if a.endswith(".py") and not Path(a).is_file():
            print(f"codedeps: no such file: {a}", file=sys.stderr)
            return 2
        for f in relative_to_repo(closure(Path(a) if a.endswith(".py") else a), repo):
            print(f)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
