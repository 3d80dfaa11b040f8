"""What a failed execution's record says: ``last_error`` as upstream Cirrus writes it.

:func:`failure_of` turns how an execution ended into the ``(error, message)`` pair recorded
as ``"<error>: <message>"``:

- a Lambda-style JSON cause (``{"errorMessage": ..., "errorType": ..., "stackTrace": ...}``)
  is reduced to its ``errorMessage``;
- an execution that timed out is ``TimedOutError: The step function execution timed out.``;
- a failure that carries neither error nor cause (a ``Fail`` state without ``ErrorPath`` and
  ``CausePath``) takes the error and cause of the last task that failed, from the execution's
  history; with no failed task there, it is upstream's ``Unknown`` with a hint to add them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from cirrus.engine import ExecutionStatus

__all__ = [
    "NO_CAUSE_HINT",
    "TIMED_OUT_CAUSE",
    "TIMED_OUT_ERROR",
    "UNKNOWN_ERROR",
    "failure_of",
    "last_task_failure",
    "reduce_cause",
]

UNKNOWN_ERROR = "Unknown"
NO_CAUSE_HINT = (
    "No error cause was found in the event. Check that the 'Fail' state in the workflow step "
    "function definition includes 'ErrorPath' and 'CausePath' fields that capture the error "
    "name and error cause."
)
"""Upstream's text for a failure that names no error and no cause."""
TIMED_OUT_ERROR = "TimedOutError"
TIMED_OUT_CAUSE = "The step function execution timed out."

# history events of a task that failed (or timed out), with the key of their details
_TASK_FAILURES = ("LambdaFunctionFailed", "TaskFailed", "LambdaFunctionTimedOut", "TaskTimedOut")


def reduce_cause(cause: str | None) -> str | None:
    """A Lambda-style JSON cause reduced to its ``errorMessage``; any other cause as it is."""
    if not cause or not cause.lstrip().startswith("{"):
        return cause
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause
    if isinstance(parsed, dict) and isinstance(parsed.get("errorMessage"), str):
        return str(parsed["errorMessage"])
    return cause


def last_task_failure(history: Iterable[Mapping[str, Any]]) -> tuple[str, str | None] | None:
    """The error and cause of the last task that failed in an execution's history."""
    found: tuple[str, str | None] | None = None
    for event in history:
        kind = str(event.get("type", ""))
        if kind not in _TASK_FAILURES:
            continue
        key = kind[0].lower() + kind[1:] + "EventDetails"
        details = event.get(key) or {}
        error = details.get("error")
        if error:
            found = (str(error), details.get("cause"))
    return found


def failure_of(
    status: ExecutionStatus,
    error: str | None,
    cause: str | None,
    history: Iterable[Mapping[str, Any]] = (),
) -> tuple[str | None, str | None]:
    """The error name and message to record for an execution that did not succeed.

    An ABORTED execution that names nothing records nothing.

    Args:
        status: how the execution ended (FAILED, TIMED_OUT or ABORTED).
        error: the execution's error, if any.
        cause: the execution's cause, if any.
        history: its history events (AWS shape), searched when it names neither.
    """
    if status is ExecutionStatus.TIMED_OUT:
        return TIMED_OUT_ERROR, TIMED_OUT_CAUSE
    if not error and not cause:
        if status is not ExecutionStatus.FAILED:
            return None, None
        found = last_task_failure(history)
        if found is None:
            return UNKNOWN_ERROR, NO_CAUSE_HINT
        error, cause = found
    return (error or UNKNOWN_ERROR), reduce_cause(cause)
