"""The batch methods of :class:`StateDB`, written once for backends with transactions.

A backend that can load records, store records and append events inside one
atomic step (a lock, a database transaction) subclasses
:class:`TransactionalStateDB` and implements those few primitives; the claim,
start, renew, finish and release loops here then apply :mod:`cirrus.state.rules`
the same way for every such backend. A backend built on conditional writes
instead (a key-value store) implements :class:`StateDB` directly.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Generic, TypeVar

from cirrus.state.base import StateDB
from cirrus.state.models import (
    ClaimResult,
    FinishUpdate,
    NewEvent,
    StateRecord,
    WorkflowEvent,
)
from cirrus.state.rules import (
    Held,
    Step,
    apply_release,
    apply_renew,
    claim_step,
    finish_step,
    start_step,
)

__all__ = ["TransactionalStateDB", "number_events"]

Txn = TypeVar("Txn")
"""What a backend's transaction hands its primitives (a connection, a dict)."""

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


def number_events(events: Iterable[NewEvent], last_id: int, now: datetime) -> list[WorkflowEvent]:
    """``events`` as stored: numbered on from ``last_id``, timed ``now`` unless they say."""
    return [
        WorkflowEvent(
            id=last_id + number,
            payload_id=event.payload_id,
            event_type=event.event_type,
            time=event.time or now,
            execution=event.execution,
            error=event.error,
            input_url=event.input_url,
            output_url=event.output_url,
        )
        for number, event in enumerate(events, start=1)
    ]


class TransactionalStateDB(StateDB, Generic[Txn]):
    """A :class:`StateDB` whose batch writes are load, apply the rules, store.

    Subclasses implement :meth:`_transaction`, :meth:`_load`, :meth:`_store`,
    :meth:`_delete` and :meth:`_insert_events`, plus the read methods of
    :class:`StateDB`; ``now`` is read inside the transaction, so waiting for a
    lock never ages a decision.
    """

    # ------------------------------------------------------------ primitives

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[Txn]:
        """One atomic, durable step: everything done with its value commits together."""

    @abstractmethod
    def _load(self, txn: Txn, payload_ids: Iterable[str]) -> dict[str, StateRecord]:
        """The existing records among ``payload_ids`` (a fresh dict the caller may change)."""

    @abstractmethod
    def _store(
        self,
        txn: Txn,
        records: Iterable[StateRecord],
        previous: Mapping[str, StateRecord] | None = None,
    ) -> None:
        """Insert or replace whole records.

        ``previous`` holds the stored records they replace, when the caller loaded them in
        this transaction (a record missing from it is new); None: not known.
        """

    @abstractmethod
    def _delete(self, txn: Txn, payload_id: str) -> None:
        """Remove one record."""

    @abstractmethod
    def _insert_events(
        self, txn: Txn, events: Sequence[NewEvent], now: datetime
    ) -> list[WorkflowEvent]:
        """Append events (see :func:`number_events`); returns them as stored."""

    def _store_leases(self, txn: Txn, records: Sequence[StateRecord]) -> None:
        """Store records whose lease alone changed (a backend may write just that field)."""
        self._store(txn, records)

    # ------------------------------------------------------------ the loop

    def _apply_each(
        self,
        items: Sequence[_Item],
        payload_ids: Sequence[str],
        step: Step[_Item, _Result],
        events: Sequence[NewEvent],
    ) -> list[_Result]:
        """Apply ``step`` to each item and its payload's record, in one transaction.

        ``step(item, current, now)`` returns the item's result and the record to
        store (``None``: nothing changes). Later items see earlier items' records,
        so an id repeated in a batch is decided against its first outcome.
        """
        with self._transaction() as txn:
            now = self.now()  # after the lock: waiting must not age the decision
            current = self._load(txn, payload_ids)
            loaded = dict(current)
            changed: dict[str, StateRecord] = {}
            results: list[_Result] = []
            for item, payload_id in zip(items, payload_ids, strict=True):
                result, record = step(item, current.get(payload_id), now)
                if record is not None:
                    current[payload_id] = changed[payload_id] = record
                results.append(result)
            self._store(txn, changed.values(), loaded)
            self._insert_events(txn, events, now)
        return results

    # ------------------------------------------------------------ StateDB

    def claim_many(
        self,
        items: Sequence[tuple[str, bool]],
        *,
        owner: str,
        lease_seconds: float,
        events: Sequence[NewEvent] = (),
        start: Mapping[str, str] | None = None,
    ) -> list[ClaimResult]:
        lease = self._lease(lease_seconds)
        payload_ids = [payload_id for payload_id, _ in items]
        self._check_ids(payload_ids)
        step = claim_step(owner=owner, lease=lease, start=start)
        return self._apply_each(items, payload_ids, step, events)

    def start_many(
        self,
        items: Sequence[tuple[str, str]],
        *,
        owner: str,
        lease_seconds: float,
        events: Sequence[NewEvent] = (),
    ) -> list[Held]:
        step = start_step(owner=owner, lease=self._lease(lease_seconds))
        return self._apply_each(items, [payload_id for payload_id, _ in items], step, events)

    def finish_many(
        self, updates: Sequence[FinishUpdate], *, events: Sequence[NewEvent] = ()
    ) -> list[Held]:
        self._check_updates(updates)
        payload_ids = [update.payload_id for update in updates]
        return self._apply_each(updates, payload_ids, finish_step(), events)

    def renew(self, payload_ids: Sequence[str], *, owner: str, lease_seconds: float) -> list[str]:
        lease = self._lease(lease_seconds)
        lost: list[str] = []
        with self._transaction() as txn:
            now = self.now()
            current = self._load(txn, payload_ids)
            renewed: list[StateRecord] = []
            for payload_id in dict.fromkeys(payload_ids):
                record = apply_renew(current.get(payload_id), owner=owner, now=now, lease=lease)
                if record is None:
                    lost.append(payload_id)
                else:
                    renewed.append(record)
            self._store_leases(txn, renewed)
        return lost

    def release(self, payload_id: str, owner: str) -> bool:
        with self._transaction() as txn:
            current = self._load(txn, [payload_id]).get(payload_id)
            released, record = apply_release(current, owner=owner, now=self.now())
            if released:
                if record is None:
                    self._delete(txn, payload_id)
                else:
                    self._store(txn, [record])
        return released

    def add_events(self, events: Sequence[NewEvent]) -> list[WorkflowEvent]:
        with self._transaction() as txn:
            return self._insert_events(txn, events, self.now())
