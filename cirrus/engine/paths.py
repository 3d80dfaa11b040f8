"""JSONPath for ASL: reference paths, payload templates and the context object.

Everything here is compiled once, when a definition loads, into small closures that the
runner calls on every transition. No function in this module mutates a JSON value it is
given: :func:`set_path` copies only the containers on the way to the value it sets, so
values can be shared between states, Map iterations and history events safely::

    >>> get = compile_path("$.a.b[1]", field="InputPath")
    >>> get({"a": {"b": [1, 2]}}, NO_ENV)
    2
    >>> template = compile_template({"x.$": "$.a", "y": 1}, field="Parameters")
    >>> template.evaluate({"a": 5}, NO_ENV)
    {'x': 5, 'y': 1}
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from cirrus.engine.errors import RESULT_PATH_MATCH_FAILURE, RUNTIME, StatesError

__all__ = [
    "NO_ENV",
    "Env",
    "Getter",
    "PathMissing",
    "PathSyntaxError",
    "Template",
    "compile_path",
    "compile_reference_path",
    "compile_template",
    "compile_value_expression",
    "dumps",
    "set_path",
]

Step = str | int


class Env(Protocol):
    """What a compiled path needs besides its input: the context object and variables."""

    def context(self) -> dict[str, Any]:
        """The context object ``$$`` of the running state."""
        ...

    def lookup(self, name: str) -> Any:
        """The value of variable ``$name``; raises ``KeyError`` when it is not defined."""
        ...


class _NoEnv:
    def context(self) -> dict[str, Any]:
        return {}

    def lookup(self, name: str) -> Any:
        raise KeyError(name)


NO_ENV: Env = _NoEnv()

Getter = Callable[[Any, Env], Any]


class PathSyntaxError(ValueError):
    """A path or intrinsic function is not valid; raised while a definition loads."""


class PathMissing(Exception):
    """A path selected nothing in its input."""

    def __init__(self, path: str, data: Any) -> None:
        super().__init__(path)
        self.path = path
        self.data = data


def dumps(value: Any) -> str:
    """JSON text as Step Functions shows it in causes and history: compact, unicode kept."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- parsing

_NAME = r"[^.\[\]'\"*?@()$,:\s][^.\[\]\s]*"
_STEP_RE = re.compile(
    r"\.(?P<name>" + _NAME + r")"
    r"|\[(?P<index>-?\d+)\]"
    r"|\['(?P<sq>(?:[^'\\]|\\.)*)'\]"
    r'|\["(?P<dq>(?:[^"\\]|\\.)*)"\]'
)
_VAR_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def _parse_steps(rest: str) -> tuple[Step, ...] | None:
    """Steps of a definite path after its root, or None when the path is not definite."""
    steps: list[Step] = []
    pos = 0
    while pos < len(rest):
        match = _STEP_RE.match(rest, pos)
        if match is None:
            return None
        if match.group("name") is not None:
            steps.append(match.group("name"))
        elif match.group("index") is not None:
            steps.append(int(match.group("index")))
        elif match.group("sq") is not None:
            steps.append(match.group("sq").replace("\\'", "'"))
        else:
            steps.append(match.group("dq").replace('\\"', '"'))
        pos = match.end()
    return tuple(steps)


def _step_getter(steps: tuple[Step, ...], path: str) -> Callable[[Any], Any]:
    """A function that walks ``steps`` into a value, raising PathMissing when it can't."""

    def walk(data: Any) -> Any:
        value = data
        for step in steps:
            if type(step) is int:
                if isinstance(value, list) and -len(value) <= step < len(value):
                    value = value[step]
                    continue
                raise PathMissing(path, data)
            if isinstance(value, dict):
                try:
                    value = value[step]
                    continue
                except KeyError:
                    pass
            raise PathMissing(path, data)
        return value

    if not steps:
        return lambda data: data
    if len(steps) == 1 and type(steps[0]) is str:
        key = steps[0]

        def one(data: Any) -> Any:
            if isinstance(data, dict):
                try:
                    return data[key]
                except KeyError:
                    pass
            raise PathMissing(path, data)

        return one
    return walk


def _jsonpath_getter(expr: str, path: str) -> Callable[[Any], Any]:
    """Full JSONPath (wildcards, slices, filters, ``..``): always a list of matches."""
    from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
    from jsonpath_ng.ext.parser import parse

    try:
        compiled = parse(expr)
    except (JsonPathLexerError, JsonPathParserError, Exception) as err:
        raise PathSyntaxError(f"invalid JSONPath {path!r}: {err}") from err

    def find(data: Any) -> Any:
        return [match.value for match in compiled.find(data)]

    return find


def _root_and_rest(path: str) -> tuple[str, str]:
    """Split ``$.a``, ``$$.a`` and ``$var.a`` into their root and the rest."""
    if path.startswith("$$"):
        return "$$", path[2:]
    if path.startswith("$"):
        match = _VAR_RE.match(path)
        if match is not None:
            return match.group(0), path[match.end() :]
        return "$", path[1:]
    raise PathSyntaxError(f"path {path!r} must start with '$'")


def compile_path(path: str, *, field: str, definite: bool = False) -> Getter:
    """Compile a JSONPath (input, context ``$$`` or variable ``$name``) into a getter.

    Args:
        path: the path text.
        field: the field it came from, for error messages.
        definite: accept only reference paths (one node, no wildcards or filters).

    Returns:
        ``getter(data, env)``; raises :class:`PathMissing` when nothing is selected.

    Raises:
        PathSyntaxError: the path is not valid.
    """
    if not isinstance(path, str):
        raise PathSyntaxError(f"{field} must be a string path, got {dumps(path)}")
    root, rest = _root_and_rest(path)
    steps = _parse_steps(rest)
    if steps is None:
        if definite:
            raise PathSyntaxError(f"{field} {path!r} is not a valid reference path")
        find = _jsonpath_getter("$" + rest, path)
        walk = find
    else:
        walk = _step_getter(steps, path)
    if root == "$":
        return lambda data, env: walk(data)
    if root == "$$":
        return lambda data, env: walk(env.context())
    name = root[1:]

    def variable(data: Any, env: Env) -> Any:
        try:
            value = env.lookup(name)
        except KeyError:
            raise PathMissing(path, None) from None
        return walk(value)

    return variable


def compile_reference_path(path: str, *, field: str) -> tuple[Step, ...]:
    """Steps of a reference path on the state input (for ResultPath); validates it."""
    if not isinstance(path, str) or not path.startswith("$") or path.startswith("$$"):
        raise PathSyntaxError(f"{field} {path!r} must be a reference path starting with '$'")
    steps = _parse_steps(path[1:])
    if steps is None:
        raise PathSyntaxError(f"{field} {path!r} is not a valid reference path")
    return steps


def set_path(data: Any, steps: tuple[Step, ...], value: Any, path: str) -> Any:
    """Return ``data`` with ``value`` placed at ``steps``, copying only what changes.

    Missing objects on the way are created, as ResultPath does on AWS.

    Raises:
        StatesError: ``States.ResultPathMatchFailure`` when a step meets a non-object.
    """
    if not steps:
        return value
    step = steps[0]
    if type(step) is int:
        if isinstance(data, list) and -len(data) <= step < len(data):
            copied_list = list(data)
            copied_list[step] = set_path(data[step], steps[1:], value, path)
            return copied_list
    elif isinstance(data, dict):
        copied = dict(data)
        copied[step] = set_path(data.get(step, {}), steps[1:], value, path)
        return copied
    raise StatesError(
        RESULT_PATH_MATCH_FAILURE,
        f"Unable to apply ResultPath '{path}' to input '{dumps(data)}'",
    )


# --------------------------------------------------------------------------- templates


def _missing_cause(path: str, field: str, data: Any) -> str:
    return (
        f"The JSONPath '{path}' specified for the field '{field}' "
        f"could not be found in the input '{dumps(data)}'"
    )


def compile_value_expression(expr: str, *, field: str) -> Getter:
    """Compile the value of a ``.$`` field: a path or an intrinsic function call.

    The returned getter raises :class:`StatesError` (``States.Runtime`` for a missing
    path, ``States.IntrinsicFailure`` for a failing intrinsic) instead of PathMissing.
    """
    if not isinstance(expr, str):
        raise PathSyntaxError(f"the value of {field!r} must be a string, got {dumps(expr)}")
    if expr.startswith("States."):
        from cirrus.engine.intrinsics import compile_intrinsic

        return compile_intrinsic(expr, field=field)
    getter = compile_path(expr, field=field)

    def value(data: Any, env: Env) -> Any:
        try:
            return getter(data, env)
        except PathMissing as missing:
            raise StatesError(RUNTIME, _missing_cause(expr, field, missing.data)) from None

    return value


@dataclass(frozen=True, slots=True)
class Template:
    """A compiled payload template (Parameters, ResultSelector, ItemSelector, Assign).

    Attributes:
        static: the template has no ``.$`` field, so :attr:`value` is the result.
        value: the constant result when static.
        build: the evaluator when not static.
    """

    static: bool
    value: Any
    build: Getter | None

    def evaluate(self, data: Any, env: Env) -> Any:
        """Evaluate the template against ``data``."""
        if self.build is None:
            return self.value
        return self.build(data, env)


def compile_template(template: Any, *, field: str) -> Template:
    """Compile a JSONPath-language payload template.

    Keys ending in ``.$`` take their value from a path or intrinsic; other values are
    copied as they are (nested objects and arrays are templates too).

    Raises:
        PathSyntaxError: a path or intrinsic is not valid.
    """
    build = _compile_node(template, field)
    if build is None:
        return Template(True, template, None)
    return Template(False, None, build)


def _compile_node(node: Any, field: str) -> Getter | None:
    if isinstance(node, dict):
        parts: list[tuple[str, Getter | None, Any]] = []
        dynamic = False
        for key, child in node.items():
            if isinstance(key, str) and key.endswith(".$"):
                getter = compile_value_expression(child, field=key)
                parts.append((key[:-2], getter, None))
                dynamic = True
            else:
                sub = _compile_node(child, f"{field}.{key}")
                parts.append((key, sub, child))
                dynamic = dynamic or sub is not None
        if not dynamic:
            return None
        frozen = tuple(parts)

        def build_object(data: Any, env: Env) -> Any:
            out: dict[str, Any] = {}
            for key, getter, const in frozen:
                out[key] = const if getter is None else getter(data, env)
            return out

        return build_object
    if isinstance(node, list):
        items = [(_compile_node(child, field), child) for child in node]
        if all(getter is None for getter, _ in items):
            return None
        frozen_items = tuple(items)

        def build_array(data: Any, env: Env) -> Any:
            return [
                const if getter is None else getter(data, env) for getter, const in frozen_items
            ]

        return build_array
    return None
