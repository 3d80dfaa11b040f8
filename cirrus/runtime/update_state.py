"""update-state: turn an execution's outcome into the payload's end, and write it out.

For each finished execution :meth:`UpdateState.conclude` decides the state (SUCCEEDED,
FAILED with ``"<Error>: <message>"``, INVALID for invalid input, ABORTED: the table is
:func:`cirrus.runtime.outcomes.ending`), and on success gathers the output, the items to
announce and the next links of the chain.
:meth:`UpdateState.commit` then writes a batch's decisions in the order that survives a
crash at any point: outputs, announcements, next links, states and events, and last the
deletion of the messages.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from cirrus.engine import ExecutionStatus
from cirrus.errors import CirrusError, PayloadError
from cirrus.payload import Payload
from cirrus.runtime.executor import ExecutionOutcome
from cirrus.runtime.failures import failure_of
from cirrus.runtime.jobs import Batch, Job, execution_key
from cirrus.runtime.outcomes import Outcome, PayloadResult, ending
from cirrus.runtime.publish import Announcer, Published, PublishLogError
from cirrus.state import FinishUpdate, NewEvent
from cirrus.storage import join_url, load_payload

if TYPE_CHECKING:
    from cirrus.queue import WorkQueue
    from cirrus.state import StateDB
    from cirrus.storage import ObjectStore

__all__ = ["UpdateState"]


def _strict_json(value: object) -> str:
    """JSON text of a workflow's output; NaN and Infinity make the output invalid.

    Raises:
        PayloadError: the output holds NaN or Infinity (not JSON: no subscriber could read
            the published items) or cannot be written as JSON at all.
    """
    try:
        return json.dumps(value, allow_nan=False)
    except (ValueError, TypeError, RecursionError) as err:
        raise PayloadError(
            "output", f"is not JSON ({err})", "write null or a string instead of NaN/Infinity"
        ) from None


class UpdateState:
    """Concludes executions and writes out what a batch decided.

    Args:
        db: the state database.
        queue: the work queue (next links are sent to it, finished messages deleted).
        payload_store: where outputs and histories are stored.
        payload_root: the store's root URL, for the URLs in records and events.
        announcer: where published items are announced.
        owner: the worker whose claims these are; None finishes payloads whoever holds
            them (the update-state function on AWS, which holds no claim).
        io_pool: threads for writing to a remote store several objects at once.
    """

    def __init__(
        self,
        *,
        db: StateDB,
        queue: WorkQueue,
        payload_store: ObjectStore,
        payload_root: str,
        announcer: Announcer,
        owner: str | None,
        io_pool: ThreadPoolExecutor,
    ) -> None:
        self.db = db
        self.queue = queue
        self.payload_store = payload_store
        self.payload_root = payload_root
        self.announcer = announcer
        self.owner = owner
        self._io_pool = io_pool
        # several writers only help where each write waits on a network
        self._parallel_io = payload_root.startswith(("s3:", "http:", "https:"))

    def url(self, key: str) -> str:
        """The URL of a key under the payload root, in the root's own form."""
        return join_url(self.payload_root, key)

    def conclude(self, job: Job, batch: Batch) -> None:
        """Decide how a finished execution ends its payload; the batch gathers the writes."""
        outcome = job.outcome
        assert outcome is not None
        if job.aborted_elsewhere:  # whoever aborted it wrote its end
            if job.message is not None:
                batch.done.append(job.message)
            batch.add_result(PayloadResult(job.payload_id, Outcome.ABORTED, "Aborted"))
            return
        if outcome.history:
            key = execution_key(job.payload_id, job.execution, "history.json")
            batch.writes.append((key, json.dumps(outcome.history).encode()))
        if outcome.log:
            batch.writes.append(
                (execution_key(job.payload_id, job.execution, "log.txt"), outcome.log)
            )
        if outcome.status is ExecutionStatus.SUCCEEDED:
            try:
                self._succeed(job, outcome, batch)
                return
            except CirrusError as err:
                # the workflow's output is wrong, not the submitted input: FAILED, not INVALID
                outcome = ExecutionOutcome(
                    ExecutionStatus.FAILED,
                    error="InvalidOutput",
                    cause=str(err),
                    started=outcome.started,
                    ended=outcome.ended,
                )
        name, message = failure_of(outcome.status, outcome.error, outcome.cause, outcome.history)
        error = f"{name}: {message}" if message else name
        end = ending(outcome.status, name)
        batch.finishes.append(
            FinishUpdate(
                job.payload_id, end.state, owner=self.owner, error=error, ended=outcome.ended
            )
        )
        batch.events.append(
            NewEvent(
                job.payload_id,
                end.event,
                execution=job.execution,
                error=error,
                input_url=job.input_url,
                time=outcome.ended,
            )
        )
        if job.message is not None:
            batch.done.append(job.message)
        batch.add_result(PayloadResult(job.payload_id, end.outcome, error))

    def _succeed(self, job: Job, outcome: ExecutionOutcome, batch: Batch) -> None:
        if outcome.output is None:
            self._succeed_without_output(job, batch)
            return
        output = load_payload(outcome.output)
        model = Payload.from_dict(output, copy_data=False)
        # everything that can fail comes before anything is written or announced
        following = [_strict_json(payload) for payload in model.next_payloads()]
        # the same execution always sends the same links: a resumed update-state sends none
        chain_keys = [f"{job.payload_id}/{job.execution}/{n}" for n in range(len(following))]
        output_key = execution_key(job.payload_id, job.execution, "output.json")
        output_url = self.url(output_key)
        batch.writes.append((output_key, _strict_json(output).encode()))
        batch.announcements.append(
            Published(job.payload_id, model.workflow, job.execution, model.features)
        )
        batch.chained.extend(following)
        batch.chain_keys.extend(chain_keys)
        end = ending(ExecutionStatus.SUCCEEDED)
        batch.finishes.append(
            FinishUpdate(
                job.payload_id,
                end.state,
                owner=self.owner,
                output_url=output_url,
                ended=outcome.ended,
            )
        )
        batch.events.append(
            NewEvent(
                job.payload_id,
                end.event,
                execution=job.execution,
                input_url=job.input_url,
                output_url=output_url,
                time=outcome.ended,
            )
        )
        if job.message is not None:
            batch.done.append(job.message)
        batch.add_result(PayloadResult(job.payload_id, end.outcome, output=output))

    def _succeed_without_output(self, job: Job, batch: Batch) -> None:
        """A workflow that ended with output ``null``: SUCCEEDED, as upstream records it,
        with nothing stored, announced or chained."""
        end = ending(ExecutionStatus.SUCCEEDED)
        batch.finishes.append(FinishUpdate(job.payload_id, end.state, owner=self.owner))
        batch.events.append(
            NewEvent(job.payload_id, end.event, execution=job.execution, input_url=job.input_url)
        )
        if job.message is not None:
            batch.done.append(job.message)
        batch.add_result(PayloadResult(job.payload_id, end.outcome))

    def commit(self, batch: Batch) -> None:
        """Write out what the batch decided so far, then forget it."""
        # outputs, then announcements, then next links, then states: a crash at any point
        # re-runs update-state from the stored output, and the chained payloads' claims make
        # a second submission of the next links harmless
        self.write_all(batch.writes)
        if self.owner is not None and batch.finishes:
            # an execution can end before its worker notices an abort (it looks every
            # second): what was aborted meanwhile is not announced, chained or ended here
            lost = self.db.not_held([f.payload_id for f in batch.finishes], self.owner)
            if lost:
                batch.drop_lost(lost)
        if batch.announcements:
            try:
                self.announcer.announce_many(batch.announcements)
            except PublishLogError as err:
                # a full disk: these payloads end FAILED with the reason, none is left
                # PROCESSING; a rerun announces them once there is room
                batch.fail_announced(f"PublishLogError: {err}")
        if batch.chained:
            self.queue.send_many(batch.chained, keys=batch.chain_keys)
        events = [*batch.started, *batch.events]  # claims not logged yet come first
        if batch.finishes:
            self.db.finish_many(batch.finishes, events=events)
        elif events:
            self.db.add_events(events)
        if batch.done:
            self.queue.delete_many(batch.done)
        batch.committed()

    def write_new(self, writes: Sequence[tuple[str, bytes]]) -> list[bool]:
        """Store the objects not stored yet (never replacing one); True for each written."""
        if not writes:
            return []
        store = self.payload_store
        if len(writes) > 1 and self._parallel_io:

            def write(item: tuple[str, bytes]) -> bool:
                return store.put_new_many([item], content_type="application/json")[0]

            return list(self._io_pool.map(write, writes))
        return store.put_new_many(writes, content_type="application/json")

    def write_all(self, writes: Sequence[tuple[str, bytes]]) -> None:
        """Store objects under the payload root: remote ones several at once, else together."""
        if not writes:
            return
        store = self.payload_store
        if len(writes) > 1 and self._parallel_io:

            def write(item: tuple[str, bytes]) -> None:
                store.put(item[0], item[1], content_type="application/json")

            list(self._io_pool.map(write, writes))
        else:
            store.put_many(writes, content_type="application/json")
