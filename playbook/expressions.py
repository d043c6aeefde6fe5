"""The one safe expression language of the playbook: rule ``when``s, scorecard cues,
strategy ``when``s and the mapping's derived columns.

Expressions come from files that people share, so their text is never run as Python (no
built-in evaluator, no pandas string evaluation). :func:`parse` reads the text with
:mod:`ast` and accepts only:

- names (no leading underscore), and constants: numbers, strings, ``True``, ``False``;
- comparisons ``== != < <= > >=``, chained or not;
- ``and``, ``or``, ``not``; ``+ - * / %`` and unary minus;
- ``in`` / ``not in`` with a literal list or tuple of constants;
- the functions ``where(cond, a, b)``, ``abs(x)``, ``min(a, b)``, ``max(a, b)``,
  ``isna(x)`` and ``notna(x)``.

Everything else (attribute access, subscripts, other calls, lambdas, comprehensions,
``:=``, f-strings, ``**``) is refused before anything runs. :meth:`Expression.evaluate`
then walks the tree itself, vectorised over whole columns: a missing value compares as
false, and ``and``/``or``/``not`` act element-wise.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from .errors import PlaybookError

__all__ = ["Expression", "ExpressionError", "parse", "FUNCTIONS", "shared_subexpressions"]

_MAX_LENGTH = 2000
_MAX_NODES = 400


class ExpressionError(PlaybookError):
    """An expression is malformed or uses something the language does not allow.

    ``reason`` says what; callers add the file, the entry and the field.
    """

    exit_code = 2

    def __init__(self, text: str, reason: str) -> None:
        self.text, self.reason = text, reason
        super().__init__(f"{reason} (in {text!r})")


def _truth(x: Any) -> Any:
    """Element-wise truth: missing is false, numbers are true when non-zero."""
    if isinstance(x, pd.Series):
        if pd.api.types.is_bool_dtype(x.dtype) and not isinstance(x.dtype, pd.BooleanDtype):
            return x
        if pd.api.types.is_numeric_dtype(x.dtype):
            return (x.fillna(0) != 0).astype(bool)
        return x.notna() & (x.astype(object) != "") if not isinstance(x.dtype, pd.BooleanDtype) else x.fillna(False).astype(bool)
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return False
    return bool(x)


def _where(cond: Any, a: Any, b: Any) -> Any:
    c = _truth(cond)
    if isinstance(c, pd.Series):
        return pd.Series(np.where(c.to_numpy(), _array(a, c), _array(b, c)), index=c.index)
    return a if c else b


def _array(x: Any, like: pd.Series) -> Any:
    return x.to_numpy() if isinstance(x, pd.Series) else x


def _elementwise(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def call(a: Any, b: Any) -> Any:
        out = fn(np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64"))
        for x in (a, b):
            if isinstance(x, pd.Series):
                return pd.Series(out, index=x.index)
        return float(out)
    return call


def _isna(x: Any) -> Any:
    return x.isna() if isinstance(x, pd.Series) else bool(pd.isna(x))


FUNCTIONS: dict[str, tuple[int, Callable[..., Any]]] = {
    "where": (3, _where),
    "abs": (1, lambda x: x.abs() if isinstance(x, pd.Series) else abs(x)),
    "min": (2, _elementwise(np.minimum)),
    "max": (2, _elementwise(np.maximum)),
    "isna": (1, _isna),
    "notna": (1, lambda x: ~_isna(x) if isinstance(x, pd.Series) else not _isna(x)),
}

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b, ast.Mod: lambda a, b: a % b,
}
_CMPOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b, ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
}
_SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Mod: "%"}
_CONSTANT_TYPES = (bool, int, float, str)


def _describe(node: ast.AST) -> str:
    what = {ast.Attribute: "attribute access", ast.Subscript: "subscripts", ast.Lambda: "lambda",
            ast.NamedExpr: "assignment (:=)", ast.ListComp: "comprehensions", ast.SetComp: "comprehensions",
            ast.DictComp: "comprehensions", ast.GeneratorExp: "comprehensions", ast.JoinedStr: "f-strings",
            ast.Starred: "star arguments", ast.IfExp: "if-else (use where(cond, a, b))", ast.Dict: "dicts",
            ast.Set: "sets", ast.Await: "await", ast.Yield: "yield"}
    name = type(node).__name__
    return f"{name} ({what[type(node)]})" if type(node) in what else name


def _check(node: ast.AST, text: str, names: set[str]) -> None:
    """Refuse every node the language does not allow; collect the names read."""
    if isinstance(node, ast.Expression):
        _check(node.body, text, names)
    elif isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise ExpressionError(text, f"unsupported syntax: the name {node.id!r} (names may not start with '_')")
        if node.id in FUNCTIONS:
            raise ExpressionError(text, f"unsupported syntax: {node.id!r} is a function; call it as {node.id}(...)")
        names.add(node.id)
    elif isinstance(node, ast.Constant):
        if not isinstance(node.value, _CONSTANT_TYPES):
            raise ExpressionError(text, f"unsupported syntax: the constant {node.value!r}")
    elif isinstance(node, ast.BoolOp):
        for v in node.values:
            _check(v, text, names)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.Not, ast.USub, ast.UAdd)):
            raise ExpressionError(text, f"unsupported syntax: {type(node.op).__name__}")
        _check(node.operand, text, names)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS:
            raise ExpressionError(text, f"unsupported syntax: {type(node.op).__name__} operator")
        if any(isinstance(x, ast.Constant) and isinstance(x.value, str) for x in (node.left, node.right)):
            raise ExpressionError(text, "unsupported syntax: arithmetic on text")
        _check(node.left, text, names)
        _check(node.right, text, names)
    elif isinstance(node, ast.Compare):
        _check(node.left, text, names)
        for op, right in zip(node.ops, node.comparators):
            if isinstance(op, (ast.In, ast.NotIn)):
                if not isinstance(right, (ast.List, ast.Tuple)) or not all(
                        isinstance(e, ast.Constant) and isinstance(e.value, _CONSTANT_TYPES) for e in right.elts):
                    raise ExpressionError(text, "unsupported syntax: 'in' needs a literal list of constants, "
                                                "e.g. stage in ['M2', 'M3+']")
            elif type(op) in _CMPOPS:
                _check(right, text, names)
            else:
                raise ExpressionError(text, f"unsupported syntax: {type(op).__name__} comparison")
    elif isinstance(node, ast.Call):
        fn = node.func.id if isinstance(node.func, ast.Name) else None
        if fn is None:
            raise ExpressionError(text, f"unsupported syntax: {_describe(node.func)}")
        if fn not in FUNCTIONS:
            raise ExpressionError(text, f"unsupported syntax: function {fn!r} is not allowed; allowed: "
                                        f"{', '.join(sorted(FUNCTIONS))}")
        if node.keywords or len(node.args) != FUNCTIONS[fn][0]:
            raise ExpressionError(text, f"{fn}() takes {FUNCTIONS[fn][0]} positional argument(s)")
        for a in node.args:
            _check(a, text, names)
    else:
        raise ExpressionError(text, f"unsupported syntax: {_describe(node)}")


@dataclass(frozen=True)
class Expression:
    """A parsed, checked expression. Build it with :func:`parse`."""

    text: str
    tree: ast.Expression
    names: frozenset[str]

    def literal_pairs(self) -> list[tuple[str, Any]]:
        """``(name, constant)`` pairs the expression compares, e.g. ``("stage", "M2")``."""
        pairs = []
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Compare):
                operands = [node.left, *node.comparators]
                for a, b in zip(operands, operands[1:]):
                    for x, y in ((a, b), (b, a)):
                        if isinstance(x, ast.Name) and isinstance(y, ast.Constant) and isinstance(y.value, str):
                            pairs.append((x.id, y.value))
                        if isinstance(x, ast.Name) and isinstance(y, (ast.List, ast.Tuple)):
                            pairs += [(x.id, e.value) for e in y.elts if isinstance(e, ast.Constant)]
        return pairs

    def evaluate(self, columns: Mapping[str, Any]) -> Any:
        """The expression's value over ``columns`` (a DataFrame or a mapping of Series).

        Returns a Series aligned with the columns, or a scalar when no column is read.
        """
        missing = sorted(self.names - set(columns.keys()))
        if missing:
            raise ExpressionError(self.text, f"unknown name {missing[0]!r}; known: {', '.join(sorted(map(str, columns.keys())))}")
        try:
            return _Eval(columns).visit(self.tree.body)
        except ExpressionError:
            raise
        except (TypeError, ValueError, ZeroDivisionError) as exc:
            raise ExpressionError(self.text, f"cannot evaluate: {exc}") from None

    def mask(self, columns: Mapping[str, Any], n: int) -> np.ndarray:
        """The expression as a boolean array of length ``n`` (missing and false are False)."""
        fast = self._fast(columns)
        if fast is not None:
            out = _truth_array(fast[0])
            return out if isinstance(out, np.ndarray) else np.full(n, bool(out))
        out = _truth(self.evaluate(columns))
        if isinstance(out, pd.Series):
            return np.asarray(out, dtype=bool)
        return np.full(n, bool(out))

    def values(self, columns: Mapping[str, Any], memo: dict[str, Any] | None = None) -> Any:
        """Like :meth:`evaluate`, with the same numbers, but computed on NumPy arrays when
        every column read is a float64 or int64 NumPy-backed Series and the expression has
        no text and no ``in`` list: then a NumPy array (or a scalar when no column is
        read) instead of a Series, without an intermediate Series per step. Otherwise
        exactly what :meth:`evaluate` returns.

        ``memo`` shares subexpressions between calls over the same ``columns``: a
        subexpression whose text (:func:`shared_subexpressions`) is a key is computed once,
        stored there and read back by later calls. Never alter a value it holds."""
        fast = self._fast(columns, memo)
        return fast[0] if fast is not None else self.evaluate(columns)

    def _fast(self, columns: Mapping[str, Any], memo: dict[str, Any] | None = None) -> tuple[Any] | None:
        """The value computed on NumPy arrays, or None when the expression or its columns
        need the general evaluator (text, ``in`` lists, other dtypes, integer division)."""
        shape = _FAST_SHAPE.get(self.text)
        if not (_fast_shape(self) if shape is None else shape):
            return None
        arrays = {}
        for name in self.names:
            if name not in columns:
                return None
            col = columns[name]
            if not isinstance(col, pd.Series) or not isinstance(col.dtype, np.dtype) or col.dtype.kind not in "fi":
                return None
            arrays[name] = col.to_numpy()
        try:
            with np.errstate(all="ignore"):
                return (_FastEval(arrays, memo).visit(self.tree.body),)
        except (_NotFast, TypeError, ValueError, ZeroDivisionError):
            return None  # the general evaluator gives the result, or the error, as before


_FAST_SHAPE: dict[str, bool] = {}


def _fast_shape(expr: "Expression") -> bool:
    """Whether the tree uses only numeric parts (no text constants, no ``in`` lists)."""
    ok = not any(isinstance(node, ast.Constant) and isinstance(node.value, str)
                 or isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops)
                 for node in ast.walk(expr.tree))
    _FAST_SHAPE[expr.text] = ok
    return ok


class _NotFast(Exception):
    """The NumPy evaluator meets a case whose result could differ from the general one."""


def _truth_array(x: Any) -> Any:
    """:func:`_truth` for NumPy arrays: missing is false, numbers are true when non-zero."""
    if isinstance(x, np.ndarray):
        if x.dtype.kind == "b":
            return x
        if x.dtype.kind == "f":
            return (x != 0) & ~np.isnan(x)
        if x.dtype.kind in "iu":
            return x != 0
        raise _NotFast
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return False
    return bool(x)


def _numeric(x: Any) -> Any:
    """``x`` when it is a float or int array or a number (not a bool); else the general path."""
    if isinstance(x, np.ndarray):
        if x.dtype.kind in "fi":
            return x
        raise _NotFast
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise _NotFast
    return x


def shared_subexpressions(expressions: "Iterable[Expression]") -> dict[str, None]:
    """The computed subexpressions (operations and calls) that occur more than once across
    ``expressions``, less those only ever met inside a larger one that occurs as often: the
    keys of a ``memo`` for :meth:`Expression.values` (each value computed once, and no more
    of them held than saves work)."""
    seen: dict[str, int] = {}
    parents: dict[str, set[str]] = {}

    def walk(node: ast.AST, parent: str | None) -> None:
        text = None
        if isinstance(node, _COMPUTED):
            text = _node_text(node)
            seen[text] = seen.get(text, 0) + 1
            parents.setdefault(text, set()).add(parent or "")
        for child in ast.iter_child_nodes(node):
            walk(child, text if text is not None else parent)

    for expr in expressions:
        walk(expr.tree.body, None)
    return {t: None for t, k in seen.items()
            if k > 1 and not any(p and seen.get(p, 0) == k for p in parents[t])}


_COMPUTED = (ast.BinOp, ast.Compare, ast.Call, ast.BoolOp, ast.UnaryOp)


def _node_text(node: ast.AST) -> str:
    text = getattr(node, "_pb_text", None)
    if text is None:
        text = ast.unparse(node)
        node._pb_text = text  # the trees are parsed once (parse is cached): each node is unparsed once
    return text


class _FastEval:
    """The evaluator on float64 / int64 NumPy arrays: the same operations as :class:`_Eval`
    on Series of those dtypes (element-wise NumPy), without building a Series per step;
    ``memo``: see :meth:`Expression.values`."""

    def __init__(self, arrays: dict[str, np.ndarray], memo: dict[str, Any] | None = None) -> None:
        self.arrays = arrays
        self.memo = memo

    def visit(self, node: ast.AST) -> Any:
        if self.memo and isinstance(node, _COMPUTED):
            key = _node_text(node)
            if key in self.memo:
                value = self.memo[key]
                if value is None:
                    value = self.memo[key] = self._visit(node)
                return value
        return self._visit(node)

    def _visit(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Name):
            return self.arrays[node.id]
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.BoolOp):
            vals = [_truth_array(self.visit(v)) for v in node.values]
            out = vals[0]
            for v in vals[1:]:
                out = (out & v) if isinstance(node.op, ast.And) else (out | v)
            return out
        if isinstance(node, ast.UnaryOp):
            v = self.visit(node.operand)
            if isinstance(node.op, ast.Not):
                t = _truth_array(v)
                return ~t if isinstance(t, np.ndarray) else not t
            v = _numeric(v)
            return -v if isinstance(node.op, ast.USub) else +v
        if isinstance(node, ast.BinOp):
            a, b = _numeric(self.visit(node.left)), _numeric(self.visit(node.right))
            arrays = [x for x in (a, b) if isinstance(x, np.ndarray)]
            if not arrays:
                return _BINOPS[type(node.op)](a, b)
            if isinstance(node.op, (ast.Div, ast.Mod)) and any(x.dtype.kind == "i" for x in arrays):
                raise _NotFast  # pandas fills integer division by zero its own way
            return _BINOPS[type(node.op)](a, b)
        if isinstance(node, ast.Compare):
            left = _numeric(self.visit(node.left))
            out: Any = True
            for op, right_node in zip(node.ops, node.comparators):
                right = _numeric(self.visit(right_node))
                res = _CMPOPS[type(op)](left, right)
                out = res if out is True else (out & res)
                left = right
            return out
        if isinstance(node, ast.Call):
            fn = node.func.id
            args = [self.visit(a) for a in node.args]
            if fn == "where":
                c = _truth_array(args[0])
                if isinstance(c, np.ndarray):
                    return np.where(c, _numeric(args[1]), _numeric(args[2]))
                return args[1] if c else args[2]
            if fn in ("min", "max"):
                a, b = _numeric(args[0]), _numeric(args[1])
                out = (np.minimum if fn == "min" else np.maximum)(np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64"))
                return out if isinstance(a, np.ndarray) or isinstance(b, np.ndarray) else float(out)
            if fn == "abs":
                x = _numeric(args[0])
                return np.abs(x) if isinstance(x, np.ndarray) else abs(x)
            if fn in ("isna", "notna"):
                x = _numeric(args[0])
                na = np.isnan(x) if isinstance(x, np.ndarray) and x.dtype.kind == "f" else (
                    np.zeros(len(x), dtype=bool) if isinstance(x, np.ndarray) else bool(pd.isna(x)))
                return na if fn == "isna" else (~na if isinstance(na, np.ndarray) else not na)
        raise _NotFast


class _Eval:
    def __init__(self, columns: Mapping[str, Any]) -> None:
        self.columns = columns

    def visit(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Name):
            return self.columns[node.id]
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.BoolOp):
            vals = [_truth(self.visit(v)) for v in node.values]
            out = vals[0]
            for v in vals[1:]:
                out = (out & v) if isinstance(node.op, ast.And) else (out | v)
            return out
        if isinstance(node, ast.UnaryOp):
            v = self.visit(node.operand)
            if isinstance(node.op, ast.Not):
                t = _truth(v)
                return ~t if isinstance(t, pd.Series) else not t
            return -v if isinstance(node.op, ast.USub) else +v
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](self.visit(node.left), self.visit(node.right))
        if isinstance(node, ast.Compare):
            left = self.visit(node.left)
            out: Any = True
            for op, right_node in zip(node.ops, node.comparators):
                if isinstance(op, (ast.In, ast.NotIn)):
                    values = [e.value for e in right_node.elts]
                    res = left.isin(values) if isinstance(left, pd.Series) else left in values
                    if isinstance(op, ast.NotIn):
                        res = ~res if isinstance(res, pd.Series) else not res
                    right = left
                else:
                    right = self.visit(right_node)
                    res = _CMPOPS[type(op)](left, right)
                    if isinstance(res, pd.Series):
                        res = res.fillna(False).astype(bool)
                out = res if out is True else (out & res)
                left = right
            return out
        if isinstance(node, ast.Call):
            return FUNCTIONS[node.func.id][1](*(self.visit(a) for a in node.args))
        raise ExpressionError(ast.unparse(node), f"unsupported syntax: {_describe(node)}")  # unreachable after _check


@lru_cache(maxsize=4096)
def parse(text: str) -> Expression:
    """Parse and check ``text``; raises :class:`ExpressionError` naming what is not allowed.

    Nothing in ``text`` is executed: the tree is checked node by node against the
    language's whitelist, and evaluated by :class:`Expression` alone.
    """
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError(str(text), "an expression is required")
    if len(text) > _MAX_LENGTH:
        raise ExpressionError(text[:40] + "…", f"expression longer than {_MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(text, f"not a valid expression: {exc.msg}") from None
    if sum(1 for _ in ast.walk(tree)) > _MAX_NODES:
        raise ExpressionError(text, f"expression has more than {_MAX_NODES} parts")
    names: set[str] = set()
    _check(tree, text, names)
    return Expression(text, tree, frozenset(names))
