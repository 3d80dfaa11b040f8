"""Execution times, read from the event log: when each execution of a payload started and
ended, and how it ended.

The log already holds a ``STARTED_PROCESSING`` event per execution (timed when the payload
became PROCESSING) and a terminal event (timed when the execution ended), so the same
answer comes from every backend::

    >>> runs = execution_times(db.events(payload_id))
    >>> runs[-1].execution, runs[-1].status, runs[-1].duration
    ('3f2c...-0001', 'SUCCEEDED', 12.5)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cirrus.state.models import EventType, WorkflowEvent, format_time

__all__ = ["ENDING_EVENTS", "ExecutionTimes", "execution_times"]

ENDING_EVENTS = frozenset(
    {
        EventType.SUCCEEDED,
        EventType.FAILED,
        EventType.TIMED_OUT,
        EventType.INVALID,
        EventType.ABORTED,
    }
)
"""Events that end an execution."""


@dataclass(frozen=True, slots=True)
class ExecutionTimes:
    """One execution of a payload, as the event log tells it."""

    execution: str
    started: datetime | None
    """When it started (None when the log has no start: a record finished by hand)."""
    ended: datetime | None = None
    """When it ended; None while it runs."""
    status: str = "RUNNING"
    """RUNNING, or the event that ended it (SUCCEEDED, FAILED, TIMED_OUT, INVALID, ABORTED)."""
    error: str | None = None
    input_url: str | None = None
    output_url: str | None = None

    @property
    def duration(self) -> float | None:
        """Seconds from start to end; None unless both are known."""
        if self.started is None or self.ended is None:
            return None
        return max((self.ended - self.started).total_seconds(), 0.0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (the API's shape)."""
        return {
            "execution": self.execution,
            "status": self.status,
            "started": None if self.started is None else format_time(self.started),
            "ended": None if self.ended is None else format_time(self.ended),
            "duration": self.duration,
            "error": self.error,
            "input_url": self.input_url,
            "output_url": self.output_url,
        }


def execution_times(events: Iterable[WorkflowEvent]) -> list[ExecutionTimes]:
    """The executions in a payload's events, oldest first.

    A start without an end is a running execution (or one whose worker died); a second
    end for the same execution (an abort recorded by hand, then by the worker) keeps the
    first.
    """
    runs: dict[str, ExecutionTimes] = {}
    for event in events:
        name = event.execution
        if name is None:
            continue
        run = runs.get(name)
        if event.event_type is EventType.STARTED_PROCESSING:
            if run is None:
                runs[name] = ExecutionTimes(name, event.time, input_url=event.input_url)
        elif event.event_type in ENDING_EVENTS and (run is None or run.ended is None):
            runs[name] = ExecutionTimes(
                name,
                None if run is None else run.started,
                ended=event.time,
                status=event.event_type.value,
                error=event.error,
                input_url=event.input_url or (None if run is None else run.input_url),
                output_url=event.output_url,
            )
    return list(runs.values())
