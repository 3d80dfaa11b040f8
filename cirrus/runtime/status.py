"""The pipeline at a glance: what ``cirrus status`` prints and the dashboard shows first.

One function reads it all from the state database and the work queue::

    status = pipeline_status(pipeline.db, pipeline.queue)
    status.counts["cog"]["FAILED"], status.rate, status.failures[0].prefix
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cirrus.state import State, StateRecord
from cirrus.state.executions import ENDING_EVENTS
from cirrus.state.models import format_time

if TYPE_CHECKING:
    from cirrus.queue import WorkQueue
    from cirrus.state import StateDB

__all__ = ["RATE_MINUTES", "FailureGroup", "PipelineStatus", "error_prefix", "pipeline_status"]

RATE_MINUTES = 5
"""The payloads/s figure is the average over this many minutes."""

FAILURE_WINDOW = timedelta(hours=1)
_FAILURE_SAMPLE = 10_000  # failures read to group; more than this in an hour are counted apart


def error_prefix(error: str | None) -> str:
    """What failures are grouped by: the error name before the first ``:``."""
    if not error:
        return "(no error)"
    return error.split(":", 1)[0].strip() or "(no error)"


@dataclass
class FailureGroup:
    """Failures of the last hour that share an error name."""

    prefix: str
    count: int
    example_id: str
    """The most recent payload that failed so."""
    example_error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "count": self.count,
            "example_id": self.example_id,
            "example_error": self.example_error,
        }


@dataclass
class PipelineStatus:
    """Counts, throughput, recent failures and what is stuck, at one moment."""

    now: datetime
    counts: dict[str, dict[str, int]]
    """Records per workflow and state."""
    finished_per_minute: list[tuple[str, int]]
    """Executions ended per minute over the last hour (``2024-05-01T12:03``, n), oldest first,
    minutes without any included."""
    rate: float
    """Payloads finished per second, averaged over the last :data:`RATE_MINUTES` minutes."""
    failures: list[FailureGroup]
    """FAILED and INVALID payloads of the last hour by error name, most frequent first."""
    oldest_processing: StateRecord | None
    queued: int | None = None
    in_flight: int | None = None
    dead_letters: int | None = None
    totals: dict[str, int] = field(default_factory=dict)
    """Records per state, all workflows."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (``cirrus status --json`` and the API's ``/status``)."""
        oldest = self.oldest_processing
        return {
            "time": format_time(self.now),
            "counts": self.counts,
            "totals": self.totals,
            "rate_per_second": round(self.rate, 3),
            "rate_minutes": RATE_MINUTES,
            "finished_per_minute": [
                {"minute": minute, "count": count} for minute, count in self.finished_per_minute
            ],
            "failures_last_hour": [group.to_dict() for group in self.failures],
            "oldest_processing": None
            if oldest is None
            else {
                "payload_id": oldest.payload_id,
                "since": format_time(oldest.started or oldest.updated),
                "age_seconds": round(
                    (self.now - (oldest.started or oldest.updated)).total_seconds(), 1
                ),
            },
            "queue": {
                "queued": self.queued,
                "in_flight": self.in_flight,
                "dead_letters": self.dead_letters,
            },
        }


def pipeline_status(db: StateDB, queue: WorkQueue | None = None) -> PipelineStatus:
    """Read the pipeline's status from its state database (and queue, when given)."""
    now = db.now()
    counts: dict[str, dict[str, int]] = {}
    totals: Counter[str] = Counter()
    for (workflow, state), count in sorted(db.counts().items()):
        counts.setdefault(workflow, {})[state.value] = count
        totals[state.value] += count
    finished = _finished_per_minute(db, now)
    recent = now - timedelta(minutes=RATE_MINUTES)
    recent_key = format_time(recent)[:16]
    in_window = sum(count for minute, count in finished if minute >= recent_key)
    oldest = db.query(state=State.PROCESSING, limit=1, ascending=True).records
    status = PipelineStatus(
        now=now,
        counts=counts,
        totals=dict(totals),
        finished_per_minute=finished,
        rate=in_window / (RATE_MINUTES * 60),
        failures=_failures(db),
        oldest_processing=oldest[0] if oldest else None,
    )
    if queue is not None:
        status.queued, status.in_flight = queue.counts()
        status.dead_letters = queue.dead_letter_count()
    return status


def _finished_per_minute(db: StateDB, now: datetime) -> list[tuple[str, int]]:
    per_minute: Counter[str] = Counter()
    for count in db.event_counts(since=now - timedelta(hours=1), period="minute"):
        if count.event_type in ENDING_EVENTS:
            per_minute[count.period] += count.count
    return sorted(per_minute.items())


def _failures(db: StateDB) -> list[FailureGroup]:
    groups: dict[str, FailureGroup] = {}
    for state in (State.FAILED, State.INVALID):
        page = db.query(state=state, since=FAILURE_WINDOW, limit=_FAILURE_SAMPLE)
        for record in page.records:  # newest first: the first seen is the example
            prefix = error_prefix(record.last_error)
            group = groups.get(prefix)
            if group is None:
                groups[prefix] = FailureGroup(prefix, 1, record.payload_id, record.last_error)
            else:
                group.count += 1
    return sorted(groups.values(), key=lambda group: (-group.count, group.prefix))
