"""Graded exercises: the registry resolves, a course copy blanks exactly the named functions, grading fails on the
blanks and passes once the solutions are back."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from robopercept import paths
from robopercept.teach import TeachError, blank_source, build_student_copy, grade, load_exercises, remove_functions

ROOT = paths.root()
EXERCISES = load_exercises()


def test_every_exercise_names_real_functions_and_real_tests():
    assert {e.paper for e in EXERCISES} == {"graspseg", "mlgsl", "latentmrcnn", "fastseg", "don"}
    for e in EXERCISES:
        for b in e.blanks:
            f, _, qual = b.partition("::")
            blank_source((ROOT / f).read_text(), [(qual, "x")])  # raises if the function is not there
        for c in e.check:
            f, _, name = c.partition("::")
            tree = ast.parse((ROOT / f).read_text())
            assert name in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}, c
        for w in e.withhold:
            f, _, name = w.partition("::")
            assert name in {n.name for n in ast.parse((ROOT / f).read_text()).body if isinstance(n, ast.FunctionDef)}, w
        assert set(e.needs) <= {x.id for x in EXERCISES}


def test_the_registry_lists_the_exercises_in_the_readme_order():
    """The README's suggested order (shortest first) is the registry's, which the course copy's README keeps."""
    import re

    section = (ROOT / "README.md").read_text().split("## For instructors", 1)[1]
    readme = re.findall(r"^\| \d+ \| `([a-z0-9-]+)`", section, flags=re.M)
    assert readme == [e.id for e in EXERCISES]
    assert [int(m) for m in re.findall(r"\| (\d+) min \|$", section, flags=re.M)] == [e.minutes for e in EXERCISES]


def test_blank_keeps_signature_and_docstring_and_replaces_only_the_body():
    src = ('class A:\n    def f(self, x):\n        """Doc."""\n        y = x + 1\n        return y\n\n'
           '    def g(self):\n        return 2\n\n\ndef h():\n    return 3\n')
    out = blank_source(src, [("A.f", "do f"), ("h", "do h")])
    ns: dict = {}
    exec(out, ns)  # noqa: S102 - our own generated code
    assert ns["A"].f.__doc__ == "Doc." and ns["A"]().g() == 2
    with pytest.raises(NotImplementedError, match="do f"):
        ns["A"]().f(1)
    with pytest.raises(NotImplementedError, match="do h"):
        ns["h"]()
    with pytest.raises(TeachError, match="no function 'A.missing'"):
        blank_source(src, [("A.missing", "x")])


def test_unknown_exercise_and_non_empty_destination_are_refused(tmp_path):
    with pytest.raises(TeachError, match="unknown exercise nope"):
        grade(only=["nope"])
    (tmp_path / "x").write_text("")
    with pytest.raises(TeachError, match="not empty"):
        build_student_copy(tmp_path)


@pytest.mark.slow
def test_grading_fails_on_the_blanks_and_passes_with_the_solutions_back(tmp_path, monkeypatch):
    student = tmp_path / "course"
    build_student_copy(student)
    blanked = sorted({b.split("::")[0] for e in EXERCISES for b in e.blanks})
    for f in blanked:
        assert "NotImplementedError" in (student / f).read_text() and (student / f).read_text() != (ROOT / f).read_text()
    for w in (w for e in EXERCISES for w in e.withhold):  # reference implementations do not ship
        f, _, name = w.partition("::")
        assert name in (ROOT / f).read_text() and name not in (student / f).read_text()
    course = (student / "exercises" / "README.md").read_text()
    assert [course.index(f"`{e.id}`") for e in EXERCISES] == sorted(course.index(f"`{e.id}`") for e in EXERCISES)
    for paper in ("graspseg", "mlgsl", "latentmrcnn", "fastseg", "don"):
        nb = nbformat.read(student / "exercises" / f"{paper}.ipynb", as_version=4)
        assert any("make -C .. grade EX=" in "".join(c.source) for c in nb.cells)
    # `make grade` as a student runs it, on this interpreter's environment; the student's own package, not this
    # checkout's: PYTHONPATH and the root point into the copy
    env = {**os.environ, "PYTHONPATH": str(student / "src"), "ROBOPERCEPT_ROOT": str(student)}
    monkeypatch.setenv("PYTHONPATH", env["PYTHONPATH"])
    monkeypatch.setenv("ROBOPERCEPT_ROOT", env["ROBOPERCEPT_ROOT"])
    # -o: the environment is this interpreter's and already set up; without it the copy's newer pyproject.toml makes
    # `setup` pip-install the copy, editable, into it — every later import of robopercept in this environment (other
    # tests' subprocesses, the developer's shell) would then load the student's blanked copy
    venv = Path(sys.prefix)
    make = ["make", "-s", "-C", str(student), "-o", str(venv / ".installed"),
            "-o", str(venv / "share/jupyter/kernels/robopercept/kernel.json"), "grade", f"VENV={venv}"]
    r = subprocess.run(make, cwd=student, env=env, capture_output=True, text=True)
    assert r.returncode != 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert f"graded: 0 / {len(EXERCISES)} exercises pass" in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]
    # each exercise passes with only its own solution (and those it needs) in place: a student can grade them one at
    # a time in the README's order
    for e in EXERCISES:
        solved = {b for x in EXERCISES if x.id == e.id or x.id in e.needs for b in x.blanks}
        for f in blanked:
            rest = [(b.split("::")[1], "blank") for x in EXERCISES for b in x.blanks
                    if b.split("::")[0] == f and b not in solved]
            (student / f).write_text(blank_source((ROOT / f).read_text(), rest) if rest else (ROOT / f).read_text())
        # in-process (the CLI ran above): grade's pytest child inherits the copy's PYTHONPATH and root
        assert grade(student, [e.id], quiet=True) == {e.id: True}, e.id
    for f in blanked:  # put every solution back
        shutil.copy2(ROOT / f, student / f)
    r = subprocess.run(make, cwd=student, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert f"graded: {len(EXERCISES)} / {len(EXERCISES)} exercises pass" in r.stdout
    # this environment still imports this checkout's package, not the copy's
    here = subprocess.run([sys.executable, "-c", "import robopercept; print(robopercept.__file__)"], cwd=tmp_path,
                          env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ROBOPERCEPT_ROOT")},
                          capture_output=True, text=True).stdout
    assert str(student) not in here, here


def test_withheld_functions_are_removed_with_their_decorators_and_a_withheld_check_is_refused(tmp_path):
    src = "import pytest\n\n\n@pytest.mark.slow\ndef ref(x):\n    return x\n\n\ndef test_a():\n    assert True\n"
    out = remove_functions(src, ["ref"])
    assert "def ref" not in out and "@pytest.mark.slow" not in out and "def test_a" in out
    bad = tmp_path / "ex.yaml"
    bad.write_text(yaml.safe_dump([{"id": "a", "paper": "p", "section": "s", "title": "t", "blanks": ["f.py::g"],
                                    "equation": "e", "task": "t", "check": ["t.py::test_x"], "minutes": 1,
                                    "withhold": ["t.py::test_x"]}]))
    with pytest.raises(TeachError, match="withholds t.py::test_x, which grades an exercise"):
        load_exercises(bad)
