"""Task state history, event by event, and the private copy of its input a task gets."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from cirrus.engine import Execution, ExecutionStatus, ManualClock
from tests.engine.fakes import FakeTaskRunner, load, run

THREE_TASKS = {
    "StartAt": "stamp",
    "States": {
        "stamp": {"Type": "Task", "Resource": "stamp", "Next": "tag"},
        "tag": {"Type": "Task", "Resource": "tag", "End": True},
    },
}
T0 = 1_700_000_000.0
ISO0 = "2023-11-14T22:13:20.000Z"
ROLE = "arn:aws:iam::123456789012:role/cirrus-local"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:StateMachine"
TASK = {"resourceType": "lambda", "resource": "invoke"}


def stamp(event: dict[str, Any]) -> dict[str, Any]:
    event["stamped"] = True
    return event


def tag(event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "tag": "a"}


def two_tasks() -> Any:
    runner = FakeTaskRunner({"stamp": stamp, "tag": tag})
    return run(THREE_TASKS, {"n": 1}, runner, clock=ManualClock(T0), name="run-1")


def test_task_events_are_recorded_as_plain_dicts() -> None:
    stamped = {"n": 1, "stamped": True}
    tagged = {"n": 1, "stamped": True, "tag": "a"}

    def task_events(first: int, name: str, data: Any, output: Any) -> list[dict[str, Any]]:
        head = {"timestamp": T0}
        return [
            {
                "id": first,
                # AWS: the first state entered follows no event (previousEventId 0)
                "previousEventId": 0 if first == 2 else first - 1,
                **head,
                "type": "TaskStateEntered",
                "stateEnteredEventDetails": {"name": name, "input": data},
            },
            {
                "id": first + 1,
                "previousEventId": first,
                **head,
                "type": "TaskScheduled",
                "taskScheduledEventDetails": {**TASK, "region": "us-east-1", "parameters": data},
            },
            {
                "id": first + 2,
                "previousEventId": first + 1,
                **head,
                "type": "TaskStarted",
                "taskStartedEventDetails": TASK,
            },
            {
                "id": first + 3,
                "previousEventId": first + 2,
                **head,
                "type": "TaskSucceeded",
                "taskSucceededEventDetails": {**TASK, "output": output},
            },
            {
                "id": first + 4,
                "previousEventId": first + 3,
                **head,
                "type": "TaskStateExited",
                "stateExitedEventDetails": {"name": name, "output": output},
            },
        ]

    result = two_tasks()
    assert result.output == tagged
    assert result.events == [
        {
            "id": 1,
            "previousEventId": 0,
            "timestamp": T0,
            "type": "ExecutionStarted",
            "executionStartedEventDetails": {
                "input": {"n": 1},
                "roleArn": ROLE,
                "stateMachineArn": MACHINE,
            },
        },
        *task_events(2, "stamp", {"n": 1}, stamped),
        *task_events(7, "tag", stamped, tagged),
        {
            "id": 12,
            "previousEventId": 11,
            "timestamp": T0,
            "type": "ExecutionSucceeded",
            "executionSucceededEventDetails": {"output": tagged},
        },
    ]
    assert (result.start_time, result.stop_time, result.transitions) == (T0, T0, 2)


def test_history_export_of_task_events() -> None:
    history = two_tasks().history()
    assert [event["id"] for event in history] == list(range(1, 13))
    assert {event["timestamp"] for event in history} == {ISO0}
    assert history[0]["executionStartedEventDetails"] == {
        "input": '{"n":1}',
        "inputDetails": {"truncated": False},
        "roleArn": ROLE,
        "stateMachineArn": MACHINE,
    }
    assert history[2] == {
        "id": 3,
        "previousEventId": 2,
        "timestamp": ISO0,
        "type": "TaskScheduled",
        "taskScheduledEventDetails": {
            **TASK,
            "region": "us-east-1",
            "parameters": '{"n":1}',
            "parametersDetails": {"truncated": False},
        },
    }
    assert history[3]["taskStartedEventDetails"] == TASK
    assert history[4]["taskSucceededEventDetails"] == {
        **TASK,
        "output": '{"n":1,"stamped":true}',
        "outputDetails": {"truncated": False},
    }
    assert history[-1]["executionSucceededEventDetails"] == {
        "output": '{"n":1,"stamped":true,"tag":"a"}',
        "outputDetails": {"truncated": False},
    }


def test_a_task_changing_its_input_changes_neither_history_nor_caller_data() -> None:
    data = {"n": 1, "nested": {"list": [1, {"deep": "x"}]}}

    def scribble(event: dict[str, Any]) -> dict[str, Any]:
        event["nested"]["list"][1]["deep"] = "changed"
        event["nested"]["list"].append(2)
        return {"done": True}

    state = {"Type": "Task", "Resource": "s", "ResultPath": "$.r", "End": True}
    result = run({"StartAt": "S", "States": {"S": state}}, data, FakeTaskRunner({"s": scribble}))
    original = {"n": 1, "nested": {"list": [1, {"deep": "x"}]}}
    assert data == original
    assert result.output == {**original, "r": {"done": True}}
    entered = result.history()[1]["stateEnteredEventDetails"]["input"]
    assert entered == '{"n":1,"nested":{"list":[1,{"deep":"x"}]}}'


class Colour(StrEnum):
    RED = "red"


def test_a_task_gets_its_input_as_json_would_carry_it() -> None:
    seen: list[Any] = []

    def record(event: Any) -> Any:
        seen.append(event)
        return None

    data = {"tuple": (1, 2), "keys": {1: "a", None: "b"}, "enum": Colour.RED, "f": 1.5}
    state = {"Type": "Task", "Resource": "r", "End": True}
    run({"StartAt": "S", "States": {"S": state}}, data, FakeTaskRunner({"r": record}))
    assert seen == [{"tuple": [1, 2], "keys": {"1": "a", "null": "b"}, "enum": "red", "f": 1.5}]
    assert type(seen[0]["enum"]) is str


def test_context_times_are_iso_milliseconds() -> None:
    state = {
        "Type": "Pass",
        "Parameters": {"start.$": "$$.Execution.StartTime", "entered.$": "$$.State.EnteredTime"},
        "End": True,
    }
    result = run({"StartAt": "S", "States": {"S": state}}, {}, clock=ManualClock(T0 + 0.1239))
    assert result.output == {
        "start": "2023-11-14T22:13:20.123Z",
        "entered": "2023-11-14T22:13:20.123Z",
    }
    assert result.history()[0]["timestamp"] == "2023-11-14T22:13:20.123Z"


def test_abort_before_the_run_ends_it_at_once() -> None:
    execution = Execution(load(THREE_TASKS, FakeTaskRunner({"stamp": stamp, "tag": tag})), {})
    execution.abort("Stopped", "by hand")
    result = execution.run()
    assert (result.status, result.error, result.cause) == (
        ExecutionStatus.ABORTED,
        "Stopped",
        "by hand",
    )
    assert [event["type"] for event in result.events] == ["ExecutionStarted", "ExecutionAborted"]


def test_retry_jitter_is_reproducible_with_a_seed() -> None:
    def fail(event: Any) -> Any:
        raise RuntimeError("again")

    state = {
        "Type": "Task",
        "Resource": "fail",
        "Retry": [
            {
                "ErrorEquals": ["States.ALL"],
                "IntervalSeconds": 4,
                "MaxAttempts": 3,
                "JitterStrategy": "FULL",
            }
        ],
        "End": True,
    }
    definition = {"StartAt": "S", "States": {"S": state}}
    sleeps = []
    for _ in range(2):
        clock = ManualClock(T0)
        run(definition, {}, FakeTaskRunner({"fail": fail}), clock=clock, time_scale=1, seed=7)
        sleeps.append(clock.sleeps)
    assert len(sleeps[0]) == 3
    assert sleeps[0] == sleeps[1]
    assert sleeps[0] != [4.0, 8.0, 16.0]
    assert all(0.0 <= delay <= limit for delay, limit in zip(sleeps[0], (4, 8, 16), strict=True))
