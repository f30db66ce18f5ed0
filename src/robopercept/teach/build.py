"""Build a student copy, and grade it.

A *blank* names a function (``FILE::name`` or ``FILE::Class.method``); its body after the docstring is replaced by
``raise NotImplementedError(<the exercise's text>)``, found with :mod:`ast` so the blank is exact whatever the
function's layout. The exercise notebooks (``exercises/<paper>.ipynb``) say what to implement, show the equation,
and run the grading tests.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import yaml

from .. import paths

REGISTRY = Path(__file__).with_name("exercises.yaml")
PAPER_ORDER = ("graspseg", "mlgsl", "latentmrcnn", "fastseg", "don")


class TeachError(RuntimeError):
    """The exercises cannot be built or graded (named in the message)."""


@dataclass(frozen=True)
class Exercise:
    id: str
    paper: str
    section: str
    title: str
    blanks: tuple[str, ...]
    equation: str
    task: str
    check: tuple[str, ...]
    minutes: int
    needs: tuple[str, ...] = ()  # exercises whose solutions this one's checks also run
    withhold: tuple[str, ...] = ()  # FILE::function of the tests removed from the course copy (they hold a solution)

    def message(self) -> str:
        first = f" Do {', '.join(self.needs)} first: these checks also run it." if self.needs else ""
        return (f"Exercise {self.id} ({self.paper} {self.section}): {self.title}. {self.task}{first} "
                f"Check with: make grade EX={self.id}")


def load_exercises(path: Path = REGISTRY) -> list[Exercise]:
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as e:
        raise TeachError(f"cannot read the exercise list {path}: {e}") from e
    fields = set(Exercise.__dataclass_fields__)
    optional = {"needs", "withhold"}
    out = []
    for i, e in enumerate(raw or []):
        missing, extra = fields - optional - set(e), set(e) - fields
        if missing or extra:
            raise TeachError(f"{path} entry {i} ({e.get('id', '?')}): missing {sorted(missing)}, unknown {sorted(extra)}")
        out.append(Exercise(**{**e, **{k: tuple(e.get(k, ())) for k in ("blanks", "check", *optional)}}))
    ids = [e.id for e in out]
    if len(set(ids)) != len(ids):
        raise TeachError(f"{path}: duplicate exercise ids {sorted({i for i in ids if ids.count(i) > 1})}")
    checks = {c for e in out for c in e.check}
    for e in out:
        unknown = sorted(set(e.needs) - set(ids))
        if unknown:
            raise TeachError(f"{path}: exercise {e.id} needs unknown exercise {', '.join(unknown)}")
        graded = sorted(set(e.withhold) & checks)
        if graded:
            raise TeachError(f"{path}: exercise {e.id} withholds {', '.join(graded)}, which grades an exercise")
    return out


def _find(tree: ast.Module, qualname: str) -> ast.FunctionDef:
    scope: list[ast.stmt] = tree.body
    node = None
    for part in qualname.split("."):
        node = next((n for n in scope if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                     and n.name == part), None)
        if node is None:
            raise TeachError(f"no function {qualname!r}")
        scope = node.body
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        raise TeachError(f"{qualname!r} is not a function")
    return node


def blank_source(source: str, blanks: list[tuple[str, str]]) -> str:
    """``source`` with the body (after its docstring) of each named function replaced by ``raise
    NotImplementedError(message)``; ``blanks`` holds (qualname, message)."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    spans = []
    for qualname, message in blanks:
        fn = _find(tree, qualname)
        body = fn.body
        has_doc = (isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                   and isinstance(body[0].value.value, str))
        first = body[1] if has_doc and len(body) > 1 else (None if has_doc else body[0])
        indent = " " * (body[0].col_offset)
        stub = f"{indent}raise NotImplementedError({message!r})\n"
        if first is None:  # docstring only: insert after it
            spans.append((body[0].end_lineno, body[0].end_lineno, stub))
        else:
            spans.append((first.lineno - 1, fn.end_lineno, stub))
    for start, end, stub in sorted(spans, reverse=True):
        lines[start:end] = [stub]
    out = "".join(lines)
    ast.parse(out)  # still valid Python
    return out


def remove_functions(source: str, names: list[str]) -> str:
    """``source`` without the named top-level functions (decorators included): test helpers that would hand a
    student the solution."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    spans = []
    for name in names:
        fn = _find(tree, name)
        start = min([fn.lineno, *(d.lineno for d in fn.decorator_list)]) - 1
        spans.append((start, fn.end_lineno))
    for start, end in sorted(spans, reverse=True):
        del lines[start:end]
    out = "".join(lines)
    ast.parse(out)
    return out


def _tracked_files(root: Path) -> list[str]:
    try:
        r = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True)
    except (subprocess.CalledProcessError, FileNotFoundError) as e:
        raise TeachError(f"{root} is not a git checkout (git ls-files failed): the course copy is made of its "
                         "tracked files") from e
    return [f for f in r.stdout.decode().split("\0") if f]


def _notebook(paper: str, exercises: list[Exercise]) -> dict:
    import nbformat

    v4 = nbformat.v4
    cells = [v4.new_markdown_cell(
        f"# Exercises · {paper}\n\nImplement the functions below in the course copy of the repository; each raises "
        "`NotImplementedError` until you do. The grading tests are the repository's own unit tests for these "
        "functions: run the cell under each exercise, or `make grade EX=<id>` in a terminal (`make grade` runs all). "
        "The paper's text is in `shared/papers/` (see the README).")]
    for e in exercises:
        where = "\n".join(f"* `{b.split('::')[0]}` — `{b.split('::')[1]}`" for b in e.blanks)
        cells.append(v4.new_markdown_cell(
            f"## {e.title}\n\n*{e.paper} {e.section} · exercise `{e.id}` · about {e.minutes} min*\n\n"
            f"$$\n{e.equation}\n$$\n\n**What to implement.** {e.task}\n\n**Where.**\n\n{where}\n\n"
            "**How it is checked.** " + ", ".join(f"`{c.split('::')[1]}`" for c in e.check) + "."))
        cells.append(v4.new_code_cell(f"!make -C .. grade EX={e.id}"))
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "robopercept", "display_name": "Python (robopercept)", "language": "python"}
    return nb


def build_student_copy(dest: Path, root: Path | None = None) -> list[Exercise]:
    """Write the course copy into ``dest`` (must not exist or be empty); returns the exercises it holds."""
    import nbformat

    root = Path(root) if root else paths.root()
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise TeachError(f"{dest} exists and is not empty: the course copy needs a new folder")
    exercises = load_exercises()
    by_file: dict[str, list[tuple[str, str]]] = {}
    for e in exercises:
        for b in e.blanks:
            f, _, qual = b.partition("::")
            by_file.setdefault(f, []).append((qual, e.message()))
    files = _tracked_files(root)
    withheld: dict[str, list[str]] = {}
    for e in exercises:
        for w in e.withhold:
            f, _, name = w.partition("::")
            withheld.setdefault(f, []).append(name)
    for f in [*by_file, *withheld]:
        if f not in files:
            raise TeachError(f"exercise file {f} is not a tracked file of {root}")
    # blank first (a bad registry entry fails before anything is written)
    blanked = {f: blank_source((root / f).read_text(), bl) for f, bl in by_file.items()}
    for f, names in withheld.items():
        blanked[f] = remove_functions(blanked.get(f, (root / f).read_text()), names)
    for f in files:
        src = root / f
        if not src.is_file():
            continue
        out = dest / f
        out.parent.mkdir(parents=True, exist_ok=True)
        if f in blanked:
            out.write_text(blanked[f])
        else:
            shutil.copy2(src, out)
    ex_dir = dest / "exercises"
    ex_dir.mkdir(exist_ok=True)
    for paper in PAPER_ORDER:
        mine = [e for e in exercises if e.paper == paper]
        if mine:
            nbformat.write(_notebook(paper, mine), ex_dir / f"{paper}.ipynb")
    rows = "\n".join(f"| {i + 1} | `{e.id}` | {e.paper} {e.section} | {e.title} | {e.minutes} min |"
                     for i, e in enumerate(exercises))  # the registry's order: the README's suggested one
    (ex_dir / "README.md").write_text(
        "# Exercises\n\nThis is a course copy of robopercept: the functions below raise `NotImplementedError`. "
        "Implement them (the notebooks here say what and show the equation), then `make grade` (all) or "
        "`make grade EX=<id>` (one). Grading runs the repository's own unit tests for those functions on the "
        "smoke-sized inputs; nothing else.\n\n| order | id | paper, section | what | time |\n| --- | --- | --- | --- "
        f"| --- |\n{rows}\n")
    return exercises


def grade(root: Path | None = None, only: list[str] | None = None, quiet: bool = False) -> dict[str, bool]:
    """Run the grading tests of the exercises (all, or those in ``only``) in ``root``; returns id -> passed."""
    root = Path(root) if root else paths.root()
    exercises = load_exercises()
    known = {e.id for e in exercises}
    unknown = sorted(set(only or []) - known)
    if unknown:
        raise TeachError(f"unknown exercise {', '.join(unknown)}; exercises: {', '.join(sorted(known))}")
    chosen = [e for e in exercises if not only or e.id in only]
    node_ids = sorted({c for e in chosen for c in e.check})
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "grade.xml"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
               f"--junitxml={xml}", *node_ids]
        r = subprocess.run(cmd, cwd=root, capture_output=quiet, text=True)
        if not xml.is_file():
            raise TeachError(f"pytest did not run (exit {r.returncode}): {(r.stdout or '')[-2000:]}")
        cases = list(ET.parse(xml).iter("testcase"))
    # a parametrized test passes only if every one of its cases does
    base = lambda case: case.get("name", "").split("[", 1)[0]  # noqa: E731
    ran = {base(c) for c in cases}
    failed = {base(c) for c in cases if any(c.find(t) is not None for t in ("failure", "error", "skipped"))}
    result = {}
    for e in chosen:
        names = {c.split("::")[-1] for c in e.check}
        result[e.id] = names <= ran and not (names & failed)
    return result
