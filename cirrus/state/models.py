"""Values the state database stores and returns: states, records, events, results.

Every model is a frozen dataclass that round-trips a plain dict, so the same shape
goes to NDJSON (``cirrus query``), to tests and to any backend::

    >>> record = StateRecord.from_dict(line)
    >>> record.state is State.FAILED
    True
    >>> record.to_dict() == line
    True

Times are aware UTC datetimes in Python and fixed-width ISO strings ending in ``Z``
in dicts (``2024-05-01T12:00:00.000000Z``), which sort in time order as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any, TypeVar

from cirrus.errors import ConfigError, PayloadError

__all__ = [
    "ACTIVE_STATES",
    "TERMINAL_STATES",
    "ClaimOutcome",
    "ClaimResult",
    "EventType",
    "FinishUpdate",
    "NewEvent",
    "QueryPage",
    "State",
    "StateRecord",
    "WorkflowEvent",
    "format_time",
    "parse_since",
    "parse_time",
    "split_payload_id",
]


class State(StrEnum):
    """The state of a payload, with the same text in JSON, databases and CLI flags."""

    CLAIMED = "CLAIMED"
    """A worker holds the payload and is about to start an execution."""
    PROCESSING = "PROCESSING"
    """An execution is running."""
    SUCCEEDED = "SUCCEEDED"
    """The last execution succeeded; rerun only with ``replace``."""
    FAILED = "FAILED"
    """The last execution failed; a new submission reruns it."""
    INVALID = "INVALID"
    """The input cannot be processed; rerun only with ``replace``."""
    ABORTED = "ABORTED"
    """The last execution was stopped; a new submission reruns it."""


ACTIVE_STATES = frozenset({State.CLAIMED, State.PROCESSING})
"""States held under a lease by a worker."""

TERMINAL_STATES = frozenset({State.SUCCEEDED, State.FAILED, State.INVALID, State.ABORTED})
"""States an execution ends in; ``finish`` accepts only these."""


class EventType(StrEnum):
    """Workflow event names, as users see them in notifications and logs."""

    CLAIMED_PROCESSING = "CLAIMED_PROCESSING"
    STARTED_PROCESSING = "STARTED_PROCESSING"
    ALREADY_INVALID = "ALREADY_INVALID"
    ALREADY_PROCESSING = "ALREADY_PROCESSING"
    ALREADY_CLAIMED = "ALREADY_CLAIMED"
    ALREADY_SUCCEEDED = "ALREADY_SUCCEEDED"
    DUPLICATE_ID_ENCOUNTERED = "DUPLICATE_ID_ENCOUNTERED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    INVALID = "INVALID"
    ABORTED = "ABORTED"
    RECORD_EXTRACT_FAILED = "RECORD_EXTRACT_FAILED"
    NOT_A_PROCESS_PAYLOAD = "NOT_A_PROCESS_PAYLOAD"


class ClaimOutcome(StrEnum):
    """What a claim attempt did."""

    CLAIMED = "CLAIMED"
    """New claim: there was no record, or it was FAILED/ABORTED, or ``replace`` was set."""
    RESUMED = "RESUMED"
    """Took over a CLAIMED/PROCESSING record whose lease had expired (its owner died)."""
    ALREADY_SUCCEEDED = "ALREADY_SUCCEEDED"
    ALREADY_INVALID = "ALREADY_INVALID"
    ALREADY_PROCESSING = "ALREADY_PROCESSING"
    ALREADY_CLAIMED = "ALREADY_CLAIMED"
    """A live claim is held (by any owner, the caller included)."""

    @property
    def claimed(self) -> bool:
        """Whether the caller now holds the claim."""
        return self in (ClaimOutcome.CLAIMED, ClaimOutcome.RESUMED)


# ---------------------------------------------------------------- times


# Both conversions are cached: a batch of records shares a handful of timestamps
# (one "now" per transaction), and formatting dominated the cost of a batch write.
@lru_cache(maxsize=4096)
def format_time(value: datetime) -> str:
    """Format an aware datetime as fixed-width ISO UTC text ending in ``Z``.

    Raises:
        ValueError: ``value`` is naive (has no timezone).
    """
    if value.tzinfo is None:
        raise ValueError(f"time {value!r} has no timezone: pass an aware UTC datetime")
    return value.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


@lru_cache(maxsize=4096)
def parse_time(text: str) -> datetime:
    """Parse ISO text into an aware UTC datetime (naive text is taken as UTC)."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _opt_time(value: datetime | None) -> str | None:
    return None if value is None else format_time(value)


_SINCE = re.compile(r"\s*(\d+)\s*([dhms])\s*", re.IGNORECASE)
_SINCE_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_since(value: str) -> timedelta:
    """Parse an age such as ``7d``, ``24h``, ``30m`` or ``45s`` into a timedelta.

    Raises:
        ConfigError: ``value`` is not a whole number followed by d, h, m or s.
    """
    match = _SINCE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(
            f"since {value!r} is not an age: use a whole number followed by d (days), "
            "h (hours), m (minutes) or s (seconds), e.g. 7d, 24h, 30m, 45s"
        )
    number, unit = match.groups()
    return timedelta(**{_SINCE_UNITS[unit.lower()]: int(number)})


# ---------------------------------------------------------------- payload ids

_PAYLOAD_ID = re.compile(r"(.+)/workflow-([^/]+)/(.+)", re.DOTALL)


@lru_cache(maxsize=16384)
def split_payload_id(payload_id: str) -> tuple[str, str, str]:
    """Split a payload id into ``(collections, workflow, itemids)``.

    Raises:
        PayloadError: the id does not follow ``<collections>/workflow-<name>/<item ids>``.
    """
    parts = _split(payload_id) if isinstance(payload_id, str) else None
    if parts is None:
        raise PayloadError(
            "$.id",
            f"{payload_id!r} is not a payload id",
            "payload ids look like <collections>/workflow-<workflow>/<item ids>",
        )
    return parts


@lru_cache(maxsize=8192)  # every record of a payload splits the same id again and again
def _split(payload_id: str) -> tuple[str, str, str] | None:
    match = _PAYLOAD_ID.fullmatch(payload_id)
    if match is None:
        return None
    collections, workflow, itemids = match.groups()
    return collections, workflow, itemids


# ---------------------------------------------------------------- records


def _field(data: dict[str, Any], name: str) -> Any:
    try:
        return data[name]
    except KeyError:
        raise PayloadError(f"$.{name}", "is required in a state record") from None


def _time(data: dict[str, Any], name: str) -> datetime:
    text = _field(data, name)
    try:
        return parse_time(text)
    except (TypeError, ValueError):
        raise PayloadError(
            f"$.{name}", f"is not an ISO time: {text!r}", "use e.g. 2024-05-01T12:00:00Z"
        ) from None


def _maybe_time(data: dict[str, Any], name: str) -> datetime | None:
    return None if data.get(name) is None else _time(data, name)


_E = TypeVar("_E", bound=StrEnum)


def _enum(enum: type[_E], data: dict[str, Any], name: str) -> _E:
    value = _field(data, name)
    try:
        return enum(value)
    except ValueError:
        raise PayloadError(
            f"$.{name}", f"is {value!r}", "use one of " + ", ".join(m.value for m in enum)
        ) from None


@dataclass(frozen=True, slots=True)
class StateRecord:
    """The state of one payload id.

    ``last_error`` keeps the most recent error ever recorded: a later success does not
    clear it (filter on ``state`` as well as the error prefix to find current failures).
    """

    payload_id: str
    """``<collections>/workflow-<workflow>/<item ids>``."""
    state: State
    created: datetime
    """When the record was first written."""
    updated: datetime
    """When the record last changed state."""
    executions: tuple[str, ...] = ()
    """Execution names, oldest first."""
    last_error: str | None = None
    """``"<Error>: <message>"`` of the latest FAILED/INVALID (or ABORTED) finish."""
    output_url: str | None = None
    """Where the output payload of the latest success is stored."""
    claimed_at: datetime | None = None
    """When the payload was last claimed."""
    claim_owner: str | None = None
    """Who holds the claim; ``None`` outside CLAIMED/PROCESSING."""
    lease_expires: datetime | None = None
    """When the claim lapses unless renewed; ``None`` outside CLAIMED/PROCESSING."""
    previous_state: State | None = None
    """The terminal state before the current claim (``None`` for a first claim)."""
    started: datetime | None = None
    """When the last execution started (``None`` before the first one)."""
    duration: float | None = None
    """Seconds the last finished execution took, start to end; ``None`` while the first
    one runs, and for records finished without an execution."""

    def __post_init__(self) -> None:
        split_payload_id(self.payload_id)  # raises PayloadError for a malformed id

    @property
    def collections(self) -> str:
        """The collections part of the payload id (``a/b`` for ``a/b/workflow-w/x``)."""
        return split_payload_id(self.payload_id)[0]

    @property
    def workflow(self) -> str:
        """The workflow name in the payload id."""
        return split_payload_id(self.payload_id)[1]

    @property
    def itemids(self) -> str:
        """The item ids part of the payload id, joined by ``/``."""
        return split_payload_id(self.payload_id)[2]

    @property
    def collections_workflow(self) -> str:
        """``<collections>_<workflow>``, the partition key of the upstream layout."""
        return f"{self.collections}_{self.workflow}"

    def evolve(self, **changes: Any) -> StateRecord:
        """A copy with ``changes`` applied (a quicker ``dataclasses.replace``)."""
        values: dict[str, Any] = {
            "payload_id": self.payload_id,
            "state": self.state,
            "created": self.created,
            "updated": self.updated,
            "executions": self.executions,
            "last_error": self.last_error,
            "output_url": self.output_url,
            "claimed_at": self.claimed_at,
            "claim_owner": self.claim_owner,
            "lease_expires": self.lease_expires,
            "previous_state": self.previous_state,
            "started": self.started,
            "duration": self.duration,
        }
        values.update(changes)
        return StateRecord(**values)

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready values (the shape ``cirrus query`` prints)."""
        return {
            "payload_id": self.payload_id,
            "collections_workflow": self.collections_workflow,
            "collections": self.collections,
            "workflow": self.workflow,
            "itemids": self.itemids,
            "state": self.state.value,
            "created": format_time(self.created),
            "updated": format_time(self.updated),
            "executions": list(self.executions),
            "last_error": self.last_error,
            "output_url": self.output_url,
            "claimed_at": _opt_time(self.claimed_at),
            "claim_owner": self.claim_owner,
            "lease_expires": _opt_time(self.lease_expires),
            "previous_state": None if self.previous_state is None else self.previous_state.value,
            "started": _opt_time(self.started),
            "duration": self.duration,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StateRecord:
        """Build a record from :meth:`to_dict` output; derived keys are ignored.

        Raises:
            PayloadError: a required key is missing or a value has the wrong form;
                the message names the key.
        """
        previous = data.get("previous_state")
        return cls(
            payload_id=_field(data, "payload_id"),
            state=_enum(State, data, "state"),
            created=_time(data, "created"),
            updated=_time(data, "updated"),
            executions=tuple(data.get("executions") or ()),
            last_error=data.get("last_error"),
            output_url=data.get("output_url"),
            claimed_at=_maybe_time(data, "claimed_at"),
            claim_owner=data.get("claim_owner"),
            lease_expires=_maybe_time(data, "lease_expires"),
            previous_state=None if previous is None else _enum(State, data, "previous_state"),
            started=_maybe_time(data, "started"),
            duration=_duration(data),
        )


def _duration(data: dict[str, Any]) -> float | None:
    value = data.get("duration")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError("$.duration", f"must be a number of seconds, not {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True)
class ClaimResult:
    """The result of one claim attempt."""

    outcome: ClaimOutcome
    record: StateRecord
    """The record after the attempt (unchanged when not claimed)."""

    @property
    def claimed(self) -> bool:
        """Whether the caller now holds the claim and should start an execution."""
        return self.outcome.claimed

    @property
    def payload_id(self) -> str:
        return self.record.payload_id


@dataclass(frozen=True, slots=True)
class FinishUpdate:
    """One item of :meth:`StateDB.finish_many`; same meaning as ``finish`` arguments."""

    payload_id: str
    state: State
    owner: str | None = None
    error: str | None = None
    output_url: str | None = None
    ended: datetime | None = None
    """When the execution ended (default: when the finish is written); the record's
    ``duration`` runs from its ``started`` to this."""


@dataclass(frozen=True, slots=True)
class QueryPage:
    """One page of query results, newest ``updated`` first."""

    records: list[StateRecord]
    next_token: str | None = None
    """Pass back as ``next_token`` for the following page; ``None`` on the last page."""


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to record with :meth:`StateDB.add_events`; ``time`` defaults to now."""

    payload_id: str
    event_type: EventType
    execution: str | None = None
    error: str | None = None
    input_url: str | None = None
    output_url: str | None = None
    time: datetime | None = None


@dataclass(frozen=True, slots=True)
class WorkflowEvent:
    """A recorded workflow event; ``id`` grows with every event, so follow with ``after_id``."""

    id: int
    payload_id: str
    event_type: EventType
    time: datetime
    execution: str | None = None
    error: str | None = None
    input_url: str | None = None
    output_url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The event as JSON-ready values."""
        return {
            "id": self.id,
            "payload_id": self.payload_id,
            "event_type": self.event_type.value,
            "time": format_time(self.time),
            "execution": self.execution,
            "error": self.error,
            "input_url": self.input_url,
            "output_url": self.output_url,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkflowEvent:
        """Build an event from :meth:`to_dict` output.

        Raises:
            PayloadError: a required key is missing or a value has the wrong form.
        """
        event_id = _field(data, "id")
        if not isinstance(event_id, int):
            raise PayloadError("$.id", f"must be an integer, not {event_id!r}")
        return cls(
            id=event_id,
            payload_id=_field(data, "payload_id"),
            event_type=_enum(EventType, data, "event_type"),
            time=_time(data, "time"),
            execution=data.get("execution"),
            error=data.get("error"),
            input_url=data.get("input_url"),
            output_url=data.get("output_url"),
        )
