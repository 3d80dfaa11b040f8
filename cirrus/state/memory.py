"""An in-memory state database: for tests, demos and one-shot runs.

Thread-safe (one lock); nothing survives the process. Open it with
``open_state_db("memory://")`` or ``MemoryStateDB()``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

from cirrus.errors import AlreadyClaimed, StateError
from cirrus.state.base import Clock, GroupBy, QueryFilter, StateDB
from cirrus.state.models import (
    ACTIVE_STATES,
    ClaimResult,
    FinishUpdate,
    NewEvent,
    State,
    StateRecord,
    WorkflowEvent,
)
from cirrus.state.rules import apply_finish, apply_release, apply_renew, apply_start, decide_claim

__all__ = ["MemoryStateDB"]


class MemoryStateDB(StateDB):
    """State records and events in dicts, guarded by a lock.

    Args:
        clock: returns "now" as an aware UTC datetime.
    """

    def __init__(self, *, clock: Clock | None = None) -> None:
        super().__init__(clock=clock)
        self._lock = threading.Lock()
        self._records: dict[str, StateRecord] = {}
        self._events: list[WorkflowEvent] = []
        self._closed = False

    @classmethod
    def from_url(cls, url: str) -> MemoryStateDB:
        return cls()

    def __repr__(self) -> str:
        return f"MemoryStateDB({len(self._records)} records)"

    def _check_open(self) -> None:
        if self._closed:
            raise StateError("the memory state database is closed: open a new one")

    def get_many(self, payload_ids: Sequence[str]) -> dict[str, StateRecord]:
        with self._lock:
            self._check_open()
            return {pid: self._records[pid] for pid in payload_ids if pid in self._records}

    def claim_many(
        self,
        items: Sequence[tuple[str, bool]],
        *,
        owner: str,
        lease_seconds: float,
        events: Sequence[NewEvent] = (),
    ) -> list[ClaimResult]:
        lease = self._lease(lease_seconds)
        self._check_ids([pid for pid, _ in items])
        with self._lock:
            self._check_open()
            now = self.now()
            results = []
            for payload_id, replace in items:
                result = decide_claim(
                    self._records.get(payload_id),
                    payload_id,
                    owner=owner,
                    now=now,
                    lease=lease,
                    replace=replace,
                )
                if result.claimed:
                    self._records[payload_id] = result.record
                results.append(result)
            self._append_events(events, now)
            return results

    def start_many(
        self,
        items: Sequence[tuple[str, str]],
        *,
        owner: str,
        lease_seconds: float,
        events: Sequence[NewEvent] = (),
    ) -> list[StateRecord | AlreadyClaimed]:
        lease = self._lease(lease_seconds)
        with self._lock:
            self._check_open()
            now = self.now()
            results: list[StateRecord | AlreadyClaimed] = []
            for payload_id, execution in items:
                try:
                    record = apply_start(
                        self._records.get(payload_id),
                        payload_id,
                        execution,
                        owner=owner,
                        now=now,
                        lease=lease,
                    )
                except AlreadyClaimed as exc:
                    results.append(exc)
                    continue
                self._records[payload_id] = record
                results.append(record)
            self._append_events(events, now)
            return results

    def renew(self, payload_ids: Sequence[str], *, owner: str, lease_seconds: float) -> list[str]:
        lease = self._lease(lease_seconds)
        lost = []
        with self._lock:
            self._check_open()
            now = self.now()
            for payload_id in payload_ids:
                record = apply_renew(
                    self._records.get(payload_id), owner=owner, now=now, lease=lease
                )
                if record is None:
                    lost.append(payload_id)
                else:
                    self._records[payload_id] = record
        return lost

    def finish_many(
        self, updates: Sequence[FinishUpdate], *, events: Sequence[NewEvent] = ()
    ) -> list[StateRecord | AlreadyClaimed]:
        self._check_updates(updates)
        with self._lock:
            self._check_open()
            now = self.now()
            results: list[StateRecord | AlreadyClaimed] = []
            for update in updates:
                try:
                    record = apply_finish(
                        self._records.get(update.payload_id),
                        update.payload_id,
                        update.state,
                        owner=update.owner,
                        error=update.error,
                        output_url=update.output_url,
                        now=now,
                    )
                except AlreadyClaimed as exc:
                    results.append(exc)
                    continue
                self._records[update.payload_id] = record
                results.append(record)
            self._append_events(events, now)
            return results

    def release(self, payload_id: str, owner: str) -> bool:
        with self._lock:
            self._check_open()
            released, record = apply_release(
                self._records.get(payload_id), owner=owner, now=self.now()
            )
            if released:
                if record is None:
                    del self._records[payload_id]
                else:
                    self._records[payload_id] = record
            return released

    def add_events(self, events: Sequence[NewEvent]) -> list[WorkflowEvent]:
        with self._lock:
            self._check_open()
            return self._append_events(events, self.now())

    def _append_events(self, events: Sequence[NewEvent], now: datetime) -> list[WorkflowEvent]:
        added = []
        for event in events:
            stored = WorkflowEvent(
                id=len(self._events) + 1,
                payload_id=event.payload_id,
                event_type=event.event_type,
                time=event.time or now,
                execution=event.execution,
                error=event.error,
                input_url=event.input_url,
                output_url=event.output_url,
            )
            self._events.append(stored)
            added.append(stored)
        return added

    def events(
        self, payload_id: str | None = None, *, after_id: int = 0, limit: int | None = None
    ) -> list[WorkflowEvent]:
        with self._lock:
            self._check_open()
            # ids are 1-based list positions, so after_id is an index
            found = [
                event
                for event in self._events[max(after_id, 0) :]
                if payload_id is None or event.payload_id == payload_id
            ]
        return found if limit is None else found[:limit]

    def expired(
        self, *, now: datetime | None = None, limit: int | None = None
    ) -> list[StateRecord]:
        with self._lock:
            self._check_open()
            moment = now or self.now()
            found = sorted(
                (
                    record
                    for record in self._records.values()
                    if record.state in ACTIVE_STATES
                    and (record.lease_expires is None or record.lease_expires <= moment)
                ),
                key=lambda record: (record.lease_expires or moment, record.payload_id),
            )
        return found if limit is None else found[:limit]

    def counts(
        self, *, since: timedelta | str | None = None, group_by: GroupBy = "workflow"
    ) -> dict[tuple[str, State], int]:
        updated_since = self._since(since)
        counts: dict[tuple[str, State], int] = {}
        with self._lock:
            self._check_open()
            for record in self._records.values():
                if updated_since is not None and record.updated < updated_since:
                    continue
                group = record.workflow if group_by == "workflow" else record.collections_workflow
                key = (group, record.state)
                counts[key] = counts.get(key, 0) + 1
        return counts

    def _select(
        self, where: QueryFilter, after: tuple[datetime, str] | None, limit: int | None
    ) -> list[StateRecord]:
        with self._lock:
            self._check_open()
            found = [record for record in self._records.values() if where.matches(record)]
        found.sort(key=lambda record: (record.updated, record.payload_id), reverse=True)
        if after is not None:
            found = [r for r in found if (r.updated, r.payload_id) < after]
        return found if limit is None else found[:limit]

    def close(self) -> None:
        with self._lock:
            self._closed = True
