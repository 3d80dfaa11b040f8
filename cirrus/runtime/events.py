"""Workflow events leave the runtime here: a state database that announces what it records.

Events are recorded by several steps (claim, start, update-state, the reader's duplicate
check) through four methods of :class:`~cirrus.state.StateDB`: ``claim_many``,
``start_many`` and ``finish_many`` (their ``events=``) and ``add_events``. Wrapping the
database the steps share makes every one of them announce its events without knowing::

    db = AnnouncingStateDB(open_state_db(url), sink=announcer.announce_events)
    db.finish_many(updates, events=events)   # recorded, then handed to the sink

The sink is called only after the wrapped call returned, so an event is announced only
once the database holds it; a call that raises announces nothing. Events without a time
get the database's time before they are recorded, so the announcement and the record
agree. Anything else is the wrapped database's own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cirrus.state import StateDB

if TYPE_CHECKING:
    from cirrus.errors import AlreadyClaimed
    from cirrus.state import (
        ClaimResult,
        FinishUpdate,
        NewEvent,
        State,
        StateRecord,
        WorkflowEvent,
    )
    from cirrus.state.base import EventCount, GroupBy, Period, QueryFilter

__all__ = ["AnnouncingStateDB", "EventSink"]

EventSink = Callable[[Sequence["NewEvent"]], None]
"""Receives events the database recorded, in the order they were given."""


class AnnouncingStateDB(StateDB):
    """A state database that hands every event it records to a sink.

    Args:
        db: the database that does the work.
        sink: called with the events of each call that recorded some, after it returned.
    """

    def __init__(self, db: StateDB, sink: EventSink) -> None:
        super().__init__(clock=db.clock)
        self.inner = db
        self.sink = sink

    def __getattr__(self, name: str) -> Any:
        # a backend's own extras (DynamoDB's ``ops``, say) stay reachable
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def now(self) -> datetime:
        return self.inner.now()

    def _timed(self, events: Sequence[NewEvent]) -> list[NewEvent]:
        now: datetime | None = None
        timed = []
        for event in events:
            if event.time is None:
                now = now or self.inner.now()
                event = replace(event, time=now)
            timed.append(event)
        return timed

    # -- the four ways events are recorded --------------------------------------------------

    def claim_many(
        self,
        items: Sequence[tuple[str, bool]],
        *,
        owner: str,
        lease_seconds: float,
        events: Sequence[NewEvent] = (),
        start: Mapping[str, str] | None = None,
    ) -> list[ClaimResult]:
        timed = self._timed(events)
        if start:
            result = self.inner.claim_many(
                items, owner=owner, lease_seconds=lease_seconds, events=timed, start=start
            )
        else:  # a backend written before ``start`` existed keeps working
            result = self.inner.claim_many(
                items, owner=owner, lease_seconds=lease_seconds, events=timed
            )
        self._announce(timed)
        return result

    def start_many(
        self,
        items: Sequence[tuple[str, str]],
        *,
        owner: str,
        lease_seconds: float,
        events: Sequence[NewEvent] = (),
    ) -> list[StateRecord | AlreadyClaimed]:
        timed = self._timed(events)
        result = self.inner.start_many(
            items, owner=owner, lease_seconds=lease_seconds, events=timed
        )
        self._announce(timed)
        return result

    def finish_many(
        self, updates: Sequence[FinishUpdate], *, events: Sequence[NewEvent] = ()
    ) -> list[StateRecord | AlreadyClaimed]:
        timed = self._timed(events)
        result = self.inner.finish_many(updates, events=timed)
        self._announce(timed)
        return result

    def add_events(self, events: Sequence[NewEvent]) -> list[WorkflowEvent]:
        timed = self._timed(events)
        result = self.inner.add_events(timed)
        self._announce(timed)
        return result

    def _announce(self, events: list[NewEvent]) -> None:
        if events:
            self.sink(events)

    # -- everything else is the wrapped database's -----------------------------------------

    def get_many(self, payload_ids: Sequence[str]) -> dict[str, StateRecord]:
        return self.inner.get_many(payload_ids)

    def check_payload_id(self, payload_id: str) -> None:
        self.inner.check_payload_id(payload_id)

    def not_held(self, payload_ids: Sequence[str], owner: str) -> set[str]:
        return self.inner.not_held(payload_ids, owner)

    def renew(self, payload_ids: Sequence[str], *, owner: str, lease_seconds: float) -> list[str]:
        return self.inner.renew(payload_ids, owner=owner, lease_seconds=lease_seconds)

    def release(self, payload_id: str, owner: str) -> bool:
        return self.inner.release(payload_id, owner)

    def events(
        self, payload_id: str | None = None, *, after_id: int = 0, limit: int | None = None
    ) -> list[WorkflowEvent]:
        return self.inner.events(payload_id, after_id=after_id, limit=limit)

    def counts(
        self, *, since: timedelta | str | None = None, group_by: GroupBy = "workflow"
    ) -> dict[tuple[str, State], int]:
        return self.inner.counts(since=since, group_by=group_by)

    def event_counts(self, *, since: datetime, period: Period) -> list[EventCount]:
        return self.inner.event_counts(since=since, period=period)

    def _select(
        self, where: QueryFilter, after: tuple[datetime, str] | None, limit: int | None
    ) -> list[StateRecord]:
        return self.inner._select(where, after, limit)

    def close(self) -> None:
        self.inner.close()
