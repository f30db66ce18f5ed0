"""Claims of a paper, checked against a regenerated table.

A claims file (YAML) lists the paper's claims in words, each with an ``if_missed`` (the likely reason
in our setup, shown by the notebook only when the claim fails) and an ``expr``: a comparison over the
table's cells written as ``metric('row')`` (e.g. ``mIOU('Grasp-200') > mIOU('Grasp-100')``), with
``min``/``max``/``all`` over rows and arithmetic. Expressions are parsed with :mod:`ast` and only
those constructs are allowed, so a claims file cannot run code.
"""

from __future__ import annotations

import ast
import math
import operator
from pathlib import Path

import pandas as pd
import yaml

_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_CMP = {ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Lt: operator.lt, ast.LtE: operator.le}


class ClaimError(ValueError):
    pass


def _evaluator(table: pd.DataFrame, key: str, metrics: dict[str, str]):
    idx = table.set_index(key)

    def cell(metric: str, row: str) -> float:
        if row not in idx.index:
            raise ClaimError(f"row {row!r} is not in the table")
        value = float(idx.loc[row, metrics[metric]])
        if math.isnan(value):
            raise ClaimError(f"{metric}({row!r}) is empty (no kept predictions)")
        return value

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
            return _BIN[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.BoolOp):
            vals = [ev(v) for v in node.values]
            return all(vals) if isinstance(node.op, ast.And) else any(vals)
        if isinstance(node, ast.Compare):
            left = ev(node.left)
            for op, right in zip(node.ops, node.comparators):
                if type(op) not in _CMP:
                    raise ClaimError(f"comparison {type(op).__name__} not allowed")
                r = ev(right)
                if not _CMP[type(op)](left, r):
                    return False
                left = r
            return True
        if isinstance(node, (ast.List, ast.Tuple)):
            return [ev(e) for e in node.elts]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name, args = node.func.id, [ev(a) for a in node.args]
            if name in metrics:
                if len(args) != 1 or not isinstance(args[0], str):
                    raise ClaimError(f"{name}() takes one row name")
                return cell(name, args[0])
            if name in ("min", "max", "all", "any"):
                vals = args[0] if len(args) == 1 and isinstance(args[0], list) else args
                return {"min": min, "max": max, "all": all, "any": any}[name](vals)
            if name in metrics.values():
                raise ClaimError(f"use the metric's short name, not {name}")
        raise ClaimError(f"construct not allowed in a claim: {ast.dump(node)[:80]}")

    return ev


def evaluate_claims(claims_file: str | Path, table: pd.DataFrame) -> pd.DataFrame:
    """One row per claim: id, claim, expr, holds (True/False, or None if a cell is missing/NaN)."""
    spec = yaml.safe_load(Path(claims_file).read_text())
    key, metrics = spec["row_key"], spec["metrics"]
    ev = _evaluator(table, key, metrics)
    rows = []
    for c in spec["claims"]:
        try:
            value = ev(ast.parse(c["expr"], mode="eval"))
            holds = None if isinstance(value, float) and math.isnan(value) else bool(value)
            note = ""
        except ClaimError as e:
            holds, note = None, str(e)
        rows.append({"id": c["id"], "claim": c["claim"], "expr": c["expr"], "holds": holds, "note": note,
                     "if_missed": c.get("if_missed", "")})
    return pd.DataFrame(rows)
