"""Redrive (AWS's RedriveExecution): a failed execution runs again from the state that failed,
reusing what the states before it returned."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cirrus.engine import Execution, PythonFunctions, StateMachine, run_execution
from cirrus.errors import DefinitionError

DEFINITION = {
    "StartAt": "Expensive",
    "States": {
        "Expensive": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:expensive",
            "ResultPath": "$.made",
            "Next": "Remember",
        },
        "Remember": {"Type": "Pass", "Assign": {"made.$": "$.made"}, "Next": "Flaky"},
        "Flaky": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:flaky",
            "Parameters": {"made.$": "$made", "redrives.$": "$$.Execution.RedriveCount"},
            "ResultPath": "$.checked",
            "End": True,
        },
    },
}


class Work:
    def __init__(self) -> None:
        self.expensive_runs = 0
        self.flaky_runs = 0
        self.healthy = False

    def expensive(self, event: Any) -> Any:
        self.expensive_runs += 1
        return {"value": 42}

    def flaky(self, event: Any) -> Any:
        self.flaky_runs += 1
        if not self.healthy:
            raise ConnectionError("service down")
        return event


def machine(work: Work) -> StateMachine:
    functions = {"expensive": work.expensive, "flaky": work.flaky}
    return StateMachine.from_dict(DEFINITION, resolver=PythonFunctions(functions))


def test_redrive_runs_from_the_failed_state_only() -> None:
    work = Work()
    m = machine(work)
    failed = run_execution(m, {"id": "a"}, time_scale=0)
    assert failed.error == "ConnectionError"
    point = failed.redrive_point
    assert point is not None and point["state"] == "Flaky"
    point = json.loads(json.dumps(point))  # it is plain JSON: kept anywhere

    work.healthy = True
    result = Execution.redrive(m, point, time_scale=0).run()
    assert result.succeeded, result.cause
    assert work.expensive_runs == 1  # not computed again
    assert work.flaky_runs == 2
    # the variable assigned before the failure is there; the redrive is counted
    assert result.output == {
        "id": "a",
        "made": {"value": 42},
        "checked": {"made": {"value": 42}, "redrives": 1},
    }
    kinds = [event["type"] for event in result.events]
    failed_at = kinds.index("ExecutionFailed")
    assert kinds[failed_at + 1] == "ExecutionRedriven"
    assert kinds[failed_at + 2 :].count("TaskStateEntered") == 1
    assert [event["id"] for event in result.events] == list(range(1, len(kinds) + 1))
    assert result.name == failed.name


def test_redrive_twice_counts_up() -> None:
    work = Work()
    m = machine(work)
    first = run_execution(m, {}, time_scale=0)
    second = Execution.redrive(m, first.redrive_point or {}, time_scale=0).run()
    assert second.error == "ConnectionError" and second.redrive_point is not None
    assert second.redrive_point["redrive_count"] == 1
    work.healthy = True
    third = Execution.redrive(m, second.redrive_point, time_scale=0).run()
    assert third.output["checked"]["redrives"] == 2
    assert work.expensive_runs == 1


def test_succeeded_execution_has_no_redrive_point() -> None:
    work = Work()
    work.healthy = True
    assert run_execution(machine(work), {}, time_scale=0).redrive_point is None


def test_redrive_of_another_machine_is_refused() -> None:
    work = Work()
    failed = run_execution(machine(work), {}, time_scale=0)
    other = StateMachine.from_dict({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    with pytest.raises(DefinitionError, match="no state 'Flaky'"):
        Execution.redrive(other, failed.redrive_point or {})
