"""How a task may run: its limits and environment, and the errors AWS gives past them.

The project turns each task's ``definition.yml`` into a :class:`TaskSettings`; the runner
honours it. The error names and messages are the ones Lambda, Batch and Step Functions
report, so that a Retry or Catch written against AWS matches the same failure locally.
"""

from __future__ import annotations

import signal
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from cirrus.errors import TaskError

__all__ = [
    "BATCH_OUT_OF_MEMORY",
    "BATCH_TIMED_OUT",
    "TaskSettings",
    "lambda_crashed",
    "lambda_out_of_memory",
    "lambda_timed_out",
]

BATCH_TIMED_OUT = "Job attempt duration exceeded timeout"
"""AWS Batch's status reason for a job stopped at its ``attemptDurationSeconds``."""
BATCH_OUT_OF_MEMORY = "OutOfMemoryError: Container killed due to memory usage"
"""AWS Batch's container reason for a job that used more memory than it was given."""


@dataclass(frozen=True)
class TaskSettings:
    """What a task's definition asks of the place it runs.

    Attributes:
        spec: how a process of its own loads the task (a name, ``module:Class`` or
            ``path/to/task.py:Class``; see :func:`~cirrus.task.registry.resolve_task`).
        isolate: run the lambda-type variant in a process of its own, even with no limit.
        lambda_timeout: the Lambda ``timeout`` (seconds), or None when the definition sets
            none (then only a Task state's ``TimeoutSeconds`` applies).
        lambda_memory: the Lambda ``memory`` (MB), or None when the definition sets none.
        lambda_environment: variables of the Lambda variant (project < component < lambda).
        batch_timeout: the Batch ``timeout`` (seconds), or None.
        batch_memory: the Batch ``memory`` (MB), or None.
        batch_attempts: attempts of a Batch job (``retry``); a timed-out attempt is not
            retried, as on AWS Batch.
        batch_environment: variables of the Batch variant (project < component < batch).
    """

    spec: str | None = None
    isolate: bool = False
    lambda_timeout: float | None = None
    lambda_memory: int | None = None
    lambda_environment: Mapping[str, str] = field(default_factory=dict)
    batch_timeout: float | None = None
    batch_memory: int | None = None
    batch_attempts: int = 1
    batch_environment: Mapping[str, str] = field(default_factory=dict)

    @property
    def needs_process(self) -> bool:
        """Whether the lambda-type variant must run in a process of its own.

        A timeout or memory limit can only be enforced on a process; environment variables
        belong to a process (C libraries read them straight from it), so two tasks with
        different ones cannot share one.
        """
        return bool(
            self.isolate
            or self.lambda_timeout is not None
            or self.lambda_memory is not None
            or self.lambda_environment
        )


def _request_id() -> str:
    return str(uuid.uuid4())


def lambda_timed_out(seconds: float) -> TaskError:
    """What Lambda reports for a function stopped at its timeout."""
    return TaskError(
        "Sandbox.Timedout",
        f"RequestId: {_request_id()} Error: Task timed out after {seconds:.2f} seconds",
    )


def lambda_out_of_memory(memory_mb: int) -> TaskError:
    """What Lambda reports for a function killed for using more than its memory."""
    return TaskError(
        "Runtime.ExitError",
        f"RequestId: {_request_id()} Error: Runtime exited with error: signal: killed "
        f"(memory limit {memory_mb} MB exceeded)",
    )


def lambda_crashed(returncode: int | None) -> TaskError:
    """What Lambda reports for a runtime that exited in the middle of a call."""
    if returncode is not None and returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        what = f"signal: {_SIGNAL_TEXT.get(name, name)}"
    else:
        what = f"exit status {returncode}"
    return TaskError(
        "Runtime.ExitError", f"RequestId: {_request_id()} Error: Runtime exited with error: {what}"
    )


# as Go (the Lambda runtime's language) names them
_SIGNAL_TEXT = {
    "SIGSEGV": "segmentation fault",
    "SIGKILL": "killed",
    "SIGABRT": "aborted",
    "SIGBUS": "bus error",
    "SIGTERM": "terminated",
    "SIGFPE": "floating point exception",
    "SIGILL": "illegal instruction",
}
