"""Errors raised while a state machine runs, and the ASL error names they carry.

:class:`StatesError` is what a state raises to fail: it carries the ASL error name
(``States.Runtime``, ``States.TaskFailed``, a task's own error name, ...) and the cause
text. A task that fails raises :class:`~cirrus.errors.TaskError` (or its engine-side name
:class:`TaskFailure`) with its own error name and cause.
"""

from __future__ import annotations

from cirrus.errors import TaskError, WorkflowError

__all__ = [
    "ALL",
    "BRANCH_FAILED",
    "DATA_LIMIT_EXCEEDED",
    "EXCEED_TOLERATED_FAILURE_THRESHOLD",
    "HEARTBEAT_TIMEOUT",
    "INTRINSIC_FAILURE",
    "ITEM_READER_FAILED",
    "NO_CHOICE_MATCHED",
    "QUERY_EVALUATION_ERROR",
    "RESULT_PATH_MATCH_FAILURE",
    "RESULT_WRITER_FAILED",
    "RUNTIME",
    "TASK_FAILED",
    "TIMEOUT",
    "StatesError",
    "TaskFailure",
]

ALL = "States.ALL"
RUNTIME = "States.Runtime"
TIMEOUT = "States.Timeout"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
TASK_FAILED = "States.TaskFailed"
NO_CHOICE_MATCHED = "States.NoChoiceMatched"
INTRINSIC_FAILURE = "States.IntrinsicFailure"
BRANCH_FAILED = "States.BranchFailed"
RESULT_PATH_MATCH_FAILURE = "States.ResultPathMatchFailure"
QUERY_EVALUATION_ERROR = "States.QueryEvaluationError"
EXCEED_TOLERATED_FAILURE_THRESHOLD = "States.ExceedToleratedFailureThreshold"
ITEM_READER_FAILED = "States.ItemReaderFailed"
RESULT_WRITER_FAILED = "States.ResultWriterFailed"
DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"

# Causes of these errors name the state and the event that entered it, as AWS writes them.
DECORATED_ERRORS = frozenset({RUNTIME, QUERY_EVALUATION_ERROR})


class StatesError(WorkflowError):
    """A state failed with an ASL error name and cause.

    Attributes:
        error: the ASL error name, e.g. ``States.Runtime`` or a task's exception name.
        cause: the human-readable cause, or ``None``.
    """

    error: str

    def __init__(self, error: str, cause: str | None = None) -> None:
        super().__init__(error, cause)


class TaskFailure(TaskError):
    """A task run for a Task state failed.

    Args:
        error: the error name shown in the workflow (the task's exception class name, or
            ``States.Timeout`` when it ran out of time).
        cause: the error message.
    """
