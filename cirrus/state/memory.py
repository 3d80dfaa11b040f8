"""An in-memory state database: for tests, demos and one-shot runs.

Thread-safe (one lock); nothing survives the process. Open it with
``open_state_db("memory://")`` or ``MemoryStateDB()``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

from cirrus.errors import StateError
from cirrus.state._transactional import TransactionalStateDB, number_events
from cirrus.state.base import Clock, GroupBy, QueryFilter
from cirrus.state.models import (
    NewEvent,
    State,
    StateRecord,
    WorkflowEvent,
)

__all__ = ["MemoryStateDB"]


class MemoryStateDB(TransactionalStateDB[dict[str, StateRecord]]):
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
        with self._transaction() as records:
            return self._load(records, payload_ids)

    @contextmanager
    def _transaction(self) -> Iterator[dict[str, StateRecord]]:
        with self._lock:
            self._check_open()
            yield self._records

    def _load(
        self, txn: dict[str, StateRecord], payload_ids: Iterable[str]
    ) -> dict[str, StateRecord]:
        # a copy: a batch that fails half way leaves the records as they were
        return {pid: txn[pid] for pid in payload_ids if pid in txn}

    def _store(
        self,
        txn: dict[str, StateRecord],
        records: Iterable[StateRecord],
        previous: Mapping[str, StateRecord] | None = None,
    ) -> None:
        txn.update((record.payload_id, record) for record in records)

    def _delete(self, txn: dict[str, StateRecord], payload_id: str) -> None:
        del txn[payload_id]

    def _insert_events(
        self, txn: dict[str, StateRecord], events: Sequence[NewEvent], now: datetime
    ) -> list[WorkflowEvent]:
        # ids are 1-based list positions (events() relies on it)
        added = number_events(events, len(self._events), now)
        self._events.extend(added)
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
        found.sort(
            key=lambda record: (record.updated, record.payload_id), reverse=not where.ascending
        )
        if after is not None:
            found = [
                r
                for r in found
                if (
                    (r.updated, r.payload_id) > after
                    if where.ascending
                    else (r.updated, r.payload_id) < after
                )
            ]
        return found if limit is None else found[:limit]

    def close(self) -> None:
        with self._lock:
            self._closed = True
