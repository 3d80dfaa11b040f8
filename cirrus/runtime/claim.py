"""Claiming a batch's payloads, so that no two workers ever run the same one at once.

All the jobs of a batch are claimed in one atomic step (see :mod:`cirrus.state.rules` for
what a claim decides). A payload that is not claimed is skipped with an event saying why,
except an earlier delivery of our own message still held by a worker that may have died:
that one is looked at again when the holder's lease ends. A claim held by a dead process of
this machine is taken over at once instead of after its lease.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from cirrus.runtime.jobs import Batch, Job
from cirrus.runtime.outcomes import PayloadResult, already_decided, skipped
from cirrus.runtime.owners import is_dead_local_owner
from cirrus.state import (
    TERMINAL_STATES,
    ClaimOutcome,
    ClaimResult,
    EventType,
    NewEvent,
    State,
)

if TYPE_CHECKING:
    from cirrus.queue import WorkQueue
    from cirrus.state import StateDB, StateRecord

__all__ = ["Claimer"]


class Claimer:
    """Claims the payloads of a batch for one worker.

    Args:
        db: the state database.
        queue: the work queue (messages of payloads held elsewhere are hidden there).
        owner: the worker claiming.
        lease_seconds: how long a claim lasts without renewal.
    """

    def __init__(self, db: StateDB, queue: WorkQueue, *, owner: str, lease_seconds: float) -> None:
        self.db = db
        self.queue = queue
        self.owner = owner
        self.lease_seconds = lease_seconds

    def claim(
        self, jobs: list[Job], batch: Batch, start: Mapping[str, str] | None = None
    ) -> list[Job]:
        """Claim the jobs' payloads; returns the claimed jobs, the batch gathers the rest.

        ``start`` names the executions whose inputs are stored already (see
        :meth:`~cirrus.runtime.start.Starter.store_new_inputs`): a payload among them that
        has no record yet is started with its claim.
        """
        jobs = self._drop_decided(jobs, batch)
        if not jobs:
            return []
        items = [(job.payload_id, job.payload.process_definition.replace) for job in jobs]
        lease = self.lease_seconds
        if start:
            claims = self.db.claim_many(items, owner=self.owner, lease_seconds=lease, start=start)
        else:  # a backend written before ``start`` existed keeps working
            claims = self.db.claim_many(items, owner=self.owner, lease_seconds=lease)
        claims = self._take_over_dead_claims(items, claims)
        claimed = []
        for job, claim in zip(jobs, claims, strict=True):
            job.record = claim.record
            if claim.claimed:
                job.resumed = claim.outcome is ClaimOutcome.RESUMED
                job.started_with_claim = (
                    claim.record.state is State.PROCESSING
                    and start is not None
                    and claim.record.executions == (start.get(job.payload_id),)
                )
                batch.started.append(
                    NewEvent(
                        job.payload_id, EventType.CLAIMED_PROCESSING, time=claim.record.claimed_at
                    )
                )
                claimed.append(job)
                continue
            in_progress = claim.outcome in (
                ClaimOutcome.ALREADY_PROCESSING,
                ClaimOutcome.ALREADY_CLAIMED,
            )
            if in_progress and job.delivery.receive_count > 1:
                # our own earlier delivery, held by a worker that may have died: look again
                # when its lease runs out
                self.queue.hide([job.delivery], self._seconds_until(claim.record))
                continue
            event, outcome = skipped(claim.outcome)
            batch.events.append(NewEvent(job.payload_id, event, time=self.db.now()))
            batch.done.append(job.delivery)
            batch.add_result(PayloadResult(job.payload_id, outcome))
        return claimed

    def _drop_decided(self, jobs: list[Job], batch: Batch) -> list[Job]:
        """Leave out messages delivered again after an earlier delivery already decided them.

        A receiver that dies after recording a payload's end but before deleting its message
        leaves the message to come back; a record finished since the message was first
        received means that delivery was seen through, and running it again would run the
        payload twice (a FAILED one, or a ``replace`` one, would be claimable again).
        """
        again = [job for job in jobs if job.delivery.receive_count > 1]
        if not again:
            return jobs
        records = self.db.get_many([job.payload_id for job in again])
        decided: set[int] = set()
        for job in again:
            record = records.get(job.payload_id)
            if (
                record is not None
                and record.state in TERMINAL_STATES
                and record.updated.timestamp() >= job.delivery.first_received_at
            ):
                decided.add(id(job))
                batch.done.append(job.delivery)
                outcome = already_decided(record.state)
                batch.add_result(PayloadResult(job.payload_id, outcome, record.last_error))
        return [job for job in jobs if id(job) not in decided]

    def _take_over_dead_claims(
        self, items: list[tuple[str, bool]], claims: list[ClaimResult]
    ) -> list[ClaimResult]:
        """Claim again the payloads whose holder is a dead process of this machine."""
        dead: dict[str, list[int]] = {}
        for index, claim in enumerate(claims):
            if not claim.claimed and is_dead_local_owner(claim.record.claim_owner):
                dead.setdefault(str(claim.record.claim_owner), []).append(index)
        if not dead:
            return claims
        for owner, indexes in dead.items():
            # end the dead holder's lease now (the shortest lease the database takes)
            self.db.renew([items[i][0] for i in indexes], owner=owner, lease_seconds=1e-6)
        time.sleep(1e-3)
        retry = [index for indexes in dead.values() for index in indexes]
        again = self.db.claim_many(
            [items[i] for i in retry], owner=self.owner, lease_seconds=self.lease_seconds
        )
        claims = list(claims)
        for index, claim in zip(retry, again, strict=True):
            claims[index] = claim
        return claims

    def _seconds_until(self, record: StateRecord) -> float:
        if record.lease_expires is None:
            return self.lease_seconds
        remaining = (record.lease_expires - self.db.now()).total_seconds()
        return max(0.5, remaining + 0.5)
