"""Starting the executions of claimed payloads.

Each input is stored at ``executions/<payload id>/<execution>/input.json`` before its
payload is marked PROCESSING, and the claims and starts are logged before any execution
runs. A resumed payload whose execution had already written its output (its worker died
before recording the end) is not run again: it is concluded from that output ("adopted").

A new payload (no record yet) runs its first execution, whose name depends on its id
alone: :meth:`Starter.store_new_inputs` stores those inputs before the claim, and the claim
marks such payloads PROCESSING at once, one write of the state database instead of two.
An input is stored there only where none is, so one of an earlier run is never replaced;
a payload that already had one is claimed and started the usual way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cirrus.engine import ExecutionStatus
from cirrus.runtime.executor import ExecutionOutcome
from cirrus.runtime.jobs import Batch, Job, execution_key, execution_name
from cirrus.runtime.outcomes import Outcome, PayloadResult
from cirrus.state import EventType, NewEvent, State, StateRecord

if TYPE_CHECKING:
    from cirrus.runtime.snapshots import ExecutionSnapshots
    from cirrus.runtime.update_state import UpdateState
    from cirrus.state import StateDB
    from cirrus.storage import ObjectStore

__all__ = ["Starter"]


class Starter:
    """Stores the inputs of claimed jobs and marks their payloads PROCESSING.

    Args:
        db: the state database.
        update_state: where adopted outputs are concluded, and the inputs' storage.
        payload_store: the store under the payload root (to find unrecorded outputs).
        owner: the worker holding the claims.
        lease_seconds: the lease of a started payload.
    """

    def __init__(
        self,
        db: StateDB,
        update_state: UpdateState,
        payload_store: ObjectStore,
        *,
        owner: str,
        lease_seconds: float,
        snapshots: ExecutionSnapshots | None = None,
    ) -> None:
        self.snapshots = snapshots
        """Executions that waited for a task token: a resumed claim goes on with them."""
        self.db = db
        self.update_state = update_state
        self.payload_store = payload_store
        self.owner = owner
        self.lease_seconds = lease_seconds

    def store_new_inputs(self, jobs: list[Job]) -> dict[str, str]:
        """Store the input of each payload's first execution where none is stored yet.

        Returns:
            The execution of each payload whose input this stored, for ``claim_many``'s
            ``start``: those of them that have no record are started with their claim.
        """
        writes = [self._new_execution(job, 1) for job in jobs]
        stored = self.update_state.write_new(writes)
        return {job.payload_id: job.execution for job, new in zip(jobs, stored, strict=True) if new}

    def start(
        self,
        jobs: list[Job],
        batch: Batch,
        launch: Callable[[list[Job], Batch], list[Job]] | None = None,
    ) -> list[Job]:
        """Store the inputs and mark the payloads PROCESSING; returns the jobs to execute.

        Args:
            jobs: claimed jobs.
            batch: gathers events and concluded jobs.
            launch: starts the executions elsewhere (Step Functions) once the inputs are
                stored and before the payloads are marked PROCESSING, so that a crash
                between the two is repaired by the next delivery (the execution's name is
                the same, and starting it again is harmless). Returns the jobs it started;
                it concludes those it could not start in ``batch`` itself.
        """
        to_start: list[Job] = []
        adopted: list[Job] = []
        inputs: list[tuple[str, bytes]] = []
        started: list[Job] = []
        for job in jobs:
            assert job.record is not None
            if job.started_with_claim:  # its input is stored and it is PROCESSING already
                batch.started.append(self._started_event(job, job.record.updated))
                started.append(job)
                continue
            previous = job.record.executions
            if job.resumed and previous and self._unrecorded_output(job.record, previous[-1]):
                # a dead worker finished this execution but not its bookkeeping
                job.execution = previous[-1]
                job.input_url = self.update_state.url(
                    execution_key(job.payload_id, job.execution, "input.json")
                )
                job.outcome = self._adopt(job)
                adopted.append(job)
                continue
            snapshot = self._waiting(job, previous) or self._redrive(previous)
            if snapshot is not None:
                # its execution waited for a task token: it goes on waiting, not again; or
                # `cirrus redrive` asked to run it again from the state that failed
                job.execution, job.snapshot = previous[-1], snapshot
                job.input_url = self.update_state.url(
                    execution_key(job.payload_id, job.execution, "input.json")
                )
                job.input = snapshot["input"]
                job.input_text = json.dumps(job.input)
                to_start.append(job)
                continue
            inputs.append(self._new_execution(job, len(previous) + 1))
            to_start.append(job)
        if to_start:
            started += self._mark_started(to_start, inputs, batch, launch)
        if started:
            # claims and starts are in the log before any execution runs, long ones
            # included (with nothing to run, they go with the batch's commit)
            self.db.add_events(batch.started)
            batch.started.clear()
        for job in adopted:
            self.update_state.conclude(job, batch)
        return started

    def _new_execution(self, job: Job, number: int) -> tuple[str, bytes]:
        """Make ``job`` the payload's ``number``-th execution; returns its input to store."""
        job.execution = execution_name(job.payload_id, number)
        key = execution_key(job.payload_id, job.execution, "input.json")
        job.input_url = self.update_state.url(key)
        job.input = dict(job.payload.as_dict())
        job.input["id"] = job.payload_id
        job.input_text = json.dumps(job.input)
        return key, job.input_text.encode()

    def _mark_started(
        self,
        jobs: list[Job],
        inputs: list[tuple[str, bytes]],
        batch: Batch,
        launch: Callable[[list[Job], Batch], list[Job]] | None,
    ) -> list[Job]:
        self.update_state.write_all(inputs)
        if launch is not None:
            jobs = launch(jobs, batch)
            if not jobs:
                return []
        results = self.db.start_many(
            [(job.payload_id, job.execution) for job in jobs],
            owner=self.owner,
            lease_seconds=self.lease_seconds,
        )
        started = []
        lost = []
        for job, result in zip(jobs, results, strict=True):
            if isinstance(result, StateRecord):
                started.append(job)
                batch.started.append(self._started_event(job, result.updated))
            else:  # the claim lapsed before the start: the message will come back ...
                lost.append(job)
        if lost:
            self._drop_aborted(lost, batch)
        return started

    @staticmethod
    def _started_event(job: Job, time: datetime) -> NewEvent:
        return NewEvent(
            job.payload_id,
            EventType.STARTED_PROCESSING,
            time=time,
            execution=job.execution,
            input_url=job.input_url,
        )

    def _drop_aborted(self, lost: list[Job], batch: Batch) -> None:
        """... unless the claim was lost to ``cirrus abort``: then the payload is decided."""
        records = self.db.get_many([job.payload_id for job in lost])
        for job in lost:
            record = records.get(job.payload_id)
            if record is not None and record.state is State.ABORTED and job.message is not None:
                batch.done.append(job.message)
                batch.add_result(PayloadResult(job.payload_id, Outcome.ABORTED, record.last_error))

    def _waiting(self, job: Job, previous: tuple[str, ...]) -> dict[str, Any] | None:
        if self.snapshots is None or not job.resumed or not previous:
            return None
        return self.snapshots.resumable(previous[-1])

    def _redrive(self, previous: tuple[str, ...]) -> dict[str, Any] | None:
        if self.snapshots is None or not previous:
            return None
        return self.snapshots.redrive(previous[-1])

    def _unrecorded_output(self, record: StateRecord, execution: str) -> bool:
        """Whether ``execution`` wrote its output but its success was never recorded.

        A recorded success points ``output_url`` at that output: then the claim being resumed
        is a later rerun (``replace``) that never started, and must run, not adopt.
        """
        key = execution_key(record.payload_id, execution, "output.json")
        return record.output_url != self.update_state.url(key) and self.payload_store.exists(key)

    def _adopt(self, job: Job) -> ExecutionOutcome:
        key = execution_key(job.payload_id, job.execution, "output.json")
        output = json.loads(self.payload_store.get(key))
        return ExecutionOutcome(ExecutionStatus.SUCCEEDED, output=output)
