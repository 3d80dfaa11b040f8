"""Choice rules (JSONPath flavour) compiled into predicates.

A rule such as ``{"Variable": "$.n", "NumericGreaterThan": 3}`` becomes a function
``predicate(data, env) -> bool``. Comparison operators of the wrong type are false, as
on AWS; a ``Variable`` (or ``...Path`` operand) that selects nothing is a
``States.Runtime`` error, except for ``IsPresent``::

    >>> rule = compile_rule({"Variable": "$.n", "NumericGreaterThan": 3}, field="Choices[0]")
    >>> rule({"n": 5}, NO_ENV)
    True
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cirrus.engine.errors import RUNTIME, StatesError
from cirrus.engine.paths import NO_ENV, Env, PathMissing, PathSyntaxError, compile_path

__all__ = ["COMPARISONS", "NO_ENV", "Predicate", "compile_rule", "parse_timestamp"]

Predicate = Callable[[Any, Env], bool]

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": operator.eq,
    "LessThan": operator.lt,
    "GreaterThan": operator.gt,
    "LessThanEquals": operator.le,
    "GreaterThanEquals": operator.ge,
}
_KINDS = ("String", "Numeric", "Timestamp")
COMPARISONS: frozenset[str] = frozenset(
    [f"{kind}{op}" for kind in _KINDS for op in _COMPARE]
    + [f"{kind}{op}Path" for kind in _KINDS for op in _COMPARE]
    + ["BooleanEquals", "BooleanEqualsPath", "StringMatches"]
    + ["IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"]
)


def parse_timestamp(value: Any) -> datetime | None:
    """An RFC 3339 timestamp with a time zone, or None when ``value`` is not one."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    """StringMatches: ``*`` is any run of characters; ``\\*`` and ``\\\\`` are literal."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            out.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        out.append(".*" if char == "*" else re.escape(char))
        index += 1
    return re.compile("".join(out), re.DOTALL)


def _invalid_path(path: str) -> StatesError:
    return StatesError(
        RUNTIME,
        f"Invalid path '{path}': The choice state's condition path references an invalid value.",
    )


def _typed(kind: str, value: Any) -> Any:
    """The comparable form of ``value`` for ``kind``, or None when it has the wrong type."""
    if kind == "String":
        return value if isinstance(value, str) else None
    if kind == "Numeric":
        return value if _is_number(value) else None
    return parse_timestamp(value)


def compile_rule(rule: Any, *, field: str, top_level: bool = True) -> Predicate:
    """Compile one Choice rule (a comparison or And/Or/Not).

    Raises:
        PathSyntaxError: the rule is not well formed; the message names ``field``.
    """
    if not isinstance(rule, dict):
        raise PathSyntaxError(f"{field} must be an object")
    if not top_level and "Next" in rule:
        raise PathSyntaxError(f"{field}: nested rules must not have 'Next'")
    if "And" in rule or "Or" in rule:
        key = "And" if "And" in rule else "Or"
        children = rule[key]
        if not isinstance(children, list) or not children:
            raise PathSyntaxError(f"{field}.{key} must be a non-empty array of rules")
        predicates = tuple(
            compile_rule(child, field=f"{field}.{key}[{i}]", top_level=False)
            for i, child in enumerate(children)
        )
        if key == "And":
            return lambda data, env: all(p(data, env) for p in predicates)
        return lambda data, env: any(p(data, env) for p in predicates)
    if "Not" in rule:
        inner = compile_rule(rule["Not"], field=f"{field}.Not", top_level=False)
        return lambda data, env: not inner(data, env)
    if "Variable" not in rule:
        raise PathSyntaxError(f"{field} needs 'Variable' and a comparison, or And/Or/Not")
    variable = rule["Variable"]
    ops = [key for key in rule if key in COMPARISONS]
    unknown = [
        key
        for key in rule
        if key not in COMPARISONS and key not in {"Variable", "Next", "Comment", "Assign"}
    ]
    if unknown:
        raise PathSyntaxError(f"{field} has unknown field(s): {', '.join(unknown)}")
    if len(ops) != 1:
        raise PathSyntaxError(f"{field} needs exactly one comparison operator, got {len(ops)}")
    op = ops[0]
    return _comparison(variable, op, rule[op], field)


def _comparison(variable: str, op: str, operand: Any, field: str) -> Predicate:
    get = compile_path(variable, field=f"{field}.Variable")

    def read(data: Any, env: Env) -> Any:
        try:
            return get(data, env)
        except PathMissing:
            raise _invalid_path(variable) from None

    if op == "IsPresent":
        _expect_bool(operand, op, field)

        def is_present(data: Any, env: Env) -> bool:
            try:
                get(data, env)
            except PathMissing:
                return not operand
            return bool(operand)

        return is_present
    if op.startswith("Is"):
        _expect_bool(operand, op, field)
        test = _TYPE_TESTS[op]
        return lambda data, env: test(read(data, env)) == operand
    if op == "StringMatches":
        if not isinstance(operand, str):
            raise PathSyntaxError(f"{field}.StringMatches must be a string")
        regex = _wildcard_regex(operand)
        return lambda data, env: (
            isinstance(value := read(data, env), str) and regex.fullmatch(value) is not None
        )
    if op.startswith("BooleanEquals"):
        if op.endswith("Path"):
            other = _operand_reader(operand, op, field)
            return lambda data, env: _bool_eq(read(data, env), other(data, env))
        _expect_bool(operand, op, field)
        return lambda data, env: _bool_eq(read(data, env), operand)
    kind = next(k for k in _KINDS if op.startswith(k))
    compare = _COMPARE[op[len(kind) :].removesuffix("Path")]
    if op.endswith("Path"):
        other_reader = _operand_reader(operand, op, field)

        def compare_path(data: Any, env: Env) -> bool:
            left = _typed(kind, read(data, env))
            right = _typed(kind, other_reader(data, env))
            return left is not None and right is not None and compare(left, right)

        return compare_path
    right = _typed(kind, operand)
    if right is None:
        raise PathSyntaxError(f"{field}.{op} must be a {kind.lower()} value")

    def compare_value(data: Any, env: Env) -> bool:
        left = _typed(kind, read(data, env))
        return left is not None and compare(left, right)

    return compare_value


def _bool_eq(value: Any, expected: Any) -> bool:
    return isinstance(value, bool) and isinstance(expected, bool) and value is expected


def _expect_bool(operand: Any, op: str, field: str) -> None:
    if not isinstance(operand, bool):
        raise PathSyntaxError(f"{field}.{op} must be true or false")


def _operand_reader(path: Any, op: str, field: str) -> Callable[[Any, Env], Any]:
    if not isinstance(path, str):
        raise PathSyntaxError(f"{field}.{op} must be a path")
    get = compile_path(path, field=f"{field}.{op}")

    def read(data: Any, env: Env) -> Any:
        try:
            return get(data, env)
        except PathMissing:
            raise _invalid_path(path) from None

    return read


_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda value: value is None,
    "IsNumeric": _is_number,
    "IsString": lambda value: isinstance(value, str),
    "IsBoolean": lambda value: isinstance(value, bool),
    "IsTimestamp": lambda value: parse_timestamp(value) is not None,
}
