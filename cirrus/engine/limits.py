"""AWS's size limit on what a state returns: 256 KiB of JSON, else ``States.DataLimitExceeded``.

>>> result_too_large({"a": 1})
False
"""

from __future__ import annotations

import json
import marshal
from typing import Any

from cirrus.engine.errors import DATA_LIMIT_EXCEEDED, StatesError

__all__ = ["MAX_RESULT_BYTES", "data_limit_exceeded", "result_too_large"]

MAX_RESULT_BYTES = 256 * 1024
"""The most UTF-8 bytes of JSON a state may return (AWS's payload quota)."""


# A quick, sound bound first: marshal (format 2, which never shares repeated objects) writes
# every JSON value in at least a sixth of its JSON length (a string escaped as \u0001 is
# 6 characters for 1 byte; true is 4 characters for 1 byte, plus a comma), and it runs in
# C about ten times faster than json.dumps. Only a result marshal cannot prove small is
# encoded as JSON.
_JSON_PER_MARSHAL_BYTE = 6


def result_too_large(value: Any, limit: int = MAX_RESULT_BYTES) -> bool:
    """Whether ``value`` as compact JSON is larger than ``limit`` bytes (AWS's, by default)."""
    if value is None or isinstance(value, bool | int | float):
        return False
    try:
        if len(marshal.dumps(value, 2)) * _JSON_PER_MARSHAL_BYTE <= limit:
            return False
    except ValueError:  # not plain data (a tuple of objects, ...): JSON decides
        pass
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode("utf-8")) > limit


def data_limit_exceeded(name: str) -> StatesError:
    """The error AWS gives when the state or task ``name`` returned too much."""
    return StatesError(
        DATA_LIMIT_EXCEEDED,
        f"The state/task '{name}' returned a result with a size exceeding the maximum number "
        "of bytes service limit.",
    )
