"""The worker: takes submitted payloads from the queue and sees each one through.

For every batch of messages it does what the process, workflow and update-state functions
do on AWS, in this order, so that a process killed at any point loses nothing:

1. read and validate each payload; record invalid ones under ``tmp/invalid/``;
2. drop duplicate ids within the batch; claim the rest in one atomic step;
3. store each input at ``executions/<payload id>/<execution>/input.json``, mark PROCESSING,
   and log the claims and starts (a new payload's input is stored before the claim, which
   marks it PROCESSING at once);
4. run the workflows (``workers`` at a time);
5. as they finish (what finished while the last wave was being written makes the next
   wave): store outputs, announce published items, queue the next links of each chain;
6. record the terminal states and events, and only then delete the messages.

So a process killed at any moment has only its running executions to redo; Ctrl-C and
SIGTERM write out what finished before the process ends.

A message is deleted only once its payload reached a decision. If a worker dies, its
messages reappear after the lease, its claims lapse, and the next worker resumes them; a
resumed payload whose execution had already written its output is finished from that output
instead of being run again. On the same machine there is no need to wait for the lease: a
worker that finds messages or claims held by a process that no longer exists takes them over
at once (see :mod:`cirrus.runtime.owners`).
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from cirrus._sqlite import is_locked
from cirrus.errors import CirrusError, StateError, StorageError
from cirrus.project import find_project
from cirrus.project.task_resolver import ProjectTaskResolver
from cirrus.queue import Message, WorkQueue, open_queue
from cirrus.runtime.admission import Admission, refusal_text
from cirrus.runtime.claim import Claimer
from cirrus.runtime.collector_pace import fewer_collections
from cirrus.runtime.executor import WorkflowExecutor, terminate_tasks
from cirrus.runtime.heartbeat import Heartbeat
from cirrus.runtime.jobs import Batch, Job
from cirrus.runtime.outcomes import Outcome, PayloadResult
from cirrus.runtime.owners import is_dead_local_owner, new_owner
from cirrus.runtime.publish import Announcer
from cirrus.runtime.read import Reader
from cirrus.runtime.running_marks import RunningMarks, forget_dead, marks_folder, take_over
from cirrus.runtime.signals import terminate_as_interrupt
from cirrus.runtime.snapshots import ExecutionSnapshots
from cirrus.runtime.start import Starter
from cirrus.runtime.steer import AbortWatch
from cirrus.runtime.update_state import UpdateState
from cirrus.runtime.waves import run_in_waves
from cirrus.state import StateDB, open_state_db
from cirrus.task.interrupts import held_interrupts

if TYPE_CHECKING:
    from cirrus.project import Project
    from cirrus.runtime.settings import RuntimeSettings

__all__ = ["Worker"]

logger = logging.getLogger(__name__)


def _takes_start(claim_many: Callable[..., object]) -> bool:
    """Whether a state backend's ``claim_many`` takes ``start`` (one from another
    distribution may predate it)."""
    try:
        parameters = inspect.signature(claim_many).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "start" or p.kind is p.VAR_KEYWORD for p in parameters)


class Worker:
    """Drains the work queue of a project.

    Each step of a batch has a module of its own: :mod:`~cirrus.runtime.read`,
    :mod:`~cirrus.runtime.claim`, :mod:`~cirrus.runtime.start`,
    :mod:`~cirrus.runtime.executor` and :mod:`~cirrus.runtime.update_state`; the
    :mod:`~cirrus.runtime.heartbeat` keeps the batch in hand meanwhile. The worker runs
    them in order and loops over the queue.

    Args:
        settings: where state, queue and stores are, and how many workers to run.
        project: the project whose tasks and workflows run (None: built-ins only).
        on_result: called for every payload that reached a decision (progress reports).
        state_db: the state database to use (default: opened from ``settings``, and
            closed with the worker).
        queue: the work queue to use (default: opened from ``settings``, and closed with
            the worker).
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
        from cirrus.storage import open_store

        self.settings = settings
        self.project = project
        self._owns = (state_db is None, queue is None)
        self.payload_store = open_store(settings.payload_root)
        self.announcer = Announcer.from_settings(settings, dead_letters=self.payload_store)
        backend = state_db or open_state_db(settings.state_db)
        # a backend written before claims could start payloads claims, then starts
        self._claims_start = _takes_start(backend.claim_many)
        # every step below records its events through this one database, which announces
        # them once recorded
        self.db = self.announcer.watch(backend)
        self.queue = queue or open_queue(settings.queue_url)
        found = project if project is not None else find_project()
        resolver = ProjectTaskResolver.for_project(
            found,
            payload_root=settings.payload_root,
            data_root=settings.data_root,
        )
        # executions waiting for a task token survive this worker (resumed by the next)
        self.snapshots = ExecutionSnapshots(settings.state_db)
        self.executor = WorkflowExecutor(
            project,
            resolver,
            time_scale=settings.time_scale,
            keep_history=settings.keep_history,
            payload_root=settings.payload_root,
            url_payload_threshold=settings.url_payload_threshold,
            log_level=settings.log_level,
            max_log_bytes=settings.max_log_bytes,
            snapshots=self.snapshots,
        )
        self.owner = new_owner()
        self._marks: RunningMarks | None = None  # made by run()
        self.on_result = on_result
        self.counts: Counter[Outcome] = Counter()
        lease = settings.lease_seconds
        self.heartbeat = Heartbeat(self.db, self.queue, owner=self.owner, lease_seconds=lease)
        self._io_pool = ThreadPoolExecutor(8, thread_name_prefix="cirrus-io")
        self.update_state = UpdateState(
            db=self.db,
            queue=self.queue,
            payload_store=self.payload_store,
            payload_root=settings.payload_root,
            announcer=self.announcer,
            owner=self.owner,
            io_pool=self._io_pool,
        )
        self.abort_watch = AbortWatch(self.db, self.owner, self._stop_execution)
        self.reader = Reader(
            self.db,
            self.queue,
            settings.payload_root,
            Admission.for_pipeline(settings, found),
        )
        self.claimer = Claimer(self.db, self.queue, owner=self.owner, lease_seconds=lease)
        self.starter = Starter(
            self.db,
            self.update_state,
            self.payload_store,
            owner=self.owner,
            lease_seconds=lease,
            snapshots=self.snapshots,
        )

    # -- the loop --------------------------------------------------------------------------

    def run(
        self,
        *,
        until_empty: bool = True,
        stop: threading.Event | None = None,
        more_coming: Callable[[], bool] | None = None,
    ) -> Counter[Outcome]:
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
        forget_dead(self.queue, is_dead_local_owner)
        workers = max(1, self.settings.workers)
        # a worker killed holding a batch counts a receive against each of its messages;
        # the marks tell whoever takes over which ones were running (the others get their
        # receive back), so a batch can be large and kills still cost only the running ones
        in_hand = max(1, self.settings.batch_size)
        folder = marks_folder(self.queue)
        if folder is not None:
            self._marks = RunningMarks.create(folder, self.owner, slots=workers + 1)
        try:
            with fewer_collections():
                return self._loop(
                    stop, more_coming, until_empty=until_empty, in_hand=in_hand, workers=workers
                )
        finally:
            if self._marks is not None:
                self._marks.close()
                self._marks = None

    def _loop(
        self,
        stop: threading.Event,
        more_coming: Callable[[], bool] | None,
        *,
        until_empty: bool,
        in_hand: int,
        workers: int,
    ) -> Counter[Outcome]:
        isolating = 0  # after a batch failed, messages are taken one at a time for a while
        # the first message is taken alone: one received before means its batch never
        # finished (a task may have killed its process), so messages go one at a time while
        # such ones come back; alone, a message that kills its process again costs only its
        # own receives, until the receive limit moves it to the dead letters
        careful = True
        with (
            terminate_as_interrupt(),
            self.heartbeat.running(),
            ThreadPoolExecutor(workers, thread_name_prefix="cirrus-task") as pool,
        ):
            while not stop.is_set():
                # asked before looking at the queue: input that ends after this look is
                # already in the queue when it is counted below
                coming = more_coming is not None and more_coming()
                one = careful or isolating > 0
                try:
                    messages = self._receive(1 if one else in_hand)
                except CirrusError as err:
                    if not is_locked(err):
                        raise
                    # nothing is held yet: wait for the other writer rather than give up
                    logger.warning("%s; waiting on", err)
                    continue
                if messages:
                    suspects = any(message.receive_count > 1 for message in messages)
                    if one and not isolating and not suspects and in_hand > 1:
                        # a fresh message: the rest of its batch comes with it
                        with contextlib.suppress(CirrusError):  # locked: run what is in hand
                            messages += self._receive(in_hand - 1)
                    careful = suspects
                    try:
                        self.handle(messages, pool)
                    except (StateError, StorageError):
                        raise  # the database or a store failed: no message is to blame
                    except Exception as err:  # noqa: BLE001 - one message must not stop the rest
                        self._set_aside(messages, err)
                        isolating += len(messages) * (self.queue.max_receives or 1)
                    else:
                        isolating = max(0, isolating - len(messages))
                    continue
                visible, in_flight = self.queue.counts()
                if until_empty and visible == 0 and in_flight == 0:
                    if not coming:
                        break
                    stop.wait(0.02)
                    continue
                if in_flight and self.release_dead_receivers():
                    careful = True
                    continue  # a worker of this machine died holding messages: take them now
                stop.wait(0.2)  # others' messages in flight, or hidden until a lease ends
        return self.counts

    def _receive(self, count: int) -> list[Message]:
        return self.queue.receive(
            count, visibility_seconds=self.settings.lease_seconds, owner=self.owner
        )

    def _set_aside(self, messages: Sequence[Message], error: Exception) -> None:
        """Deal with a batch that raised: the messages are tried again one at a time.

        A message that fails alone on its last delivery (the queue's receive limit) moves
        to the dead letters with the error as its reason; any other is made visible again
        at once, its claim ended, so that it comes back (alone) on the next receive.
        """
        reason = refusal_text(error)
        logger.error("a batch of %d message(s) failed: %s", len(messages), reason, exc_info=error)
        limit = self.queue.max_receives
        if len(messages) == 1 and (limit is None or messages[0].receive_count >= limit):
            self.queue.dead_letter(messages, reason)
            self._report(PayloadResult(None, Outcome.DEAD_LETTERED, reason))
            return
        ids = []
        for message in messages:
            try:
                ids.append(self.reader.admission.admit_text(message.body).id)
            except Exception:  # noqa: BLE001, S112 - a payload with no id holds no claim
                continue
        if ids:  # end our own leases, so that the next delivery may claim them again
            self.db.renew(ids, owner=self.owner, lease_seconds=1e-6)
        self.queue.hide(messages, 0)

    def release_dead_receivers(self) -> int:
        """Free at once the messages held by workers of this machine that died."""
        return sum(
            take_over(self.queue, owner)
            for owner in self.queue.receivers()
            if is_dead_local_owner(owner)
        )

    # -- one batch -------------------------------------------------------------------------

    def handle(
        self, messages: Sequence[Message], pool: ThreadPoolExecutor | None = None
    ) -> list[PayloadResult]:
        """See a batch of messages through to their decisions."""
        with self.heartbeat.running():
            return self._handle(messages, pool)

    def _handle(
        self, messages: Sequence[Message], pool: ThreadPoolExecutor | None
    ) -> list[PayloadResult]:
        batch = Batch(report=self._report)
        self.heartbeat.hold(messages=messages)
        try:
            jobs = self.reader.read(messages, batch)
            # new payloads are started with their claim: their inputs are stored first
            first_inputs = self.starter.store_new_inputs(jobs) if self._claims_start else {}
            jobs = self.claimer.claim(jobs, batch, start=first_inputs)
            self.heartbeat.hold(claims=[job.payload_id for job in jobs])
            started = self.starter.start(jobs, batch)
            threads = max(1, self.settings.workers)
            waves = run_in_waves(started, self._run, pool, threads=threads)
            try:
                for finished in waves:
                    self._conclude(finished, batch)
            except BaseException as stopped:
                # start no more executions and wait for the running ones, so that none runs
                # on after its claim stops being renewed; on Ctrl-C or SIGTERM what finished
                # is written out before leaving (after a failed commit, it is not tried again)
                finished = waves.stop()
                if not isinstance(stopped, Exception):
                    self._commit_on_the_way_out(finished, batch)
                raise
            self._conclude([], batch)
        finally:
            self.heartbeat.clear()
        return batch.results

    def _conclude(self, finished: Sequence[Job], batch: Batch) -> None:
        # a wave is concluded and committed whole: a Ctrl-C or SIGTERM meanwhile waits for
        # it (a wave cut in two would lose the jobs handed back but not concluded yet)
        with held_interrupts():
            for job in finished:
                self.update_state.conclude(job, batch)
            self._commit(batch)

    def _commit_on_the_way_out(self, finished: Sequence[Job], batch: Batch) -> None:
        try:
            self._conclude(finished, batch)
        except CirrusError:
            # the commit the interruption cut short may have gone through in part: whatever
            # is missing is redone when the payloads are resumed
            logger.warning("could not write out the finished executions", exc_info=True)

    def _run(self, job: Job) -> None:
        marks = self._marks
        if marks is None or job.message is None:
            self._execute(job)
            return
        slot = marks.mark(job.message.id)  # what a worker runs is known if it is killed
        try:
            self._execute(job)
        finally:
            marks.clear(slot)

    def _execute(self, job: Job) -> None:
        self.abort_watch.running(job.payload_id, job.execution)
        job.outcome = self.executor.execute(job)
        job.aborted_elsewhere = self.abort_watch.ended(job.payload_id)

    def _stop_execution(self, payload_id: str, execution: str) -> None:
        """Abort an execution whose payload was aborted elsewhere, with its task processes."""
        self.executor.abort(execution)
        terminate_tasks(execution)

    def _commit(self, batch: Batch) -> None:
        """Write out what the batch decided so far; its payloads need no more heartbeats."""
        # out of the heartbeat's hands first: a lease is long, a commit short, and a renewal
        # after the end is written would report the claim lost
        self.heartbeat.release(
            claims=[finish.payload_id for finish in batch.finishes], messages=batch.done
        )
        self.update_state.commit(batch)

    def _report(self, result: PayloadResult) -> None:
        self.counts[result.outcome] += 1
        if self.on_result is not None:
            self.on_result(result)

    def close(self) -> None:
        """Stop the I/O threads; close the state database and queue if this worker opened them."""
        self._io_pool.shutdown()
        self.abort_watch.close()
        self.executor.close()
        if self._owns[0]:
            self.db.close()
        if self._owns[1]:
            self.queue.close()
