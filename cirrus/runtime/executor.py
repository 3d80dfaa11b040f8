"""Running a payload's workflow on the engine and reporting how it ended.

Each execution gets a log (:class:`~cirrus.task.tasklog.ExecutionLog`) bound to its context:
what its tasks write lands there, and the outcome carries it, to be stored beside the
execution's input as ``log.txt``. When the engine is done, no process of the execution's
tasks outlives it (a task the engine gave up on at its timeout is killed then), so nothing a
task does lands after its payload's outcome. :func:`terminate_tasks` stops them earlier, for
an abort.

An input whose JSON is longer than ``url_payload_threshold`` is stored under
``<payload root>/tmp/oversized/`` and handed to the execution as ``{"url": ...}``, which
tasks read like any payload reference. That copy, and the results its tasks hand on by
reference (too big for Step Functions, :mod:`cirrus.task.results`), are removed when the
execution ends for good; a final one is read back into the outcome first. A waiting
snapshot or a redrive point names those stored so far, since the execution may read them
again when it goes on.
"""

from __future__ import annotations

import functools
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cirrus.engine import Execution, ExecutionStatus
from cirrus.errors import CirrusError, ConfigError, WorkflowError
from cirrus.task.children import stop_own
from cirrus.task.results import (
    peek_stored_results,
    remember_stored_result,
    take_stored_results,
)
from cirrus.task.tasklog import ExecutionLog, bind, unbind

if TYPE_CHECKING:
    from cirrus.engine import TaskResolver
    from cirrus.project import Project
    from cirrus.runtime.jobs import Job
    from cirrus.runtime.snapshots import ExecutionSnapshots

__all__ = ["ExecutionOutcome", "WorkflowExecutor", "escaped_length", "terminate_tasks"]

logger = logging.getLogger(__name__)


@dataclass
class ExecutionOutcome:
    """How an execution ended."""

    status: ExecutionStatus
    """SUCCEEDED, FAILED, TIMED_OUT or ABORTED."""
    output: Any = None
    error: str | None = None
    cause: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    started: datetime | None = None
    """When the execution started (wall clock, UTC); None for an adopted output."""
    ended: datetime | None = None
    """When it ended."""
    log: bytes | None = None
    """What the execution's tasks wrote (None: nothing)."""


def terminate_tasks(execution: str) -> int:
    """Kill the processes of the tasks running for ``execution`` now; returns how many.

    For an abort: the tasks that run in a process of their own (batch-type tasks, and
    lambda-type tasks with a timeout, memory limit or environment) are gone when this
    returns, and fail as terminated. Tasks running in this process's threads cannot be
    stopped; the engine stops the execution at its next state.
    """
    from cirrus.task.children import terminate_execution

    return terminate_execution(execution)


class WorkflowExecutor:
    """Loads workflows by name (project first, then built-in) and runs them.

    Compiled definitions are cached, so a workflow is parsed and validated once per process.
    """

    def __init__(
        self,
        project: Project | None,
        resolver: TaskResolver,
        *,
        time_scale: float = 1.0,
        keep_history: str = "failed",
        payload_root: str = "",
        url_payload_threshold: int | None = None,
        log_level: str = "INFO",
        max_log_bytes: int | None = None,
        snapshots: ExecutionSnapshots | None = None,
    ) -> None:
        from cirrus.task.interrupts import watch_interrupts
        from cirrus.task.tasklog import DEFAULT_MAX_LOG_BYTES, install, parse_level

        self.snapshots = snapshots
        """Where executions waiting for a task token keep their snapshots (None: nowhere)."""
        self.log_level = parse_level(log_level)
        self.max_log_bytes = max_log_bytes or DEFAULT_MAX_LOG_BYTES
        install(self.log_level)
        watch_interrupts()
        self._live_logs = LiveLogs(payload_root) if payload_root else None
        self.project = project
        self.resolver = resolver
        self.time_scale = time_scale
        self.keep_history = keep_history
        self.payload_root = payload_root
        """Where oversized inputs are stored for the run."""
        self.url_payload_threshold = url_payload_threshold
        """Inputs longer than this (as escaped JSON) are handed over by URL; None: never."""
        self._machines: dict[str, Any] = {}
        self._object_io: Any = None  # Map ItemReader/ResultWriter storage, made on first use
        self._lock = threading.Lock()
        self._running: dict[str, Any] = {}  # execution name -> engine Execution, while it runs

    def abort(self, execution: str, cause: str = "aborted by an operator") -> bool:
        """Stop a running execution at its next state (it ends ABORTED); False if not running."""
        with self._lock:
            running = self._running.get(execution)
        if running is None:
            return False
        running.abort("Aborted", cause)
        return True

    def definition(self, workflow: str) -> dict[str, Any]:
        """The ASL definition of a workflow.

        Raises:
            ConfigError: no workflow has that name.
        """
        workflows = self._workflows()
        component = workflows.get(workflow)
        if component is None:
            raise ConfigError(
                f"no workflow named {workflow!r}; known workflows: "
                f"{', '.join(sorted(workflows)) or 'none'}"
            )
        definition: dict[str, Any] = component.definition
        return definition

    def _workflows(self) -> dict[str, Any]:
        if self.project is None:
            from cirrus.project import Project

            self.project = Project.embedded()
        return dict(self.project.workflows())

    def machine(self, workflow: str) -> Any:
        """The compiled state machine of a workflow (cached)."""
        machine = self._machines.get(workflow)
        if machine is None:
            from cirrus.engine import StateMachine

            with self._lock:
                machine = self._machines.get(workflow)
                if machine is None:
                    machine = StateMachine.from_dict(
                        self.definition(workflow), resolver=self.resolver, name=workflow
                    )
                    self._machines[workflow] = machine
        return machine

    def _keeps(self, status: ExecutionStatus) -> bool:
        return self.keep_history == "all" or (
            self.keep_history == "failed" and status is not ExecutionStatus.SUCCEEDED
        )

    def run(
        self,
        workflow: str,
        payload: Any,
        execution: str,
        *,
        payload_id: str | None = None,
        snapshot: dict[str, Any] | None = None,
    ) -> ExecutionOutcome:
        """Run a workflow on a payload to its end (from ``snapshot``: to resume one that
        waited for a task token, or to redrive a failed one)."""
        try:
            machine = self.machine(workflow)
        except WorkflowError as err:
            return ExecutionOutcome(ExecutionStatus.FAILED, error=err.error, cause=err.cause)
        except ConfigError as err:
            return ExecutionOutcome(ExecutionStatus.FAILED, error="States.Runtime", cause=str(err))
        if self._object_io is None:
            from cirrus.engine import storage_object_io

            self._object_io = storage_object_io()
        started = datetime.now(UTC)
        options: dict[str, Any] = {"time_scale": self.time_scale, "object_io": self._object_io}
        # results handed on by reference before a wait or a failure, by an earlier run
        carried: list[str] = list(snapshot.get(STORED_RESULTS, ())) if snapshot else []
        keeps_snapshots = self.snapshots is not None and self.snapshots.store is not None
        if self.snapshots is not None and self.snapshots.store is not None:
            options["tokens"] = self.snapshots.store
            keep = self.snapshots.on_wait(payload_id or execution, execution)
            if keep is not None:
                options["on_wait"] = _keeping_stored_results(keep, execution, carried)
        if snapshot is not None and snapshot.get("redrive"):
            running = Execution.redrive(machine, snapshot, **options)
        elif snapshot is not None:
            running = Execution.resume(machine, snapshot, **options)
        else:
            running = Execution(machine, payload, name=execution, **options)
        with self._lock:
            self._running[execution] = running
        try:
            result = running.run()
        finally:
            with self._lock:
                self._running.pop(execution, None)
        stored = [*carried, *take_stored_results(execution)]
        redrive_point = result.redrive_point
        if stored and redrive_point is not None and keeps_snapshots:
            # a redrive starts again from a state whose input may be one of them
            redrive_point = {**redrive_point, STORED_RESULTS: stored}
            stored = []
        if self.snapshots is not None:
            self.snapshots.ended(execution, payload_id or execution, redrive_point)
        outcome = ExecutionOutcome(
            status=result.status,
            output=result.output,
            error=result.error,
            cause=result.cause,
            history=result.history() if self._keeps(result.status) else [],
            started=started,
            ended=datetime.now(UTC),
        )
        if stored:
            _settle_stored_results(stored, outcome)
        return outcome

    def execute(self, job: Job) -> ExecutionOutcome:
        """Run a job's workflow on its input, with its log; never raises."""
        log = ExecutionLog(
            job.payload_id, job.execution, level=self.log_level, max_bytes=self.max_log_bytes
        )
        token = bind(log, job.execution)
        live = self._live_logs
        if live is not None:  # watched from its first line on: most executions log nothing
            log.on_first_line = functools.partial(live.add, job)
        try:
            outcome = self._execute(job)
        finally:
            if log and live is not None:
                live.remove(job)
            unbind(token)
            # a task the engine gave up on (its state's timeout) stops before the outcome
            stop_own(job.execution)
        if log:
            outcome.log = log.text().encode()
        return outcome

    def close(self) -> None:
        """End the task processes kept warm for this executor's tasks."""
        if self._live_logs is not None:
            self._live_logs.close()
        close = getattr(self.resolver, "close", None)
        if close is not None:
            close()

    def _execute(self, job: Job) -> ExecutionOutcome:
        if job.snapshot is not None:  # it waits for a task token again, or is redriven
            try:
                return self.run(
                    job.payload.workflow,
                    job.input,
                    job.execution,
                    payload_id=job.payload_id,
                    snapshot=job.snapshot,
                )
            except Exception as err:  # an engine bug must not take the worker down
                logger.exception("resuming %s of %s crashed", job.execution, job.payload_id)
                return ExecutionOutcome(
                    ExecutionStatus.FAILED, error=type(err).__name__, cause=str(err)
                )
        data = job.input  # as stored when the execution started
        execution_input: Any = data
        text = job.input_text
        threshold = self.url_payload_threshold
        if threshold is not None and escaped_length(text) > threshold:
            from cirrus.storage import join_url, write_bytes

            url = join_url(self.payload_root, "tmp", "oversized", f"{uuid.uuid4().hex}.json")
            write_bytes(url, text.encode(), content_type="application/json")
            execution_input = {"url": url}
            # it goes with the results stored by reference: a redrive may start from it
            remember_stored_result(url)
        try:
            return self.run(
                job.payload.workflow, execution_input, job.execution, payload_id=job.payload_id
            )
        except Exception as err:  # an engine bug must not take the worker down
            logger.exception("execution %s of %s crashed", job.execution, job.payload_id)
            failed = ExecutionOutcome(
                ExecutionStatus.FAILED, error=type(err).__name__, cause=str(err)
            )
            _settle_stored_results(take_stored_results(job.execution), failed)
            return failed


STORED_RESULTS = "cirrus_stored_results"
"""The key, in a waiting snapshot or a redrive point, of the results stored by reference so
far: the execution may still read them, and they are removed when it ends for good."""


def _keeping_stored_results(
    keep: Callable[[dict[str, Any]], None], execution: str, carried: list[str]
) -> Callable[[dict[str, Any]], None]:
    """``keep``, with the execution's stored results named in the snapshot it keeps."""

    def keep_with_results(snapshot: dict[str, Any]) -> None:
        stored = [*carried, *peek_stored_results(execution)]
        keep({**snapshot, STORED_RESULTS: stored} if stored else snapshot)

    return keep_with_results


def _settle_stored_results(stored: list[str], outcome: ExecutionOutcome) -> None:
    """Read a final output stored by reference back, then remove every stored result."""
    from cirrus.storage import delete, load_payload

    output = outcome.output
    try:
        if isinstance(output, dict) and output.keys() == {"url"} and output["url"] in stored:
            outcome.output = load_payload(output)
    except CirrusError as err:  # the copy cannot be read back: the execution cannot succeed
        outcome.status, outcome.output = ExecutionStatus.FAILED, None
        outcome.error, outcome.cause = type(err).__name__, str(err)
    for url in stored:
        try:
            delete(url)
        except Exception:  # a leftover under tmp/ costs disk, never the payload
            logger.warning("could not remove %s", url, exc_info=True)


class LiveLogs:
    """Writes the logs of running executions now and then, for ``cirrus logs --follow``.

    Every ``interval`` seconds, the log of each running execution that got new lines is
    written where its final log goes; the final one is written with the execution's
    outcome. A log is never written once its execution is done (the lock sees to it), so an
    older copy cannot replace the final one.
    """

    def __init__(self, payload_root: str, interval: float = 2.0) -> None:
        self.payload_root = payload_root
        self.interval = interval
        self._running: dict[str, tuple[Job, ExecutionLog, int]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, job: Job, log: ExecutionLog) -> None:
        """Watch the log of an execution that starts."""
        with self._lock:
            self._running[job.execution] = (job, log, 0)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="cirrus-live-logs", daemon=True
                )
                self._thread.start()

    def remove(self, job: Job) -> None:
        """Stop watching an execution that ended (its final log goes with its outcome)."""
        with self._lock:
            self._running.pop(job.execution, None)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def flush(self) -> None:
        """Write the logs that got new lines since they were last written."""
        from cirrus.errors import CirrusError
        from cirrus.runtime.jobs import execution_key
        from cirrus.storage import join_url, write_bytes

        with self._lock:
            for execution, (job, log, written) in list(self._running.items()):
                if log.lines_added == written or not log:
                    continue
                key = execution_key(job.payload_id, execution, "log.txt")
                try:
                    write_bytes(join_url(self.payload_root, key), log.text().encode())
                except CirrusError:
                    logger.warning("could not write the running log of %s", job.payload_id)
                    continue
                self._running[execution] = (job, log, log.lines_added)

    def close(self) -> None:
        """Stop writing."""
        self._stop.set()


def escaped_length(text: str) -> int:
    """Length of JSON text once escaped again, as it sits inside an event envelope.

    Exact for ASCII text; counts each other character as a six-character escape, as
    ``json.dumps`` writes them.
    """
    extra = text.count('"') + text.count("\\")
    if not text.isascii():
        extra += sum(5 for character in text if ord(character) > 127)
    return len(text) + 2 + extra
