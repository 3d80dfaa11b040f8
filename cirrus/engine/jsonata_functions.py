"""The functions Step Functions adds to JSONata: ``$partition``, ``$range``, ``$hash``,
``$random``, ``$uuid`` and ``$parse`` (AWS developer guide, "Transforming data with JSONata").

They are registered on every compiled expression by :mod:`cirrus.engine.jsonata_eval`.
Values cross the boundary in the ``jsonata`` package's own form: JSON ``null`` is its
``NULL_VALUE`` (``None`` means "undefined" there), which :func:`to_jsonata` and
:func:`from_jsonata` convert.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["AWS_FUNCTIONS", "FunctionError", "bindings_to_jsonata", "from_jsonata", "to_jsonata"]


def _null() -> Any:
    from jsonata.utils import Utils

    return Utils.NULL_VALUE


class FunctionError(Exception):
    """An AWS JSONata function was called with arguments it cannot use."""


def to_jsonata(value: Any, null: Any = None) -> Any:
    """A JSON value as the ``jsonata`` package reads it: ``None`` becomes its ``null``."""
    if null is None:
        null = _null()
    if value is None:
        return null
    if isinstance(value, dict):
        return {key: to_jsonata(item, null) for key, item in value.items()}
    if isinstance(value, list):
        return [to_jsonata(item, null) for item in value]
    return value


_RECENT = threading.local()
_RECENT_SIZE = 8


def _converted(value: Any) -> Any:
    """``to_jsonata(value)``, remembered for the last few large values of this thread.

    Every item of a Map with a JSONata ``ItemSelector`` reads the same ``$states.input``;
    converting it once per item would make the Map quadratic. The engine never changes a
    value once made, so one seen again (same object, kept alive here) converts the same.
    """
    if not isinstance(value, dict | list) or not value:
        return to_jsonata(value)
    recent: dict[int, tuple[Any, Any]] | None = getattr(_RECENT, "values", None)
    if recent is None:
        recent = _RECENT.values = {}
    found = recent.pop(id(value), None)
    if found is not None and found[0] is value:
        recent[id(value)] = found  # most recently used last
        return found[1]
    converted = to_jsonata(value)
    if len(recent) >= _RECENT_SIZE:
        recent.pop(next(iter(recent)))
    recent[id(value)] = (value, converted)
    return converted


def bindings_to_jsonata(bindings: Mapping[str, Any]) -> dict[str, Any]:
    """JSONata bindings (variables and ``states``) in the ``jsonata`` package's form."""
    out: dict[str, Any] = {}
    for name, value in bindings.items():
        if name == "states" and isinstance(value, dict):
            # $states and its context are made afresh for each state (and Map item);
            # what they hold (the input, $$.Execution) is the same objects again
            states = {key: _converted(item) for key, item in value.items() if key != "context"}
            context = value.get("context")
            if isinstance(context, dict):
                states["context"] = {key: _converted(item) for key, item in context.items()}
            out[name] = states
        else:
            out[name] = _converted(value)
    return out


def from_jsonata(value: Any, null: Any = None) -> Any:
    """A ``jsonata`` result as plain JSON: its ``null`` becomes ``None``, sequences lists,
    and integral floats ints (as in JSON text)."""
    if null is None:
        null = _null()
    if value is null:
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, list):
        return [from_jsonata(item, null) for item in value]
    if isinstance(value, dict):
        return {key: from_jsonata(item, null) for key, item in value.items()}
    return value


def _integer(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FunctionError(f"{what} must be an integer, got {_shown(value)}")
    if isinstance(value, float) and not value.is_integer():
        raise FunctionError(f"{what} must be an integer, got {_shown(value)}")
    return int(value)


def _shown(value: Any) -> str:
    return json.dumps(from_jsonata(value), separators=(",", ":"))


def _partition(array: Any = None, size: Any = None) -> list[Any]:
    if not isinstance(array, list):
        raise FunctionError(f"$partition: the first argument must be an array, got {_shown(array)}")
    step = _integer(size, "$partition: the chunk size")
    if step <= 0:
        raise FunctionError(f"$partition: the chunk size must be positive, got {step}")
    items = list(array)
    return [items[index : index + step] for index in range(0, len(items), step)]


def _range(start: Any = None, end: Any = None, step: Any = None) -> list[int]:
    from jsonata.utils import Utils

    first = _integer(start, "$range: the start")
    last = _integer(end, "$range: the end")
    by = _integer(step, "$range: the step")
    if by == 0:
        raise FunctionError("$range: the step must not be 0")
    # A JSONata sequence: a range of one number is that number, as AWS returns it.
    sequence: list[int] = Utils.create_sequence_from_iter(
        range(first, last + (1 if by > 0 else -1), by)
    )
    return sequence


_HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384"}
_HASHES["SHA-512"] = "sha512"


def _hash(value: Any = None, algorithm: Any = None) -> str:
    if not isinstance(value, str):
        raise FunctionError(f"$hash: the value to hash must be a string, got {_shown(value)}")
    if algorithm not in _HASHES:
        raise FunctionError(
            f"$hash: the algorithm must be one of {', '.join(_HASHES)}, got {_shown(algorithm)}"
        )
    return hashlib.new(_HASHES[algorithm], value.encode("utf-8")).hexdigest()


def _random(seed: Any = None) -> float:
    if seed is None or seed is _null():
        return random.random()  # noqa: S311 - not for security
    if isinstance(seed, bool) or not isinstance(seed, int | float | str):
        raise FunctionError(f"$random: the seed must be a number or a string, got {_shown(seed)}")
    return random.Random(seed).random()  # noqa: S311 - seeded on purpose


def _uuid() -> str:
    return str(uuid.uuid4())


def _parse(text: Any = None) -> Any:
    if not isinstance(text, str):
        raise FunctionError(f"$parse: the argument must be a string, got {_shown(text)}")
    try:
        value = json.loads(text)
    except ValueError as err:
        raise FunctionError(f"$parse: the string is not valid JSON: {err}") from None
    return to_jsonata(value)


AWS_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "partition": _partition,
    "range": _range,
    "hash": _hash,
    "random": _random,
    "uuid": _uuid,
    "parse": _parse,
}
"""The functions by name (without ``$``)."""
