"""The worker: takes submitted payloads from the queue and sees each one through.

For every batch of messages it does what the process, workflow and update-state functions
do on AWS, in this order, so that a process killed at any point loses nothing:

1. read and validate each payload; record invalid ones under ``tmp/invalid/``;
2. drop duplicate ids within the batch; claim the rest in one atomic step;
3. store each input at ``executions/<payload id>/<execution>/input.json``, mark PROCESSING,
   and log the claims and starts;
4. run the workflows (``workers`` at a time);
5. as they finish (in waves about a second apart): store outputs, announce published
   items, queue the next links of each chain;
6. record the terminal states and events, and only then delete the messages.

A message is deleted only once its payload reached a decision. If a worker dies, its
messages reappear after the lease, its claims lapse, and the next worker resumes them; a
resumed payload whose execution had already written its output is finished from that output
instead of being run again. On the same machine there is no need to wait for the lease: a
worker that finds messages or claims held by a process that no longer exists takes them over
at once (see :mod:`cirrus.runtime.owners`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from typing import TYPE_CHECKING, Any

from cirrus.errors import (
    CirrusError,
    ConfigError,
    NotFound,
    PathEscapeError,
    StorageError,
)
from cirrus.payload import Payload, load_payload, parse_payload_id
from cirrus.project import find_project
from cirrus.project.task_resolver import ProjectTaskResolver
from cirrus.queue import Message, WorkQueue, open_queue
from cirrus.runtime.executor import ExecutionOutcome, WorkflowExecutor
from cirrus.runtime.intake import keep_invalid
from cirrus.runtime.jobs import Batch, Job, PayloadResult, execution_key, execution_name
from cirrus.runtime.owners import is_dead_local_owner, new_owner
from cirrus.runtime.publish import Announcer
from cirrus.runtime.update_state import UpdateState
from cirrus.runtime.waves import run_in_waves
from cirrus.state import (
    ClaimOutcome,
    ClaimResult,
    EventType,
    NewEvent,
    State,
    StateDB,
    StateRecord,
    open_state_db,
)

if TYPE_CHECKING:
    from cirrus.project import Project
    from cirrus.runtime.settings import RuntimeSettings

__all__ = ["PayloadResult", "Worker", "execution_name"]

logger = logging.getLogger(__name__)

_RETRY_UNREADABLE_SECONDS = 30.0
_MAX_READ_ATTEMPTS = 5  # then an unreadable reference is rejected, like an SQS maxReceiveCount

_TERMINAL = frozenset({State.SUCCEEDED, State.FAILED, State.INVALID, State.ABORTED})
_SKIP_EVENTS = {
    ClaimOutcome.ALREADY_SUCCEEDED: EventType.ALREADY_SUCCEEDED,
    ClaimOutcome.ALREADY_INVALID: EventType.ALREADY_INVALID,
    ClaimOutcome.ALREADY_PROCESSING: EventType.ALREADY_PROCESSING,
    ClaimOutcome.ALREADY_CLAIMED: EventType.ALREADY_CLAIMED,
}


def _escaped_length(text: str) -> int:
    """Length of JSON text once escaped again, as it sits inside an event envelope.

    Exact for ASCII text; counts each other character as a six-character escape, as
    ``json.dumps`` writes them.
    """
    extra = text.count('"') + text.count("\\")
    if not text.isascii():
        extra += sum(5 for character in text if ord(character) > 127)
    return len(text) + 2 + extra


class Worker:
    """Drains the work queue of a project.

    Args:
        settings: where state, queue and stores are, and how many workers to run.
        project: the project whose tasks and workflows run (None: built-ins only).
        on_result: called for every payload that reached a decision (progress reports).
    """

    def __init__(
        self,
        settings: RuntimeSettings,
        project: Project | None = None,
        *,
        on_result: Callable[[PayloadResult], None] | None = None,
        state_db: StateDB | None = None,
        queue: WorkQueue | None = None,
    ) -> None:
        self.settings = settings
        self.project = project
        self._owns = (state_db is None, queue is None)
        self.db = state_db or open_state_db(settings.state_db)
        self.queue = queue or open_queue(settings.queue)
        resolver = ProjectTaskResolver.for_project(
            project if project is not None else find_project(),
            payload_root=settings.payload_root,
            data_root=settings.data_root,
        )
        self.executor = WorkflowExecutor(
            project, resolver, time_scale=settings.time_scale, keep_history=settings.keep_history
        )
        announcer = Announcer(settings.publish_log, settings.publish_webhook)
        from cirrus.storage import open_store

        self.payload_store = open_store(settings.payload_root)
        self.owner = new_owner()
        self.on_result = on_result
        self.counts: Counter[str] = Counter()
        # what the heartbeat keeps alive: the batch in hand (one batch at a time per worker)
        self._in_flight_claims: set[str] = set()
        self._in_flight_messages: dict[int, Message] = {}
        self._heartbeat_stop: threading.Event | None = None
        self._io_pool = ThreadPoolExecutor(8, thread_name_prefix="cirrus-io")
        self.update_state = UpdateState(
            db=self.db,
            queue=self.queue,
            payload_store=self.payload_store,
            payload_root=settings.payload_root,
            announcer=announcer,
            owner=self.owner,
            io_pool=self._io_pool,
        )
        self._in_flight_lock = threading.Lock()

    # -- the loop --------------------------------------------------------------------------

    def run(
        self,
        *,
        until_empty: bool = True,
        stop: threading.Event | None = None,
        more_coming: Callable[[], bool] | None = None,
    ) -> Counter[str]:
        """Process messages until the queue is empty (or forever, until ``stop`` is set).

        Args:
            until_empty: stop once nothing is queued or in flight.
            stop: set to stop after the batch in hand.
            more_coming: while it answers True, an empty queue is waited on, not left
                (payloads are still being submitted).

        Returns:
            How many payloads ended each way.
        """
        stop = stop or threading.Event()
        self.release_dead_receivers()
        workers = max(1, self.settings.workers)
        with (
            self._heartbeat_running(),
            ThreadPoolExecutor(workers, thread_name_prefix="cirrus-task") as pool,
        ):
            while not stop.is_set():
                # asked before looking at the queue: input that ends after this look is
                # already in the queue when it is counted below
                coming = more_coming is not None and more_coming()
                messages = self.queue.receive(
                    self.settings.batch_size,
                    visibility_seconds=self.settings.lease_seconds,
                    owner=self.owner,
                )
                if messages:
                    self.handle(messages, pool if workers > 1 else None)
                    continue
                visible, in_flight = self.queue.counts()
                if until_empty and visible == 0 and in_flight == 0:
                    if not coming:
                        break
                    stop.wait(0.02)
                    continue
                if in_flight and self.release_dead_receivers():
                    continue  # a worker of this machine died holding messages: take them now
                stop.wait(0.2)  # others' messages in flight, or hidden until a lease ends
        return self.counts

    @contextmanager
    def _heartbeat_running(self) -> Iterator[None]:
        """Keep renewing the claims and messages of the batch in hand (once per worker)."""
        if self._heartbeat_stop is not None:
            yield
            return
        stop = self._heartbeat_stop = threading.Event()
        thread = threading.Thread(target=self._heartbeat, args=(stop,), daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            self._heartbeat_stop = None

    def _heartbeat(self, stop: threading.Event) -> None:
        """Renew leases and message visibility so that long executions keep their claim."""
        interval = self.settings.lease_seconds / 3
        while not stop.wait(interval):
            # renewing under the lock: a payload being committed meanwhile is either renewed
            # before its end is written or no longer in the set (see _commit)
            with self._in_flight_lock:
                claims = list(self._in_flight_claims)
                messages = list(self._in_flight_messages.values())
                try:
                    if claims:
                        lost = self.db.renew(
                            claims, owner=self.owner, lease_seconds=self.settings.lease_seconds
                        )
                        if lost:
                            logger.warning(
                                "lost the claim on %d payload(s): %s", len(lost), lost[:5]
                            )
                    if messages:
                        self.queue.hide(messages, self.settings.lease_seconds)
                except CirrusError:
                    # a busy database must not end the heartbeat: try again next beat
                    logger.warning("could not renew leases", exc_info=True)

    def release_dead_receivers(self) -> int:
        """Free at once the messages held by workers of this machine that died."""
        return sum(
            self.queue.release(owner)
            for owner in self.queue.receivers()
            if is_dead_local_owner(owner)
        )

    # -- one batch -------------------------------------------------------------------------

    def handle(
        self, messages: Sequence[Message], pool: ThreadPoolExecutor | None = None
    ) -> list[PayloadResult]:
        """See a batch of messages through to their decisions."""
        with self._heartbeat_running():
            return self._handle(messages, pool)

    def _handle(
        self, messages: Sequence[Message], pool: ThreadPoolExecutor | None
    ) -> list[PayloadResult]:
        batch = Batch(report=self._report)
        with self._in_flight_lock:
            self._in_flight_messages.update({message.id: message for message in messages})
        try:
            jobs = self._claim(self._read(messages, batch), batch)
            with self._in_flight_lock:
                self._in_flight_claims.update(job.payload_id for job in jobs)
            started = self._start(jobs, batch)
            threads = max(1, self.settings.workers)
            # closing the waves (on any error) starts no more executions and waits for the
            # running ones, so that none runs on after its claim stops being renewed
            with closing(run_in_waves(started, self._run, pool, threads=threads)) as waves:
                for finished in waves:
                    for job in finished:
                        self.update_state.conclude(job, batch)
                    self._commit(batch)
            self._commit(batch)
        finally:
            with self._in_flight_lock:
                self._in_flight_claims.clear()
                self._in_flight_messages.clear()
        return batch.results

    def _read(self, messages: Sequence[Message], batch: Batch) -> list[Job]:
        jobs: list[Job] = []
        seen: set[str] = set()
        for message in messages:
            try:
                data = load_payload(json.loads(message.body))
                payload = Payload.from_dict(data, copy_data=False)
                payload_id = payload.id
                parse_payload_id(payload_id)  # an explicit id must have the id's shape
                # every file of the payload lives under this key: ids must not climb out
                execution_key(payload_id, "x", "input.json")
            except StorageError as err:
                permanent = isinstance(err, NotFound | PathEscapeError | ConfigError)
                if permanent or message.receive_count >= _MAX_READ_ATTEMPTS:
                    self._reject(message, err, batch)
                else:
                    # a referenced payload could not be read just now: try it again later
                    logger.warning("cannot read a submitted payload yet: %s", err)
                    self.queue.hide([message], _RETRY_UNREADABLE_SECONDS)
                continue
            except (CirrusError, ValueError) as err:
                self._reject(message, err, batch)
                continue
            if payload_id in seen:
                batch.events.append(
                    NewEvent(payload_id, EventType.DUPLICATE_ID_ENCOUNTERED, time=self.db.now())
                )
                batch.done.append(message)
                batch.add_result(PayloadResult(payload_id, "duplicate"))
                continue
            seen.add(payload_id)
            jobs.append(Job(message, payload, payload_id))
        return jobs

    def _reject(self, message: Message, error: Exception, batch: Batch) -> None:
        """Keep an unreadable or invalid payload under tmp/invalid/ with the reason."""
        reason = str(error)
        url = keep_invalid(self.settings.payload_root, reason, message.body)
        logger.warning("invalid payload stored at %s: %s", url, reason)
        batch.done.append(message)
        batch.add_result(PayloadResult(None, "rejected", f"{reason} (kept at {url})"))

    def _claim(self, jobs: list[Job], batch: Batch) -> list[Job]:
        jobs = self._drop_decided(jobs, batch)
        if not jobs:
            return []
        items = [(job.payload_id, job.payload.process_definition.replace) for job in jobs]
        claims = self.db.claim_many(
            items, owner=self.owner, lease_seconds=self.settings.lease_seconds
        )
        claims = self._take_over_dead_claims(items, claims)
        claimed = []
        for job, claim in zip(jobs, claims, strict=True):
            job.record = claim.record
            if claim.claimed:
                job.resumed = claim.outcome is ClaimOutcome.RESUMED
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
            if in_progress and job.message.receive_count > 1:
                # our own earlier delivery, held by a worker that may have died: look again
                # when its lease runs out
                self.queue.hide([job.message], self._seconds_until(claim.record))
                continue
            batch.events.append(
                NewEvent(job.payload_id, _SKIP_EVENTS[claim.outcome], time=self.db.now())
            )
            batch.done.append(job.message)
            outcome = "already_processing" if in_progress else claim.outcome.value.lower()
            batch.add_result(PayloadResult(job.payload_id, outcome))
        return claimed

    def _drop_decided(self, jobs: list[Job], batch: Batch) -> list[Job]:
        """Leave out messages delivered again after an earlier delivery already decided them.

        A receiver that dies after recording a payload's end but before deleting its message
        leaves the message to come back; a record finished since the message was first
        received means that delivery was seen through, and running it again would run the
        payload twice (a FAILED one, or a ``replace`` one, would be claimable again).
        """
        again = [job for job in jobs if job.message.receive_count > 1]
        if not again:
            return jobs
        records = self.db.get_many([job.payload_id for job in again])
        decided: set[int] = set()
        for job in again:
            record = records.get(job.payload_id)
            if (
                record is not None
                and record.state in _TERMINAL
                and record.updated.timestamp() >= job.message.first_received_at
            ):
                decided.add(id(job))
                batch.done.append(job.message)
                label = f"already_{record.state.value.lower()}"
                batch.add_result(PayloadResult(job.payload_id, label, record.last_error))
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
            [items[i] for i in retry], owner=self.owner, lease_seconds=self.settings.lease_seconds
        )
        claims = list(claims)
        for index, claim in zip(retry, again, strict=True):
            claims[index] = claim
        return claims

    def _seconds_until(self, record: StateRecord) -> float:
        if record.lease_expires is None:
            return self.settings.lease_seconds
        remaining = (record.lease_expires - self.db.now()).total_seconds()
        return max(0.5, remaining + 0.5)

    def _start(self, jobs: list[Job], batch: Batch) -> list[Job]:
        """Store the inputs and mark the payloads PROCESSING; returns the jobs to execute.

        A resumed payload whose last execution already wrote its output is not run again:
        it is concluded from that output.
        """
        to_start: list[Job] = []
        adopted: list[Job] = []
        inputs: list[tuple[str, bytes]] = []
        for job in jobs:
            assert job.record is not None
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
            job.execution = execution_name(job.payload_id, len(previous) + 1)
            key = execution_key(job.payload_id, job.execution, "input.json")
            job.input_url = self.update_state.url(key)
            job.input = dict(job.payload.as_dict())
            job.input["id"] = job.payload_id
            job.input_text = json.dumps(job.input)
            inputs.append((key, job.input_text.encode()))
            to_start.append(job)
        started = self._mark_started(to_start, inputs, batch) if to_start else []
        for job in adopted:
            self.update_state.conclude(job, batch)
        return started

    def _mark_started(
        self, jobs: list[Job], inputs: list[tuple[str, bytes]], batch: Batch
    ) -> list[Job]:
        self.update_state.write_all(inputs)
        results = self.db.start_many(
            [(job.payload_id, job.execution) for job in jobs],
            owner=self.owner,
            lease_seconds=self.settings.lease_seconds,
        )
        started = []
        for job, result in zip(jobs, results, strict=True):
            if isinstance(result, StateRecord):
                started.append(job)
                batch.started.append(
                    NewEvent(
                        job.payload_id,
                        EventType.STARTED_PROCESSING,
                        time=result.updated,
                        execution=job.execution,
                        input_url=job.input_url,
                    )
                )
            # else: the claim lapsed before the start; the message will come back
        # claims and starts are in the log before any execution runs, long ones included
        self.db.add_events(batch.started)
        batch.started.clear()
        return started

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
        return ExecutionOutcome("SUCCEEDED", output=output)

    def _commit(self, batch: Batch) -> None:
        """Write out what the batch decided so far; its payloads need no more heartbeats."""
        # out of the heartbeat's hands first: a lease is long, a commit short, and a renewal
        # after the end is written would report the claim lost
        with self._in_flight_lock:
            self._in_flight_claims.difference_update(f.payload_id for f in batch.finishes)
            for message in batch.done:
                self._in_flight_messages.pop(message.id, None)
        self.update_state.commit(batch)

    def _run(self, job: Job) -> None:
        job.outcome = self._execute(job)

    def _report(self, result: PayloadResult) -> None:
        self.counts[result.outcome] += 1
        if self.on_result is not None:
            self.on_result(result)

    def _execute(self, job: Job) -> ExecutionOutcome:
        data = job.input  # as stored by _start
        execution_input: Any = data
        text = job.input_text
        if _escaped_length(text) > self.settings.url_payload_threshold:
            from cirrus.storage import join_url, write_bytes

            url = join_url(
                self.settings.payload_root, "tmp", "oversized", f"{uuid.uuid4().hex}.json"
            )
            write_bytes(url, text.encode(), content_type="application/json")
            execution_input = {"url": url}
        try:
            return self.executor.run(job.payload.workflow, execution_input, job.execution)
        except Exception as err:  # an engine bug must not take the worker down
            logger.exception("execution %s of %s crashed", job.execution, job.payload_id)
            return ExecutionOutcome("FAILED", error=type(err).__name__, cause=str(err))
        finally:
            if execution_input is not data:  # the by-reference copy is only for this run
                from cirrus.storage import delete

                delete(execution_input["url"])

    def close(self) -> None:
        """Stop the I/O threads; close the state database and queue if this worker opened them."""
        self._io_pool.shutdown()
        if self._owns[0]:
            self.db.close()
        if self._owns[1]:
            self.queue.close()
