"""Going on with an execution elsewhere: snapshots of waiting ones, redrive points of failed
ones, both plain JSON.

- A **waiting snapshot** is taken when a top-level ``.waitForTaskToken`` Task state starts
  waiting (:func:`waiting_snapshot`); :meth:`~cirrus.engine.Execution.resume` waits for the
  same token again, in another process, without running the task's resource twice.
- A **redrive point** is kept for every execution that did not succeed
  (:func:`redrive_point`, in ``ExecutionResult.redrive_point``);
  :meth:`~cirrus.engine.Execution.redrive` runs the execution again from the top-level state
  that failed, as AWS's ``RedriveExecution`` does.

Both hold the execution's history so far, its input, the state to go on at with that
state's input, and the variables as they were.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from cirrus.engine.results import ExecutionStatus

if TYPE_CHECKING:
    from cirrus.engine.runner import Execution, Lane
    from cirrus.engine.states import State

__all__ = ["redrive_point", "restore", "restored_lane", "waiting_snapshot"]

VERSION = 1


def _common(execution: Execution) -> dict[str, Any]:
    return {
        "version": VERSION,
        "machine": execution.machine.name,
        "name": execution.name,
        "input": execution.input,
        "start_time": execution.start_time,
        "records": [list(record) for record in execution.records],
        "transitions": execution.transitions,
        "redrive_count": execution.redrive_count,
    }


def waiting_snapshot(
    execution: Execution, lane: Lane, state: State, token: str, task_started: float
) -> dict[str, Any]:
    """Everything needed to go on waiting for ``token`` at ``state``."""
    return {
        **_common(execution),
        "state": state.name,
        "state_input": lane.state_input,
        "entered_id": _entered_id(execution, lane, state),
        "entered_time": lane.entered_time,
        "retry_count": lane.retry_count,
        "variables": dict(lane.scope.vars),
        "token": token,
        "task_started": task_started,
        "offset": lane.offset,
        "last_id": lane.last_id,
    }


def redrive_point(execution: Execution) -> dict[str, Any] | None:
    """Where a redrive of a finished execution starts; None when it succeeded or failed
    before its first state."""
    failed_at = execution.failed_at
    if execution.status is ExecutionStatus.SUCCEEDED or failed_at is None:
        return None
    name, data, lane = failed_at
    return {
        **_common(execution),
        "redrive": True,
        "state": name,
        "state_input": data,
        "variables": dict(lane.scope.vars),
        "offset": lane.offset,
        "last_id": execution.records[-1][0] if execution.records else 0,
        "entered_time": lane.entered_time,
        "retry_count": 0,
    }


def restore(execution: Execution, snapshot: dict[str, Any]) -> None:
    """Give a new ``execution`` the start, history and counts ``snapshot`` holds."""
    execution.start_time = float(snapshot["start_time"])
    if execution.machine.timeout_seconds:
        execution.deadline = execution.start_time + execution.machine.timeout_seconds
    execution.records = [tuple(record) for record in snapshot["records"]]
    execution._ids = itertools.count(len(execution.records) + 1)
    execution.transitions = int(snapshot["transitions"])
    execution.redrive_count = int(snapshot.get("redrive_count", 0))


def restored_lane(execution: Execution, snapshot: dict[str, Any]) -> Lane:
    """The top-level lane as it was when ``snapshot`` was taken."""
    from cirrus.engine.runner import Lane, Scope

    lane = Lane(execution, Scope(), float(snapshot["offset"]), int(snapshot["last_id"]))
    lane.scope.vars.update(snapshot["variables"])
    lane.state_name = snapshot["state"]
    lane.entered_time = float(snapshot["entered_time"])
    lane.retry_count = int(snapshot["retry_count"])
    return lane


def _entered_id(execution: Execution, lane: Lane, state: State) -> int:
    entered = f"{state.type}StateEntered"
    for record in reversed(execution.records):
        if record[3] == entered and record[5] and record[5].get("name") == state.name:
            return int(record[0])
    return lane.last_id
