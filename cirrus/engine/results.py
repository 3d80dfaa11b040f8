"""What an execution leaves: its status, result and AWS-style history.

:class:`ExecutionResult` keeps history events as compact tuples while the execution runs
and turns them into ``GetExecutionHistory``-shaped dicts (ISO timestamps, JSON strings)
only when asked.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from cirrus.engine.paths import dumps

__all__ = ["EventRecord", "ExecutionResult", "ExecutionStatus", "event_dict", "iso_time"]


class ExecutionStatus(StrEnum):
    """How an execution ended."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    ABORTED = "ABORTED"


EventRecord = tuple[int, int, float, str, "str | None", "dict[str, Any] | None"]
"""A history event as recorded: id, previous id, timestamp, type, details key, details."""


def event_dict(record: EventRecord) -> dict[str, Any]:
    event_id, previous, timestamp, kind, key, details = record
    event: dict[str, Any] = {
        "id": event_id,
        "previousEventId": previous,
        "timestamp": timestamp,
        "type": kind,
    }
    if key is not None and details is not None:
        event[key] = details
    return event


@dataclass
class ExecutionResult:
    """The outcome of an execution.

    Attributes:
        status: SUCCEEDED, FAILED, TIMED_OUT or ABORTED.
        output: the output when SUCCEEDED, else None.
        error: the ASL error name when not SUCCEEDED.
        cause: the cause, or None.
        records: the history events as recorded (tuples); read :attr:`events` or
            :meth:`history` instead.
        name: the execution name.
        execution_arn: the execution ARN.
        start_time: start, epoch seconds (execution timeline).
        stop_time: end, epoch seconds (execution timeline).
        transitions: the number of states entered.
        redrive_point: for an execution that did not succeed, where a redrive starts
            again (plain JSON: the top-level state that failed, its input, the variables,
            the history); pass it to :meth:`~cirrus.engine.Execution.redrive`. None when
            it succeeded or cannot be redriven.
    """

    status: ExecutionStatus
    output: Any
    error: str | None
    cause: str | None
    records: list[EventRecord] = field(repr=False)
    name: str
    execution_arn: str
    start_time: float
    stop_time: float
    transitions: int
    redrive_point: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    _events: list[dict[str, Any]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def events(self) -> list[dict[str, Any]]:
        """The history events: plain dicts, ``timestamp`` in epoch seconds, inputs and
        outputs as JSON values. See :meth:`history`.

        Made from :attr:`records` on first use (most callers never look), then kept.
        """
        if self._events is None:
            self._events = [event_dict(record) for record in self.records]
        return self._events

    @property
    def succeeded(self) -> bool:
        """Whether the execution succeeded."""
        return self.status is ExecutionStatus.SUCCEEDED

    def history(self) -> list[dict[str, Any]]:
        """The history as ``GetExecutionHistory`` returns it: ISO timestamps, JSON strings."""
        # One value is often in several events (a task's result is its output, the state's
        # output and the next state's input): write each object's JSON once.
        texts: dict[int, tuple[Any, str]] = {}
        return [_export_event(event, texts) for event in sorted(self.events, key=lambda e: e["id"])]

    def error_document(self) -> dict[str, Any]:
        """``{"error": ..., "cause": ...}`` for a failed, timed-out or aborted execution."""
        return {"error": self.error, "cause": self.cause}


_DATA_FIELDS = ("input", "output", "parameters")


def _export_event(event: dict[str, Any], texts: dict[int, tuple[Any, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in event.items():
        if key == "timestamp":
            out[key] = iso_time(value)
        elif isinstance(value, dict):
            details = dict(value)
            for data_field in _DATA_FIELDS:
                if data_field in details and not isinstance(details[data_field], str):
                    details[data_field] = _dumps_once(details[data_field], texts)
                    details[f"{data_field}Details"] = {"truncated": False}
                elif data_field in details:
                    details[f"{data_field}Details"] = {"truncated": False}
            out[key] = details
        else:
            out[key] = value
    return out


def _dumps_once(value: Any, texts: dict[int, tuple[Any, str]]) -> str:
    """``dumps(value)``, remembered by object identity (the value is kept so ids stay unique)."""
    if not isinstance(value, dict | list):
        return dumps(value)
    known = texts.get(id(value))
    if known is None:
        known = texts[id(value)] = (value, dumps(value))
    return known[1]


def iso_time(timestamp: float) -> str:
    """``2024-05-01T10:20:30.123Z``: UTC, milliseconds truncated, as ``datetime`` writes it."""
    if not math.isfinite(timestamp):
        return _iso_datetime(timestamp)
    # datetime.fromtimestamp's own split: microseconds rounded half to even.
    fraction, whole = math.modf(timestamp)
    micros = round(fraction * 1e6)
    if micros >= 1_000_000:
        micros -= 1_000_000
        whole += 1.0
    elif micros < 0:
        micros += 1_000_000
        whole -= 1.0
    return f"{_iso_second(int(whole))}.{micros // 1000:03d}Z"


@functools.lru_cache(maxsize=256)
def _iso_second(second: int) -> str:
    # Events of one execution share few seconds; formatting a datetime is the slow part.
    return datetime.fromtimestamp(second, UTC).isoformat(timespec="seconds").removesuffix("+00:00")


def _iso_datetime(timestamp: float) -> str:
    return (
        datetime.fromtimestamp(timestamp, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )
