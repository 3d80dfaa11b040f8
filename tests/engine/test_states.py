"""Pass, Task, Wait, Succeed, Fail; history; timeouts; abort; variables."""

from __future__ import annotations

import threading
import time
from typing import Any

from cirrus.engine import Execution, ExecutionStatus, ManualClock
from tests.engine.fakes import FakeTaskRunner, load, run, single, types


def test_pass_chain_history() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Result": {"x": 1}, "Next": "B"},
            "B": {"Type": "Succeed"},
        },
    }
    result = run(definition, {"in": True})
    assert result.output == {"x": 1}
    assert types(result) == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]
    history = result.history()
    # as AWS records it: the first state entered follows no event
    assert [e["previousEventId"] for e in history] == [0, 0, 2, 3, 4, 5]
    assert history[1]["stateEnteredEventDetails"] == {
        "name": "A",
        "input": '{"in":true}',
        "inputDetails": {"truncated": False},
    }
    assert history[-1]["executionSucceededEventDetails"]["output"] == '{"x":1}'
    assert history[0]["timestamp"].endswith("Z")
    assert result.transitions == 2


def test_task_events_and_result_selector() -> None:
    runner = FakeTaskRunner({"add": lambda e: {"sum": e["a"] + e["b"], "noise": 1}})
    state = {
        "Type": "Task",
        "Resource": "add",
        "Parameters": {"a.$": "$.x", "b": 2},
        "ResultSelector": {"total.$": "$.sum"},
        "ResultPath": "$.result",
    }
    result = run(single(state), {"x": 1}, runner)
    assert result.output == {"x": 1, "result": {"total": 3}}
    assert types(result)[1:6] == [
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
    ]
    scheduled = result.history()[2]["taskScheduledEventDetails"]
    assert (scheduled["resourceType"], scheduled["resource"], scheduled["parameters"]) == (
        "lambda",
        "invoke",
        '{"a":1,"b":2}',
    )


def test_task_failure_is_the_task_error_and_message() -> None:
    def boom(event: Any) -> Any:
        raise KeyError("missing thing")

    result = run(
        single({"Type": "Task", "Resource": "boom"}),
        {},
        FakeTaskRunner({"boom": boom}),
    )
    assert result.status is ExecutionStatus.FAILED
    assert (result.error, result.cause) == ("KeyError", "'missing thing'")
    assert types(result)[-2:] == ["TaskFailed", "ExecutionFailed"]


def test_task_does_not_change_shared_state_input() -> None:
    def mutate(event: Any) -> Any:
        event["x"].append(99)
        return None

    definition = {
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": "m", "ResultPath": None, "Next": "P"},
            "P": {"Type": "Pass", "End": True},
        },
    }
    assert run(definition, {"x": [1]}, FakeTaskRunner({"m": mutate})).output == {"x": [1]}


def test_task_timeout_seconds() -> None:
    runner = FakeTaskRunner({"slow": lambda e: time.sleep(3)})
    state = {
        "Type": "Task",
        "Resource": "slow",
        "TimeoutSeconds": 1,
        "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Caught"}],
        "Next": "Caught",
    }
    definition = {"StartAt": "S", "States": {"S": state, "Caught": {"Type": "Pass", "End": True}}}
    started = time.monotonic()
    result = run(definition, {}, runner)
    assert time.monotonic() - started < 2.5
    assert result.output == {"Error": "States.Timeout"}
    assert "TaskTimedOut" in types(result)


def test_wait_uses_time_scale_and_clock() -> None:
    clock = ManualClock()
    definition = {
        "StartAt": "W1",
        "States": {
            "W1": {"Type": "Wait", "Seconds": 10, "Next": "W2"},
            "W2": {"Type": "Wait", "SecondsPath": "$.s", "Next": "W3"},
            "W3": {"Type": "Wait", "TimestampPath": "$.t", "End": True},
        },
    }
    result = run(definition, {"s": 5, "t": "2023-11-14T22:13:50Z"}, clock=clock, time_scale=0.5)
    assert result.succeeded
    # the clock starts at 22:13:20Z; after 15 s of waits, 15 s remain to 22:13:50Z
    assert clock.sleeps == [5.0, 2.5, 7.5]


def test_wait_errors() -> None:
    result = run(single({"Type": "Wait", "SecondsPath": "$.s"}), {"s": -1})
    assert result.error == "States.Runtime"
    assert result.cause is not None and result.cause.endswith(
        "The SecondsPath parameter references a negative value: $.s == -1"
    )
    result = run(single({"Type": "Wait", "TimestampPath": "$.t"}), {"t": "soon"})
    assert result.cause is not None and result.cause.endswith(
        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
        "date-time format string: $.t == soon"
    )


def test_fail_state_error_and_cause_paths() -> None:
    result = run(single({"Type": "Fail", "Error": "ErrorA", "Cause": "Kaiju attack"}), {})
    assert (result.error, result.cause) == ("ErrorA", "Kaiju attack")
    assert types(result)[-2:] == ["FailStateEntered", "ExecutionFailed"]
    result = run(
        single({"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('code {}', $.c)"}),
        {"e": "Bad", "c": 7},
    )
    assert (result.error, result.cause) == ("Bad", "code 7")


def test_succeed_output_path() -> None:
    assert run(single({"Type": "Succeed", "OutputPath": "$.a"}), {"a": [1]}).output == [1]


def test_execution_timeout() -> None:
    definition = {"TimeoutSeconds": 30, **single({"Type": "Wait", "Seconds": 60})}
    clock = ManualClock()
    result = run(definition, {}, clock=clock, time_scale=1)
    assert result.status is ExecutionStatus.TIMED_OUT
    assert result.error == "States.Timeout"
    assert clock.sleeps == [30.0]
    assert types(result)[-1] == "ExecutionTimedOut"


def test_abort() -> None:
    execution = Execution(load(single({"Type": "Wait", "Seconds": 30})), {}, time_scale=1)
    threading.Timer(0.1, execution.abort).start()
    started = time.monotonic()
    result = execution.run()
    assert time.monotonic() - started < 5
    assert result.status is ExecutionStatus.ABORTED
    assert result.history()[-1]["type"] == "ExecutionAborted"


def test_variables_assign_and_scope() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Assign": {"count": 1, "name.$": "$.n"}, "Next": "B"},
            "B": {
                "Type": "Pass",
                "Assign": {"count.$": "States.MathAdd($count, 1)", "old.$": "$count"},
                "Next": "C",
            },
            "C": {
                "Type": "Pass",
                "Parameters": {"count.$": "$count", "old.$": "$old", "name.$": "$name"},
                "End": True,
            },
        },
    }
    assert run(definition, {"n": "x"}).output == {"count": 2, "old": 1, "name": "x"}
