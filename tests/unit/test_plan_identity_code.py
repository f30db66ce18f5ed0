"""Every resumable generator's plan identity hashes the code its shards run (issue #10, item 1).

``world.shards.plan_identity(code_modules=CODE_MODULES)`` hashes those modules and everything they import: a
generator whose ``CODE_MODULES`` missed the module that defines its shard task would resume stale shards after
that code changed. For each module that builds a plan, its own source and the module of every function it hands
to ``run_plan`` as the task (directly or through ``functools.partial``) must be in the hashed closure.
"""

import ast
import importlib

import pytest

from robopercept.codedeps import ROOT as PACKAGE_DIR, closure, module_path



def _planners() -> list[str]:
    out = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text())
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "plan_identity"]
        if calls:
            out.append(".".join(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts))
    return out


# the shard runner, and the wrappers that hand it their task in the same (fourth) place
RUNNERS = ("run_plan", "run_models")  # robopercept.don.sweep.run_models


def _task_functions(module) -> set[str]:
    """Names of the functions a module hands to ``run_plan`` (or a wrapper of it) as its task: a name passed as the task, or the first
    argument of a ``functools.partial`` assigned to it or passed in its place."""
    tree = ast.parse(open(module.__file__).read())
    partials = {}  # variable -> function name
    for n in ast.walk(tree):
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call) and _is_partial(n.value):
            for t in n.targets:
                if isinstance(t, ast.Name) and isinstance(n.value.args[0], ast.Name):
                    partials[t.id] = n.value.args[0].id
    names = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Call) and getattr(n.func, "id", None) in RUNNERS:
            task = n.args[3] if len(n.args) > 3 else next((k.value for k in n.keywords if k.arg == "task"), None)
            if isinstance(task, ast.Call) and _is_partial(task) and isinstance(task.args[0], ast.Name):
                names.add(task.args[0].id)
            elif isinstance(task, ast.Name):
                names.add(partials.get(task.id, task.id))
    return names


def _is_partial(call: ast.Call) -> bool:
    f = call.func
    return (isinstance(f, ast.Attribute) and f.attr == "partial") or (isinstance(f, ast.Name) and f.id == "partial")


PLANNERS = _planners()


def test_the_generators_are_found():
    # the test would pass vacuously if the scan found nothing: the known planners of every paper are there
    for name in ("robopercept.graspseg.grasp_collection", "robopercept.graspseg.table2_train", "robopercept.mlgsl.train",
                 "robopercept.don.scenes", "robopercept.latentmrcnn.sweep", "robopercept.fastseg.data",
                 "robopercept.common.pretrain_bins"):
        assert name in PLANNERS


@pytest.mark.parametrize("name", PLANNERS)
def test_plan_identity_hashes_the_code_its_shards_run(name):
    module = importlib.import_module(name)
    hashed = set()
    for m in module.CODE_MODULES:
        hashed.update(closure(m))
    assert module_path(name) in hashed, f"{name}: CODE_MODULES {module.CODE_MODULES} leave out the module itself"
    tasks = _task_functions(module)
    assert tasks, f"{name}: no task handed to run_plan was found"
    for t in tasks:
        fn = getattr(module, t, None)
        assert fn is not None, f"{name}: the task {t!r} is not a module-level function"
        where = module_path(fn.__module__)
        assert where in hashed, f"{name}: the task {t} lives in {fn.__module__}, which CODE_MODULES do not hash"
