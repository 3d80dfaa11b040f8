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
from cirrus.engine.jsonata_functions import (
    AWS_FUNCTIONS,
    FunctionError,
    bindings_to_jsonata,
    from_jsonata,
)
from cirrus.engine.paths import PathSyntaxError

__all__ = ["JsonataTemplate", "compile_jsonata", "is_expression"]

Evaluator = Callable[[Mapping[str, Any]], Any]
_JSON_TYPES = (dict, list, str, int, float, bool)


def _null() -> Any:
    from jsonata.utils import Utils

    return Utils.NULL_VALUE


def is_expression(value: Any) -> bool:
    """Whether ``value`` is a ``{% ... %}`` JSONata expression string."""
    return (
        isinstance(value, str)
        and value.startswith("{%")
        and value.endswith("%}")
        and len(value) >= 4
    )


def query_error(message: str, field: str) -> StatesError:
    """A ``States.QueryEvaluationError`` about ``field``, the field AWS names in its history."""
    error = StatesError(QUERY_EVALUATION_ERROR, message)
    error.location = field  # type: ignore[attr-defined]
    return error


def _compile_expression(text: str, field: str) -> Evaluator:
    import jsonata
    from jsonata.jexception import JException

    source = text[2:-2].strip()
    try:
        expression = jsonata.Jsonata(source)
    except JException as err:
        raise PathSyntaxError(f"invalid JSONata expression in {field!r}: {err}") from err
    # JSON null stays distinct from "undefined" (None) on the way out; from_jsonata maps it.
    expression.set_output_convert_nulls(False)
    for name, function in AWS_FUNCTIONS.items():
        expression.register_lambda(name, function)
    prefix = f"The JSONata expression '{source}' specified for the field '{field}'"

    def evaluate(bindings: Mapping[str, Any]) -> Any:
        try:
            value = expression.evaluate(None, bindings)
        except JException as err:
            raise query_error(
                f"{prefix} threw an error during evaluation. {err.error}: {err}", field
            ) from None
        except FunctionError as err:
            raise query_error(f"{prefix} threw an error during evaluation. {err}", field) from None
        except RecursionError:
            raise query_error(f"{prefix} exceeded the maximum evaluation depth", field) from None
        except TypeError as err:  # an AWS function called with too many arguments
            raise query_error(f"{prefix} threw an error during evaluation. {err}", field) from None
        if value is None:
            raise query_error(f"{prefix} returned nothing (undefined).", field)
        if not isinstance(value, _JSON_TYPES) and value is not _null():
            raise query_error(f"{prefix} returned an unsupported result type.", field)
        return from_jsonata(value)

    return evaluate


def _compile_node(node: Any, field: str) -> Evaluator | None:
    if is_expression(node):
        return _compile_expression(node, field)
    if isinstance(node, dict):
        parts = [
            (key, _compile_node(child, f"{field}/{key}"), child) for key, child in node.items()
        ]
        if all(getter is None for _, getter, _ in parts):
            return None

        def build_object(bindings: Mapping[str, Any]) -> Any:
            out: dict[str, Any] = {}
            for key, getter, const in parts:
                out[key] = const if getter is None else getter(bindings)
            return out

        return build_object
    if isinstance(node, list):
        items = [(_compile_node(child, field), child) for child in node]
        if all(getter is None for getter, _ in items):
            return None

        def build_array(bindings: Mapping[str, Any]) -> Any:
            return [const if getter is None else getter(bindings) for getter, const in items]

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

    def evaluate(self, bindings: Mapping[str, Any]) -> Any:
        """Evaluate with ``bindings`` (``states`` plus variables), plain JSON values.

        Raises:
            StatesError: ``States.QueryEvaluationError`` when evaluation fails or an
                expression returns nothing; ``location`` names the field as AWS does
                (``Output/result``).
        """
        if self.build is None:
            return self.source
        return self.build(bindings_to_jsonata(bindings))


def compile_jsonata(value: Any, *, field: str) -> JsonataTemplate:
    """Compile a JSONata-language field value.

    Raises:
        PathSyntaxError: an expression does not parse.
    """
    return JsonataTemplate(field, value, _compile_node(value, field))
