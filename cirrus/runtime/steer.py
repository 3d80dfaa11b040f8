"""Steering a running pipeline: rerun payloads, abort executions, purge the queue.

These are what ``cirrus abort``, ``cirrus purge`` and the dashboard's write actions do::

    rerun(pipeline, ["c/workflow-w/a"])        # queued again with replace: true
    abort(pipeline.db, "c/workflow-w/a")        # ABORTED now; its worker stops it
    plan = plan_purge(pipeline.queue, "cog")    # what would go
    plan.confirm()                              # ... and now it has gone (plan.cancel() keeps it)

An abort works across processes: it writes ABORTED into the state database at once (the
claim is taken from the worker), and the worker running the execution notices within about a
second (:class:`AbortWatch`), stops the execution at its next state and terminates the task
processes it started.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cirrus.errors import CirrusError, NotFound, StateError
from cirrus.runtime.jobs import execution_key
from cirrus.state import ACTIVE_STATES, EventType, FinishUpdate, NewEvent, State

if TYPE_CHECKING:
    from cirrus.queue import Message, WorkQueue
    from cirrus.runtime.pipeline import Pipeline, SubmitReport
    from cirrus.state import StateDB, StateRecord

__all__ = [
    "ABORT_ERROR",
    "AbortWatch",
    "PurgePlan",
    "abort",
    "input_payload",
    "plan_purge",
    "rerun",
]

logger = logging.getLogger(__name__)

ABORT_ERROR = "Aborted"
"""The error name an aborted payload's ``last_error`` starts with."""

WATCH_SECONDS = 1.0
"""How often a worker looks for aborts of the payloads it runs."""


def input_payload(pipeline: Pipeline, record: StateRecord, *, replace: bool) -> dict[str, Any]:
    """The input payload of a record's last execution (with ``replace`` set when asked).

    Raises:
        NotFound: the payload never started an execution, or its input is gone.
    """
    from cirrus.storage import join_url, read_json

    if not record.executions:
        raise NotFound(f"payload {record.payload_id!r} has no execution, so no stored input")
    key = execution_key(record.payload_id, record.executions[-1], "input.json")
    payload: dict[str, Any] = read_json(join_url(pipeline.settings.payload_root, key))
    if replace:
        process = payload.get("process")
        if isinstance(process, list) and process and isinstance(process[0], dict):
            process[0]["replace"] = True
        elif isinstance(process, dict):
            process["replace"] = True
    return payload


def rerun(pipeline: Pipeline, payload_ids: Iterable[str]) -> SubmitReport:
    """Queue the stored inputs of these payloads again, with ``replace: true``.

    Raises:
        NotFound: an id has no record or no stored input (nothing is queued then).
    """
    payloads = []
    for payload_id in payload_ids:
        record = pipeline.db.get(payload_id)
        if record is None:
            raise NotFound(f"no state record for payload {payload_id!r}")
        payloads.append(input_payload(pipeline, record, replace=True))
    return pipeline.submit(payloads)


def abort(db: StateDB, payload_id: str, *, cause: str = "aborted by an operator") -> StateRecord:
    """Mark a CLAIMED or PROCESSING payload ABORTED now; its worker stops the execution.

    Raises:
        NotFound: no record has that id.
        StateError: the payload is not running (the message says its state).
    """
    record = db.get(payload_id)
    if record is None:
        raise NotFound(
            f"no state record for payload {payload_id!r}; check the id with cirrus query"
        )
    if record.state not in ACTIVE_STATES:
        raise StateError(
            f"payload {payload_id!r} is {record.state.value}, not running: only CLAIMED or "
            "PROCESSING payloads can be aborted"
        )
    error = f"{ABORT_ERROR}: {cause}"
    execution = record.executions[-1] if record.state is State.PROCESSING else None
    (finished,) = db.finish_many(
        [FinishUpdate(payload_id, State.ABORTED, owner=None, error=error)],
        events=[NewEvent(payload_id, EventType.ABORTED, execution=execution, error=error)],
    )
    assert not isinstance(finished, Exception)  # owner=None always finishes
    return finished


class AbortWatch:
    """Watches the payloads a worker runs and stops those aborted from elsewhere.

    Every :data:`WATCH_SECONDS` it reads the records of the running payloads; one that is no
    longer held by this worker (ABORTED by ``cirrus abort``, or taken over) has its
    execution aborted through ``stop(payload_id, execution)``.

    Args:
        db: the state database.
        owner: the worker.
        stop: aborts one running execution (the executor's).
    """

    def __init__(
        self,
        db: StateDB,
        owner: str,
        stop: Callable[[str, str], None],
        interval: float = WATCH_SECONDS,
    ) -> None:
        self.db = db
        self.owner = owner
        self.stop = stop
        self.interval = interval
        self._running: dict[str, str] = {}  # payload id -> execution
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self.aborted: set[str] = set()
        """Running payloads this watch stopped (their end was written by whoever aborted
        them); :meth:`ended` tells and forgets."""

    def running(self, payload_id: str, execution: str) -> None:
        """Watch this payload while its execution runs."""
        with self._lock:
            self._running[payload_id] = execution
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="cirrus-abort-watch", daemon=True
                )
                self._thread.start()

    def ended(self, payload_id: str) -> bool:
        """Stop watching a payload; returns whether it was aborted from elsewhere meanwhile."""
        with self._lock:
            self._running.pop(payload_id, None)
            if payload_id in self.aborted:
                self.aborted.discard(payload_id)
                return True
            return False

    def close(self) -> None:
        """Stop the watching thread."""
        self._done.set()
        thread = self._thread
        if thread is not None:
            thread.join()

    def _watch(self) -> None:
        while not self._done.wait(self.interval):
            with self._lock:
                running = dict(self._running)
            if running:
                self.check(running)

    def check(self, running: dict[str, str]) -> list[str]:
        """Stop the executions among ``running`` whose payload this worker no longer holds."""
        try:
            records = self.db.get_many(list(running))
        except CirrusError as err:  # a busy or replaced database: the run says so itself
            logger.warning("could not look for aborted payloads: %s", err)
            return []
        except Exception:  # a bug must not end the watch either: look again next time
            logger.warning("could not look for aborted payloads", exc_info=True)
            return []
        lost = [
            payload_id
            for payload_id, execution in running.items()
            if _taken(records.get(payload_id), self.owner, execution)
        ]
        for payload_id in lost:
            with self._lock:
                if self._running.get(payload_id) != running[payload_id]:
                    continue  # it ended meanwhile: its worker writes its end as usual
                self.aborted.add(payload_id)
            self.stop(payload_id, running[payload_id])
        return lost


def _taken(record: StateRecord | None, owner: str, execution: str) -> bool:
    if record is None:
        return False
    if record.state is State.ABORTED:
        return True
    return record.state in ACTIVE_STATES and record.claim_owner not in (None, owner)


# ---------------------------------------------------------------- purge


@dataclass
class PurgePlan:
    """Queued payloads taken aside to be purged; :meth:`confirm` deletes them.

    While a plan is open its messages are hidden from workers; :meth:`cancel` (or
    :meth:`confirm`, for the ones kept) makes them visible again.
    """

    queue: WorkQueue
    matching: list[Message] = field(default_factory=list)
    kept: list[Message] = field(default_factory=list)
    workflows: dict[str, int] = field(default_factory=dict)
    owner: str = field(default_factory=lambda: f"cirrus-purge-{uuid.uuid4().hex[:8]}")
    """Who holds the messages while the plan is open."""

    @property
    def count(self) -> int:
        """How many payloads the purge drops."""
        return len(self.matching)

    def confirm(self) -> int:
        """Delete the matching messages, put the others back; returns how many went."""
        self.queue.delete_many(self.matching)
        self._put_back(self.kept)
        return len(self.matching)

    def cancel(self) -> None:
        """Put every message back, deleting nothing."""
        self._put_back([*self.matching, *self.kept])

    def _put_back(self, messages: Sequence[Message]) -> None:
        if messages:
            # looking is not a delivery: the receive the plan counted is given back (where
            # the queue can; SQS cannot), so a purge never moves a payload toward the dead
            # letters
            self.queue.release(self.owner, running=())
            self.queue.hide(messages, 0)


def plan_purge(
    queue: WorkQueue, workflow: str | None = None, *, hold_seconds: float = 600
) -> PurgePlan:
    """Take every visible queued payload (of ``workflow``, or all) aside, to purge.

    Only payloads no worker has started are visible: those running are in flight and stay.
    """
    plan = PurgePlan(queue)
    while True:
        messages = queue.receive(500, visibility_seconds=hold_seconds, owner=plan.owner)
        if not messages:
            break
        for message in messages:
            name = _workflow_of(message.body)
            if workflow is None or name == workflow:
                plan.matching.append(message)
                plan.workflows[name or "?"] = plan.workflows.get(name or "?", 0) + 1
            else:
                plan.kept.append(message)
    return plan


def _workflow_of(body: str) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    process = data.get("process") if isinstance(data, dict) else None
    if isinstance(process, list) and process:
        process = process[0]
    if isinstance(process, dict) and isinstance(process.get("workflow"), str):
        return str(process["workflow"])
    return None
