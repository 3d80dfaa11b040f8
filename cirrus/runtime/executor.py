"""Running a payload's workflow on the engine and reporting how it ended.

An input whose JSON is longer than ``url_payload_threshold`` is stored under
``<payload root>/tmp/oversized/`` for the duration of the run and handed to the execution as
``{"url": ...}``, which tasks read like any payload reference.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cirrus.engine import ExecutionStatus
from cirrus.errors import ConfigError, WorkflowError

if TYPE_CHECKING:
    from cirrus.engine import TaskResolver
    from cirrus.project import Project
    from cirrus.runtime.jobs import Job

__all__ = ["ExecutionOutcome", "WorkflowExecutor", "escaped_length"]

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
    ) -> None:
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

    def run(self, workflow: str, payload: Any, execution: str) -> ExecutionOutcome:
        """Run a workflow on a payload to its end."""
        from cirrus.engine import Execution

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
        running = Execution(
            machine,
            payload,
            name=execution,
            time_scale=self.time_scale,
            object_io=self._object_io,
        )
        with self._lock:
            self._running[execution] = running
        try:
            result = running.run()
        finally:
            with self._lock:
                self._running.pop(execution, None)
        return ExecutionOutcome(
            status=result.status,
            output=result.output,
            error=result.error,
            cause=result.cause,
            history=result.history() if self._keeps(result.status) else [],
            started=started,
            ended=datetime.now(UTC),
        )

    def execute(self, job: Job) -> ExecutionOutcome:
        """Run a job's workflow on its input (by reference when oversized); never raises."""
        data = job.input  # as stored when the execution started
        execution_input: Any = data
        text = job.input_text
        threshold = self.url_payload_threshold
        if threshold is not None and escaped_length(text) > threshold:
            from cirrus.storage import join_url, write_bytes

            url = join_url(self.payload_root, "tmp", "oversized", f"{uuid.uuid4().hex}.json")
            write_bytes(url, text.encode(), content_type="application/json")
            execution_input = {"url": url}
        try:
            return self.run(job.payload.workflow, execution_input, job.execution)
        except Exception as err:  # an engine bug must not take the worker down
            logger.exception("execution %s of %s crashed", job.execution, job.payload_id)
            return ExecutionOutcome(
                ExecutionStatus.FAILED, error=type(err).__name__, cause=str(err)
            )
        finally:
            if execution_input is not data:  # the by-reference copy is only for this run
                from cirrus.storage import delete

                delete(execution_input["url"])


def escaped_length(text: str) -> int:
    """Length of JSON text once escaped again, as it sits inside an event envelope.

    Exact for ASCII text; counts each other character as a six-character escape, as
    ``json.dumps`` writes them.
    """
    extra = text.count('"') + text.count("\\")
    if not text.isascii():
        extra += sum(5 for character in text if ord(character) > 127)
    return len(text) + 2 + extra
