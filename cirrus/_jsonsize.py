"""Whether a value's compact JSON is longer than a limit, told quickly for small values.

Step Functions limits what a state returns (256 KiB); the engine checks every result and
the task runners hand big ones on by reference, so the check must cost little for the many
small results.

>>> compact_json_beyond({"a": 1}, 100) is None
True
>>> compact_json_beyond({"a": "x" * 200}, 100)[:10]
b'{"a":"xxxx'
"""

from __future__ import annotations

import json
import marshal
from typing import Any

__all__ = ["compact_json_beyond"]

# A quick, sound bound first: marshal (format 2, which never shares repeated objects) writes
# every JSON value in at least a sixth of its JSON length (a string escaped as \u0001 is
# 6 characters for 1 byte; true is 4 characters for 1 byte, plus a comma), and it runs in
# C about ten times faster than json.dumps. Only a value marshal cannot prove small is
# encoded as JSON.
_JSON_PER_MARSHAL_BYTE = 6


def compact_json_beyond(value: Any, limit: int) -> bytes | None:
    """The compact UTF-8 JSON of ``value`` when it is longer than ``limit`` bytes, else None."""
    if value is None or isinstance(value, bool | int | float):
        return None
    try:
        if len(marshal.dumps(value, 2)) * _JSON_PER_MARSHAL_BYTE <= limit:
            return None
    except ValueError:  # not plain data (a tuple of objects, ...): JSON decides
        pass
    data = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return data if len(data) > limit else None
