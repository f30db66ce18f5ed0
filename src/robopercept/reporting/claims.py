"""Claims of a paper, checked against a regenerated table, with their uncertainty.

A claims file (YAML) lists, for each claim:

* ``quote`` — the paper's sentence, verbatim, and ``section`` — where it stands;
* ``claim`` — what we check, in our words (the operational reading of the quote);
* ``expr`` — the check: a comparison over table cells written ``metric('row')``
  (e.g. ``mIOU('Grasp-200') > mIOU('Grasp-100')``), with ``min``/``max``/``all``/``any``, ``and``/``or``
  and arithmetic. Expressions are parsed with :mod:`ast`; nothing else is allowed, so a claims file
  cannot run code;
* optional ``collapse`` — an expression that is true when the claim would hold only because a
  baseline collapsed (e.g. ``top1('ImgMSE (2 labels)') < 5``): such a verdict is flagged, it is not
  support for the paper;
* optional ``caveat`` — a sentence shown with the verdict, whose numbers are computed:
  ``{expr|format}`` placeholders (``{error('Subtract-Filter')|.0f}``) are evaluated on the table;
  with ``caveat_when`` (an expression) it is shown only when that holds on the table;
* ``if_missed`` — where to look when the claim is not held: which of our tables and columns to compare
  (shown only for missed/inconclusive claims, prefixed "Where to look"); it must not assert a cause our logs do
  not show, nor predict the verdict.

**Margins and verdicts.** Every comparison has a *margin*: how far it is from flipping, in the
metric's units (``a > b`` → ``a − b``; ``a >= b − 5`` → ``a − b + 5``); ``and``/``all`` take the
smallest margin, ``or``/``any`` the largest. Given bootstrap replicates of the table
(:func:`robopercept.reporting.uncertainty.bootstrap`: seeds and test units resampled), the claim is
evaluated on each replicate:

* **held** — it holds on the table and on ≥ 97.5 % of the replicates (the 95 % interval of the margin
  lies on the holding side);
* **missed** — it fails on the table and on ≥ 97.5 % of the replicates;
* **inconclusive** — otherwise: the margin is inside the noise.

Without replicates the verdict is the point comparison alone and the table says that no
uncertainty was measured (``share_held`` is empty).

A limit to keep in mind: with 3 seeds the seed bootstrap has only 10 distinct resamples and
underestimates the seed variance by about (n − 1)/n, so a "held" with a margin close to its
interval's edge is less certain than 97.5 %.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_CMP = {ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Lt: operator.lt, ast.LtE: operator.le}
REQUIRED = ("id", "section", "quote", "claim", "expr")
HELD, MISSED, INCONCLUSIVE = "held", "missed", "inconclusive"
CONFIDENCE = 0.975  # one-sided: the 95 % interval of the margin excludes 0


class ClaimError(ValueError):
    pass


class _Truth:
    """A comparison's outcome and its margin (> 0 on the holding side)."""

    __slots__ = ("ok", "margin")

    def __init__(self, ok: bool, margin: float):
        self.ok, self.margin = bool(ok), float(margin)


def _margin(op: ast.cmpop, left: float, right: float) -> float:
    return left - right if isinstance(op, (ast.Gt, ast.GtE)) else right - left


def _lookup(table: pd.DataFrame, key: str) -> dict[tuple[str, str], float]:
    cols = [c for c in table.columns if c != key]
    return {(str(r), c): v for r, row in zip(table[key], table[cols].to_numpy(float)) for c, v in zip(cols, row)}


def _evaluator(cells: dict[tuple[str, str], float], metrics: dict[str, str]):
    def cell(metric: str, row: str) -> float:
        col = metrics[metric]
        if (row, col) not in cells:
            if any(r == row for r, _ in cells):
                raise ClaimError(f"column {col!r} is not in the table")
            raise ClaimError(f"row {row!r} is not in the table")
        value = float(cells[(row, col)])
        if math.isnan(value):
            raise ClaimError(f"{metric}({row!r}) is empty (no kept predictions)")
        return value

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Div) and right == 0:
                raise ClaimError("division by zero (an empty or zero cell)")
            return _BIN[type(node.op)](left, right)
        if isinstance(node, ast.BoolOp):
            vals = [_as_truth(ev(v)) for v in node.values]
            return _combine(vals, isinstance(node.op, ast.And))
        if isinstance(node, ast.Compare):
            left, parts = ev(node.left), []
            for op, right in zip(node.ops, node.comparators):
                if type(op) not in _CMP:
                    raise ClaimError(f"comparison {type(op).__name__} not allowed")
                r = ev(right)
                parts.append(_Truth(_CMP[type(op)](left, r), _margin(op, left, r)))
                left = r
            return _combine(parts, True)
        if isinstance(node, (ast.List, ast.Tuple)):
            return [ev(e) for e in node.elts]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name, args = node.func.id, [ev(a) for a in node.args]
            if name in metrics:
                if len(args) != 1 or not isinstance(args[0], str):
                    raise ClaimError(f"{name}() takes one row name")
                return cell(name, args[0])
            if name in ("min", "max"):
                vals = args[0] if len(args) == 1 and isinstance(args[0], list) else args
                return {"min": min, "max": max}[name](vals)
            if name in ("all", "any"):
                vals = args[0] if len(args) == 1 and isinstance(args[0], list) else args
                return _combine([_as_truth(v) for v in vals], name == "all")
            if name in metrics.values():
                raise ClaimError(f"use the metric's short name, not {name}")
        raise ClaimError(f"construct not allowed in a claim: {ast.dump(node)[:80]}")

    return ev


def _as_truth(v) -> _Truth:
    if isinstance(v, _Truth):
        return v
    raise ClaimError("and/or/all/any take comparisons")


def _combine(vals: list[_Truth], conj: bool) -> _Truth:
    if conj:
        return _Truth(all(v.ok for v in vals), min(v.margin for v in vals))
    return _Truth(any(v.ok for v in vals), max(v.margin for v in vals))


_PLACEHOLDER = re.compile(r"\{([^{}|]+)(?:\|([^{}]*))?\}")


def render(template: str, table: pd.DataFrame, key: str, metrics: dict[str, str]) -> str:
    """Fill ``{expr|format}`` placeholders of a caveat with values computed on ``table``."""
    ev = _evaluator(_lookup(table, key), metrics)

    def sub(m: re.Match) -> str:
        value = ev(ast.parse(m.group(1).strip(), mode="eval"))
        if isinstance(value, _Truth):
            value = value.ok
        return format(value, m.group(2) or "")

    return _PLACEHOLDER.sub(sub, template)


def load_spec(claims_file: str | Path) -> dict:
    """Read and check a claims file: every claim has the required fields, ids are unique."""
    path = Path(claims_file)
    try:
        spec = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise ClaimError(f"{path}: cannot read the claims file ({e})") from e
    for k in ("row_key", "metrics", "claims"):
        if k not in (spec or {}):
            raise ClaimError(f"{path}: missing top-level key {k!r}")
    seen = set()
    for c in spec["claims"]:
        missing = [k for k in REQUIRED if not str(c.get(k, "")).strip()]
        if missing:
            raise ClaimError(f"{path}: claim {c.get('id', '?')!r} lacks {', '.join(missing)}")
        if c["id"] in seen:
            raise ClaimError(f"{path}: duplicate claim id {c['id']!r}")
        seen.add(c["id"])
    return spec


def evaluate_claims(claims_file: str | Path, table: pd.DataFrame, replicates: list[pd.DataFrame] | None = None,
                    level: float = 0.95) -> pd.DataFrame:
    """One row per claim: id, section, quote, claim, expr, holds (point), margin, margin_lo/hi,
    share_held (over replicates), verdict, baseline_collapsed, caveat, if_missed, note."""
    spec = load_spec(claims_file)
    key, metrics = spec["row_key"], spec["metrics"]
    ev = _evaluator(_lookup(table, key), metrics)
    rep_evs = [_evaluator(_lookup(r, key), metrics) for r in (replicates or [])]
    a = (1 - level) / 2
    rows = []
    for c in spec["claims"]:
        tree = ast.parse(c["expr"], mode="eval")
        row = {"id": c["id"], "section": c["section"], "quote": " ".join(str(c["quote"]).split()),
               "claim": " ".join(str(c["claim"]).split()), "expr": c["expr"], "holds": None, "margin": math.nan,
               "margin_lo": math.nan, "margin_hi": math.nan, "share_held": math.nan, "verdict": "not evaluated",
               "baseline_collapsed": False, "caveat": "", "if_missed": str(c.get("if_missed", "")).strip(),
               "note": ""}
        try:
            t = _as_truth(ev(tree))
            row.update(holds=t.ok, margin=t.margin)
            if rep_evs:
                reps = []
                for rev in rep_evs:
                    try:
                        reps.append(_as_truth(rev(tree)))
                    except ClaimError:  # a cell empty in this replicate (e.g. nothing kept): skip it
                        continue
                if reps:
                    m = np.array([r.margin for r in reps])
                    share = float(np.mean([r.ok for r in reps]))
                    row.update(margin_lo=float(np.quantile(m, a)), margin_hi=float(np.quantile(m, 1 - a)),
                               share_held=share)
                    if t.ok and share >= CONFIDENCE:
                        row["verdict"] = HELD
                    elif not t.ok and share <= 1 - CONFIDENCE:
                        row["verdict"] = MISSED
                    else:
                        row["verdict"] = INCONCLUSIVE
                else:
                    row["verdict"] = HELD if t.ok else MISSED
            else:
                row["verdict"] = HELD if t.ok else MISSED
            if c.get("collapse"):
                row["baseline_collapsed"] = bool(_as_truth(ev(ast.parse(c["collapse"], mode="eval"))).ok)
            show = True
            if c.get("caveat_when"):
                show = _as_truth(ev(ast.parse(c["caveat_when"], mode="eval"))).ok
            if c.get("caveat") and show:
                row["caveat"] = render(" ".join(str(c["caveat"]).split()), table, key, metrics)
        except ClaimError as e:
            row["note"] = str(e)
        rows.append(row)
    return pd.DataFrame(rows)


def margin_decimals(*values: float) -> int:
    """Decimals that give the largest of ``values`` (in magnitude) two significant digits, at least one: a margin of
    9.53 mIOU points reads +9.5, an AUC margin of 0.0734 reads +0.073 (one decimal read it +0.1, and 0.003 as +0.0)."""
    big = max((abs(v) for v in values if math.isfinite(v)), default=0.0)
    return 1 if big == 0 else max(1, 1 - math.floor(math.log10(big)))


def shows_cause(row) -> bool:
    """Whether a claim's ``if_missed`` (where to look for a miss) belongs beside its verdict: the claim
    did not hold *and* its comparison did not go the paper's way (``holds`` is not True: it went against the paper or
    was not evaluated). An inconclusive verdict whose comparison held — kept from *held* only by its interval or by
    a compared row that never learned — has no miss to explain. ``row``: a mapping or a namedtuple row."""
    get = row.get if hasattr(row, "get") else (lambda k, d=None: getattr(row, k, d))
    if get("verdict") == "held" or not get("if_missed"):
        return False
    h = get("holds")
    return not (isinstance(h, (bool, np.bool_)) and bool(h))


def verdict_sentence(row) -> str:
    """One line for a notebook: verdict, margin with its interval (:func:`margin_decimals` of the three), and the
    flags."""
    v = row["verdict"]
    txt = f"**{v}**"
    if not math.isnan(row["margin"]):
        d = margin_decimals(row["margin"], row["margin_lo"], row["margin_hi"])
        txt += f" (margin {row['margin']:+.{d}f}"
        if not math.isnan(row["margin_lo"]):
            txt += f", 95 % interval [{row['margin_lo']:+.{d}f}, {row['margin_hi']:+.{d}f}]"
        txt += ")"
    if row["baseline_collapsed"] and v == HELD:
        txt += " — **but only because the baseline collapsed: not support for the paper**"
    return txt


def tally(verdicts: pd.DataFrame) -> dict[str, int]:
    """Counts of held / missed / inconclusive / not evaluated."""
    return {v: int((verdicts["verdict"] == v).sum()) for v in (HELD, MISSED, INCONCLUSIVE, "not evaluated")}
