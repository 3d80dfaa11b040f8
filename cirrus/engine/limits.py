"""AWS's size limit on what a state returns: 256 KiB of JSON, else ``States.DataLimitExceeded``.

>>> result_too_large({"a": 1})
False
"""

from __future__ import annotations

from typing import Any

from cirrus._jsonsize import compact_json_beyond
from cirrus.engine.errors import DATA_LIMIT_EXCEEDED, StatesError

__all__ = ["MAX_RESULT_BYTES", "data_limit_exceeded", "result_too_large"]

MAX_RESULT_BYTES = 256 * 1024
"""The most UTF-8 bytes of JSON a state may return (AWS's payload quota)."""


def result_too_large(value: Any, limit: int = MAX_RESULT_BYTES) -> bool:
    """Whether ``value`` as compact JSON is larger than ``limit`` bytes (AWS's, by default)."""
    return compact_json_beyond(value, limit) is not None


def data_limit_exceeded(name: str) -> StatesError:
    """The error AWS gives when the state or task ``name`` returned too much."""
    return StatesError(
        DATA_LIMIT_EXCEEDED,
        f"The state/task '{name}' returned a result with a size exceeding the maximum number "
        "of bytes service limit.",
    )
