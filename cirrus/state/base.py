"""The StateDB interface every state backend implements.

A backend implements a handful of batch primitives; the single-item methods,
argument checks and continuation tokens live here, so each backend stays small
and they all behave alike::

    with open_state_db("sqlite:///tmp/state.db") as db:
        result = db.claim(payload_id, owner="worker-1", lease_seconds=60)
        if result.claimed:
            db.start(payload_id, "run-1", owner="worker-1", lease_seconds=60)
            ...
            db.finish(payload_id, State.SUCCEEDED, owner="worker-1", output_url=url)

The interface speaks only of payload ids, records and events (no SQL), so a
key-value store with conditional writes can implement it.
"""

from __future__ import annotations

import base64
import binascii
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Self

from cirrus._closing import Closing
from cirrus.errors import AlreadyClaimed, ConfigError
from cirrus.state.models import (
    ClaimResult,
    EventType,
    FinishUpdate,
    NewEvent,
    QueryPage,
    State,
    StateRecord,
    WorkflowEvent,
    format_time,
    parse_since,
    parse_time,
    split_payload_id,
)
from cirrus.state.rules import check_lease, check_terminal, holds

__all__ = [
    "PERIODS",
    "Clock",
    "EventCount",
    "GroupBy",
    "Period",
    "QueryFilter",
    "StateDB",
    "utc_now",
]

Clock = Callable[[], datetime]
"""Returns the current time as an aware UTC datetime; injected for tests."""

GroupBy = Literal["workflow", "collections_workflow"]

Period = Literal["minute", "hour", "day"]

PERIODS: dict[Period, int] = {"minute": 16, "hour": 13, "day": 10}
"""How many characters of an ISO time name its period (``2024-05-01T12:03``, ...)."""


@dataclass(frozen=True, slots=True)
class EventCount:
    """How many events of one type were recorded in one period."""

    period: str
    """The period's start as ISO text cut to its length: ``2024-05-01T12:03`` (minute),
    ``2024-05-01T12`` (hour), ``2024-05-01`` (day); UTC."""
    event_type: EventType
    count: int
    unique_count: int
    """How many distinct payloads those events were about."""


def utc_now() -> datetime:
    """The current time in UTC (the default clock)."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class QueryFilter:
    """Normalised query filters handed to a backend; ``None`` means no filter."""

    collections_workflow: str | None = None
    workflow: str | None = None
    state: State | None = None
    updated_since: datetime | None = None
    """Keep records with ``updated >= updated_since``."""
    error_prefix: str | None = None
    ascending: bool = False
    """Oldest ``updated`` first (not a filter: the order of the results)."""

    def matches(self, record: StateRecord) -> bool:
        """Whether ``record`` passes every filter (for backends that filter in Python)."""
        return (
            (
                self.collections_workflow is None
                or record.collections_workflow == self.collections_workflow
            )
            and (self.workflow is None or record.workflow == self.workflow)
            and (self.state is None or record.state is self.state)
            and (self.updated_since is None or record.updated >= self.updated_since)
            and (
                self.error_prefix is None
                or (
                    record.last_error is not None
                    and record.last_error.startswith(self.error_prefix)
                )
            )
        )


def encode_token(record: StateRecord) -> str:
    """An opaque continuation token pointing just after ``record``."""
    raw = json.dumps([format_time(record.updated), record.payload_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> tuple[datetime, str]:
    """The ``(updated, payload_id)`` position a token points after.

    Raises:
        ConfigError: the token was not produced by :meth:`StateDB.query`.
    """
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        updated, payload_id = json.loads(raw)
        return parse_time(updated), str(payload_id)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ConfigError(
            f"next_token {token!r} is not a continuation token: pass the next_token "
            "returned by the previous query unchanged"
        ) from exc


class StateDB(Closing, ABC):
    """Payload state records, atomic claims and the workflow event log.

    Subclasses implement the abstract batch methods; every state change must be
    durable before the method returns. All times come from ``clock``.

    Args:
        clock: returns "now" as an aware UTC datetime (tests pass a fake one).
    """

    def __init__(self, *, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or utc_now

    @classmethod
    def from_url(cls, url: str) -> Self:
        """Open the backend a URL names (used by :func:`open_state_db` for plugins).

        Raises:
            ConfigError: the backend does not support URLs.
        """
        raise ConfigError(f"state backend {cls.__name__} cannot be opened from {url!r}")

    def now(self) -> datetime:
        """The clock's time, checked to be aware."""
        value = self.clock()
        if value.tzinfo is None:
            raise ConfigError("the state database clock returned a naive datetime: return UTC")
        return value

    # ------------------------------------------------------------ primitives

    @abstractmethod
    def get_many(self, payload_ids: Sequence[str]) -> dict[str, StateRecord]:
        """The records that exist among ``payload_ids``, keyed by payload id."""

    def check_payload_id(self, payload_id: str) -> None:
        """Refuse an id this backend cannot keep a record for (DynamoDB's key sizes, say).

        Workers ask for each payload they read, so such a payload is rejected alone rather
        than failing every claim of its batch. Most backends keep any id.

        Raises:
            PayloadError: naming the problem and the fix.
        """

    def not_held(self, payload_ids: Sequence[str], owner: str) -> set[str]:
        """Those of ``payload_ids`` whose claim ``owner`` no longer holds.

        A worker asks before it announces what its executions produced: a payload aborted
        (or taken over) meanwhile is no longer its to end. The rule is
        :func:`~cirrus.state.rules.holds`; backends may answer without loading records.
        """
        records = self.get_many(payload_ids)
        return {pid for pid in payload_ids if not holds(records.get(pid), owner)}

    @abstractmethod
    def claim_many(
        self,
        items: Sequence[tuple[str, bool]],
        *,
        owner: str,
        lease_seconds: float,
        events: Sequence[NewEvent] = (),
        start: Mapping[str, str] | None = None,
    ) -> list[ClaimResult]:
        """Claim many payloads in one atomic step; see :mod:`cirrus.state.rules`.

        Args:
            items: ``(payload_id, replace)`` pairs. An id repeated in ``items`` is
                claimed at most once (later copies see the claim: ALREADY_CLAIMED).
            owner: who claims (a worker id); needed to start, renew and finish.
            lease_seconds: the claim lapses after this long unless renewed.
            events: workflow events to record in the same atomic step (all of
                them, whatever the outcomes), so no change is kept without its event.
            start: execution names by payload id, for payloads whose input is already
                stored under that execution: one that has no record yet is started in
                the same step (its record is PROCESSING), as :meth:`start_many` would.
                A payload with a record is only claimed.

        Returns:
            One result per item, in order.

        Raises:
            PayloadError: an id is not a payload id (nothing is claimed).
        """

    @abstractmethod
    def start_many(
        self,
        items: Sequence[tuple[str, str]],
        *,
        owner: str,
        lease_seconds: float,
        events: Sequence[NewEvent] = (),
    ) -> list[StateRecord | AlreadyClaimed]:
        """Batch :meth:`start`: ``(payload_id, execution)`` pairs in one atomic step.

        ``events`` are recorded in the same step, as in :meth:`claim_many`.

        Returns:
            Per item, the PROCESSING record, or the error (not raised) when
            ``owner`` no longer holds that claim.
        """

    @abstractmethod
    def renew(self, payload_ids: Sequence[str], *, owner: str, lease_seconds: float) -> list[str]:
        """Extend the leases ``owner`` holds on ``payload_ids`` (a heartbeat).

        Returns:
            The ids whose claim ``owner`` no longer holds (empty when all renewed);
            their executions should stop.
        """

    @abstractmethod
    def finish_many(
        self, updates: Sequence[FinishUpdate], *, events: Sequence[NewEvent] = ()
    ) -> list[StateRecord | AlreadyClaimed]:
        """Batch :meth:`finish` in one atomic step.

        ``events`` are recorded in the same step, as in :meth:`claim_many`.

        Returns:
            Per update, the finished record, or the error (not raised) when the
            update names an owner that no longer holds the claim.

        Raises:
            StateError: a state is not terminal (nothing is written).
        """

    @abstractmethod
    def release(self, payload_id: str, owner: str) -> bool:
        """Drop a claim that never started (CLAIMED, held by ``owner``).

        The record goes back to its terminal state before the claim, or is deleted
        if the claim created it. Returns whether anything was released.
        """

    @abstractmethod
    def add_events(self, events: Sequence[NewEvent]) -> list[WorkflowEvent]:
        """Record events in one atomic step; returns them with ids and times."""

    @abstractmethod
    def events(
        self, payload_id: str | None = None, *, after_id: int = 0, limit: int | None = None
    ) -> list[WorkflowEvent]:
        """Events with ``id > after_id``, oldest first, for one payload or all.

        Follow the log by passing the last seen ``id`` as ``after_id``.
        """

    @abstractmethod
    def counts(
        self, *, since: timedelta | str | None = None, group_by: GroupBy = "workflow"
    ) -> dict[tuple[str, State], int]:
        """Record counts per ``(workflow, state)`` (or ``(collections_workflow, state)``).

        Args:
            since: only records updated within this age (``timedelta`` or ``"7d"``).
            group_by: ``"workflow"`` or ``"collections_workflow"``.
        """

    def event_counts(self, *, since: datetime, period: Period) -> list[EventCount]:
        """Events recorded at or after ``since``, counted per period and event type.

        This default reads the event log from the start; backends with an index on event
        times answer quicker (SQLite does).
        """
        width = PERIODS[period]
        totals: dict[tuple[str, EventType], list[Any]] = {}
        after = 0
        while True:
            events = self.events(after_id=after, limit=5000)
            if not events:
                break
            after = events[-1].id
            for event in events:
                if event.time < since:
                    continue
                key = (format_time(event.time)[:width], event.event_type)
                entry = totals.setdefault(key, [0, set()])
                entry[0] += 1
                entry[1].add(event.payload_id)
        return [
            EventCount(key[0], key[1], entry[0], len(entry[1]))
            for key, entry in sorted(totals.items())
        ]

    @abstractmethod
    def _select(
        self, where: QueryFilter, after: tuple[datetime, str] | None, limit: int | None
    ) -> list[StateRecord]:
        """Records passing ``where``, ordered by ``(updated, payload_id)`` descending
        (ascending with ``where.ascending``), strictly after the ``after`` position in that
        order, at most ``limit`` of them."""

    @abstractmethod
    def close(self) -> None:
        """Release connections; the object cannot be used afterwards."""

    # ------------------------------------------------------------ conveniences

    def get(self, payload_id: str) -> StateRecord | None:
        """The record of ``payload_id``, or ``None``."""
        return self.get_many([payload_id]).get(payload_id)

    def claim(
        self, payload_id: str, *, owner: str, lease_seconds: float, replace: bool = False
    ) -> ClaimResult:
        """Claim one payload in one atomic conditional write; see :meth:`claim_many`."""
        return self.claim_many([(payload_id, replace)], owner=owner, lease_seconds=lease_seconds)[0]

    def start(
        self, payload_id: str, execution: str, *, owner: str, lease_seconds: float
    ) -> StateRecord:
        """CLAIMED -> PROCESSING: append ``execution`` and renew the lease.

        Raises:
            AlreadyClaimed: ``owner`` does not hold the claim any more.
        """
        result = self.start_many(
            [(payload_id, execution)], owner=owner, lease_seconds=lease_seconds
        )
        return _unwrap(result[0])

    def finish(
        self,
        payload_id: str,
        state: State,
        *,
        owner: str | None,
        error: str | None = None,
        output_url: str | None = None,
    ) -> StateRecord:
        """Move a payload to a terminal state and clear its claim.

        ``last_error`` takes ``error`` when given and keeps its old value otherwise
        (a success does not erase the previous error); ``output_url`` likewise.

        Args:
            owner: the claim holder; ``None`` finishes unconditionally (creating the
                record if needed), for operators and update-state without a claim.

        Raises:
            AlreadyClaimed: ``owner`` is set and does not hold the claim.
            StateError: ``state`` is not SUCCEEDED, FAILED, INVALID or ABORTED.
        """
        update = FinishUpdate(payload_id, state, owner, error, output_url)
        return _unwrap(self.finish_many([update])[0])

    def add_event(
        self,
        payload_id: str,
        event_type: EventType,
        *,
        execution: str | None = None,
        error: str | None = None,
        input_url: str | None = None,
        output_url: str | None = None,
        time: datetime | None = None,
    ) -> WorkflowEvent:
        """Record one workflow event (``time`` defaults to now)."""
        event = NewEvent(payload_id, event_type, execution, error, input_url, output_url, time)
        return self.add_events([event])[0]

    def query(
        self,
        *,
        collections_workflow: str | None = None,
        workflow: str | None = None,
        state: State | str | None = None,
        since: timedelta | str | None = None,
        error_prefix: str | None = None,
        limit: int | None = None,
        next_token: str | None = None,
        ascending: bool = False,
    ) -> QueryPage:
        """Records matching every given filter, newest ``updated`` first.

        Args:
            collections_workflow: ``<collections>_<workflow>``.
            workflow: workflow name, any collections.
            state: a :class:`State` or its name.
            since: updated within this age (``timedelta`` or ``"7d"``/``"24h"``/...).
            error_prefix: ``last_error`` starts with this text.
            limit: page size; ``None`` returns everything in one page.
            next_token: the previous page's ``next_token``.
            ascending: oldest ``updated`` first instead.

        Raises:
            ConfigError: a filter value or the token is not valid.
        """
        if limit is not None and limit < 1:
            raise ConfigError(f"limit must be a positive number of records, not {limit}")
        where = QueryFilter(
            collections_workflow=collections_workflow,
            workflow=workflow,
            state=None if state is None else _state(state),
            updated_since=self._since(since),
            error_prefix=error_prefix,
            ascending=ascending,
        )
        after = None if next_token is None else decode_token(next_token)
        records = self._select(where, after, None if limit is None else limit + 1)
        if limit is not None and len(records) > limit:
            records = records[:limit]
            return QueryPage(records, encode_token(records[-1]))
        return QueryPage(records, None)

    # ------------------------------------------------------------ helpers for backends

    def _since(self, since: timedelta | str | None) -> datetime | None:
        if since is None:
            return None
        age = parse_since(since) if isinstance(since, str) else since
        return self.now() - age

    @staticmethod
    def _check_updates(updates: Sequence[FinishUpdate]) -> None:
        """Raise before any write if an update has a bad id or a non-terminal state."""
        for update in updates:
            split_payload_id(update.payload_id)
            check_terminal(update.payload_id, update.state)

    @staticmethod
    def _check_ids(payload_ids: Sequence[str]) -> None:
        """Raise PayloadError before any write if an id is malformed."""
        for payload_id in payload_ids:
            split_payload_id(payload_id)

    @staticmethod
    def _lease(lease_seconds: float) -> timedelta:
        return check_lease(lease_seconds)


def _state(value: State | str) -> State:
    try:
        return State(value)
    except ValueError:
        raise ConfigError(
            f"state {value!r} is not a state: use one of " + ", ".join(s.value for s in State)
        ) from None


def _unwrap(result: StateRecord | AlreadyClaimed) -> StateRecord:
    if isinstance(result, AlreadyClaimed):
        raise result
    return result
