"""JSONata for ASL: ``{% ... %}`` templates evaluated with ``$states`` and variables.

A JSONata field holds either an expression string ``"{% $states.input.x + 1 %}"`` or a
JSON value whose strings may be such expressions. Templates are compiled once per
definition with the ``jsonata`` package (``jsonata-python``)::

    >>> template = compile_jsonata({"sum": "{% $states.input.a + 1 %}"}, field="Output")
    >>> template.evaluate({"states": {"input": {"a": 1}}})
    {'sum': 2}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cirrus.engine.errors import QUERY_EVALUATION_ERROR, StatesError
from cirrus.engine.paths import PathSyntaxError

__all__ = ["JsonataTemplate", "compile_jsonata", "is_expression"]

_UNDEFINED = object()
Evaluator = Callable[[Mapping[str, Any]], Any]


def is_expression(value: Any) -> bool:
    """Whether ``value`` is a ``{% ... %}`` JSONata expression string."""
    return (
        isinstance(value, str)
        and value.startswith("{%")
        and value.endswith("%}")
        and len(value) >= 4
    )


def _compile_expression(text: str, field: str) -> Evaluator:
    import jsonata
    from jsonata.jexception import JException

    source = text[2:-2].strip()
    try:
        expression = jsonata.Jsonata(source)
    except JException as err:
        raise PathSyntaxError(f"invalid JSONata expression in {field!r}: {err}") from err

    def evaluate(bindings: Mapping[str, Any]) -> Any:
        try:
            value = expression.evaluate(None, bindings)
        except JException as err:
            raise StatesError(
                QUERY_EVALUATION_ERROR,
                f"The JSONata expression '{source}' specified for the field '{field}' "
                f"threw an error during evaluation. {err}",
            ) from None
        except RecursionError:
            raise StatesError(
                QUERY_EVALUATION_ERROR,
                f"The JSONata expression '{source}' specified for the field '{field}' "
                "exceeded the maximum evaluation depth",
            ) from None
        return _UNDEFINED if value is None else _normalise(value)

    return evaluate


def _normalise(value: Any) -> Any:
    """Plain JSON out of a JSONata result: integral floats become ints, as in JSON text."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, list):
        return [_normalise(item) for item in value]
    if isinstance(value, dict):
        return {key: _normalise(item) for key, item in value.items()}
    return value


def _compile_node(node: Any, field: str) -> Evaluator | None:
    if is_expression(node):
        return _compile_expression(node, field)
    if isinstance(node, dict):
        parts = [
            (key, _compile_node(child, f"{field}.{key}"), child) for key, child in node.items()
        ]
        if all(getter is None for _, getter, _ in parts):
            return None

        def build_object(bindings: Mapping[str, Any]) -> Any:
            out: dict[str, Any] = {}
            for key, getter, const in parts:
                value = const if getter is None else getter(bindings)
                if value is not _UNDEFINED:
                    out[key] = value
            return out

        return build_object
    if isinstance(node, list):
        items = [(_compile_node(child, field), child) for child in node]
        if all(getter is None for getter, _ in items):
            return None

        def build_array(bindings: Mapping[str, Any]) -> Any:
            values = [const if getter is None else getter(bindings) for getter, const in items]
            return [None if value is _UNDEFINED else value for value in values]

        return build_array
    return None


@dataclass(frozen=True, slots=True)
class JsonataTemplate:
    """A compiled JSONata field.

    Attributes:
        field: the field name, for error messages.
        source: the field's value as written.
        build: the evaluator, or None when the value holds no expression.
    """

    field: str
    source: Any
    build: Evaluator | None

    @property
    def static(self) -> bool:
        """Whether the value holds no expression."""
        return self.build is None

    def evaluate(self, bindings: Mapping[str, Any], *, required: bool = True) -> Any:
        """Evaluate with ``bindings`` (``states`` plus variables).

        Raises:
            StatesError: ``States.QueryEvaluationError`` when evaluation fails, or when
                ``required`` and the expression returned nothing.
        """
        if self.build is None:
            return self.source
        value = self.build(bindings)
        if value is _UNDEFINED:
            if required:
                expression = (
                    self.source[2:-2].strip() if is_expression(self.source) else self.source
                )
                raise StatesError(
                    QUERY_EVALUATION_ERROR,
                    f"The JSONata expression '{expression}' specified for the field "
                    f"'{self.field}' returned nothing (undefined).",
                )
            return None
        return value


def compile_jsonata(value: Any, *, field: str) -> JsonataTemplate:
    """Compile a JSONata-language field value.

    Raises:
        PathSyntaxError: an expression does not parse.
    """
    return JsonataTemplate(field, value, _compile_node(value, field))
