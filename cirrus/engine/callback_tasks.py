"""``.waitForTaskToken`` Task states: hand the token on, then wait for its answer.

The runner calls :func:`run_callback_task` for a Task state whose resource ends in
``.waitForTaskToken``. It runs the resource once (history: ``TaskScheduled``,
``TaskStarted``, ``TaskSubmitted``), then waits in real time for the answer to the token
in the execution's :class:`~cirrus.engine.callbacks.TaskTokens` store, within
``TimeoutSeconds`` and ``HeartbeatSeconds`` (both end in ``States.Timeout``, as on AWS).
A top-level wait hands a snapshot to the execution's ``on_wait`` first, so another process
can resume it (:mod:`cirrus.engine.continuation`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from cirrus.engine.callbacks import FAILED, SUCCEEDED
from cirrus.engine.continuation import waiting_snapshot
from cirrus.engine.errors import TIMEOUT, StatesError
from cirrus.engine.limits import data_limit_exceeded, result_too_large
from cirrus.engine.states import TaskState
from cirrus.engine.task_io import TaskTimedOut, copy_json, error_details
from cirrus.errors import TaskError

if TYPE_CHECKING:
    from cirrus.engine.runner import Execution, Lane

__all__ = ["run_callback_task", "wait_for_token"]

POLL_SECONDS = 0.05
"""How often a waiting task looks at its token."""


def run_callback_task(
    execution: Execution,
    state: TaskState,
    payload: Any,
    timeout: float | None,
    heartbeat: float | None,
    lane: Lane,
) -> Any:
    """Run a callback Task state's resource, then wait for the answer to its token."""
    handler = state.handler
    assert handler is not None
    base = {"resourceType": handler.resource_type, "resource": handler.resource}
    token = lane.task_token
    if token is None:  # a definition without Parameters still gets a token
        execution.prepare_token(lane, payload)
        token = lane.task_token
    assert token is not None
    resume, lane.resume = lane.resume, None
    if resume is not None:
        started = float(resume["task_started"])
    else:
        started = time.time()
        scheduled: dict[str, Any] = {**base, "region": "us-east-1", "parameters": payload}
        if timeout is not None:
            scheduled["timeoutInSeconds"] = int(timeout)
        if heartbeat is not None:
            scheduled["heartbeatInSeconds"] = int(heartbeat)
        execution.event(lane, "TaskScheduled", "taskScheduledEventDetails", scheduled)
        execution.event(lane, "TaskStarted", "taskStartedEventDetails", base)
        execution.tokens.open(token, execution=execution.execution_arn, state=state.name)
        try:
            submitted = execution.invoke(handler.invoke, copy_json(payload), timeout, lane)
        except TaskTimedOut:
            execution.tokens.close(token)
            execution.event(
                lane, "TaskTimedOut", "taskTimedOutEventDetails", {**base, "error": TIMEOUT}
            )
            raise StatesError(TIMEOUT, None) from None
        except (TaskError, StatesError) as err:
            execution.tokens.close(token)
            details = {**base, **error_details(err.error, err.cause)}
            execution.event(lane, "TaskFailed", "taskFailedEventDetails", details)
            raise StatesError(err.error, err.cause) from None
        execution.event(
            lane, "TaskSubmitted", "taskSubmittedEventDetails", {**base, "output": submitted}
        )
        if execution.on_wait is not None and lane.scope.parent is None:
            execution.on_wait(waiting_snapshot(execution, lane, state, token, started))
    try:
        result = wait_for_token(execution, lane, token, started, timeout, heartbeat)
    except TaskTimedOut:
        # AWS reports a missed heartbeat as it reports a timeout: States.Timeout.
        execution.event(
            lane, "TaskTimedOut", "taskTimedOutEventDetails", {**base, "error": TIMEOUT}
        )
        raise StatesError(TIMEOUT, None) from None
    except StatesError as err:
        details = {**base, **error_details(err.error, err.cause)}
        execution.event(lane, "TaskFailed", "taskFailedEventDetails", details)
        raise
    if result_too_large(result):
        error = data_limit_exceeded(handler.resource_type)
        details = {**base, **error_details(error.error, error.cause)}
        execution.event(lane, "TaskFailed", "taskFailedEventDetails", details)
        raise error
    execution.event(lane, "TaskSucceeded", "taskSucceededEventDetails", {**base, "output": result})
    return result


def wait_for_token(
    execution: Execution,
    lane: Lane,
    token: str,
    started: float,
    timeout: float | None,
    heartbeat: float | None,
) -> Any:
    """Wait (in real time) until ``token`` is answered, times out or misses a heartbeat."""
    tokens = execution.tokens
    last_beat = started
    try:
        while True:
            answer = tokens.read(token)
            if answer is None:
                raise StatesError(TIMEOUT, "the task token is no longer known")
            if answer.status == SUCCEEDED:
                return answer.output
            if answer.status == FAILED:
                raise StatesError(answer.error, answer.cause)  # type: ignore[arg-type]
            if answer.heartbeat is not None:
                last_beat = max(last_beat, answer.heartbeat)
            now = time.time()
            left = POLL_SECONDS
            if timeout is not None:
                left = min(left, started + timeout - now)
            if heartbeat is not None:
                left = min(left, last_beat + heartbeat - now)
            if left <= 0:
                raise TaskTimedOut
            execution.check(lane)
            execution.abort_event.wait(left)
            execution.check(lane)
    finally:
        tokens.close(token)
