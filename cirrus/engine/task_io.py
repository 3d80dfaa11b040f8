"""What the runner hands tasks and records of them: private copies, error details.

>>> copy_json({"a": [1]})
{'a': [1]}
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["TaskTimedOut", "copy_json", "error_details"]


class TaskTimedOut(Exception):
    """A task ran out of its TimeoutSeconds (or missed its HeartbeatSeconds)."""


def copy_json(value: Any) -> Any:
    """A private copy of a JSON value for a task, which may change what it is given.

    The copy is what a JSON round trip gives. Plain values (dicts with ``str`` keys, lists,
    and exactly ``str``/``int``/``float``/``bool``/``None``) are copied directly, which is
    several times faster; anything else (tuples, other keys, subclasses, cycles) takes
    the round trip itself, so it converts or fails just as the round trip does.
    """
    if isinstance(value, dict | list):
        try:
            return _copy_plain(value)
        except (_NotPlain, RecursionError):
            return json.loads(json.dumps(value))
    return value


class _NotPlain(Exception):
    pass


_PLAIN_SCALARS: frozenset[type] = frozenset((str, int, float, bool, type(None)))


def _copy_plain(value: Any, scalars: frozenset[type] = _PLAIN_SCALARS) -> Any:
    # a loop that dispatches on the value's type, with empty containers made directly, is
    # about twice as fast as comprehensions here (every task call copies its input)
    kind = type(value)
    if kind is dict:
        copied = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlain
            item_kind = type(item)
            if item_kind in scalars:
                copied[key] = item
            elif item_kind is dict:
                copied[key] = _copy_plain(item) if item else {}
            elif item_kind is list:
                copied[key] = _copy_plain(item) if item else []
            else:
                raise _NotPlain
        return copied
    if kind is list:
        return [item if type(item) in scalars else _copy_plain(item) for item in value]
    raise _NotPlain


def error_details(error: str | None, cause: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if error is not None:
        details["error"] = error
    if cause is not None:
        details["cause"] = cause
    return details
