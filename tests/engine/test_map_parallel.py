"""Parallel and Map: results, context, concurrency, tolerated failures, reader/writer/batcher."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from cirrus.engine import MemoryObjectIO
from tests.engine.fakes import FakeTaskRunner, run, types


def map_machine(processor_states: dict[str, Any], start: str, **fields: Any) -> dict[str, Any]:
    return {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": start, "States": processor_states},
                "End": True,
                **fields,
            }
        },
    }


PASS = {"P": {"Type": "Pass", "End": True}}


def test_parallel_runs_every_branch_on_the_input() -> None:
    definition = {
        "StartAt": "Par",
        "States": {
            "Par": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "A",
                        "States": {"A": {"Type": "Pass", "InputPath": "$.a", "End": True}},
                    },
                    {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": "b", "End": True}}},
                ],
                "ResultPath": "$.out",
                "End": True,
            }
        },
    }
    result = run(definition, {"a": 1})
    assert result.output == {"a": 1, "out": [1, "b"]}
    assert types(result)[1:3] == ["ParallelStateEntered", "ParallelStateStarted"]
    assert types(result)[-3:] == [
        "ParallelStateSucceeded",
        "ParallelStateExited",
        "ExecutionSucceeded",
    ]


def test_parallel_branch_failure_is_caught_with_the_branch_error() -> None:
    definition = {
        "StartAt": "Par",
        "States": {
            "Par": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "F",
                        "States": {"F": {"Type": "Fail", "Error": "Oops", "Cause": "branch broke"}},
                    },
                    {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}},
                ],
                "Catch": [{"ErrorEquals": ["Oops"], "Next": "H"}],
                "End": True,
            },
            "H": {"Type": "Pass", "End": True},
        },
    }
    assert run(definition, {}).output == {"Error": "Oops", "Cause": "branch broke"}


def test_map_documented_context_example() -> None:
    definition = map_machine(
        PASS,
        "P",
        ItemSelector={"ContextIndex.$": "$$.Map.Item.Index", "ContextValue.$": "$$.Map.Item.Value"},
    )
    data = [{"who": "bob"}, {"who": "meg"}, {"who": "joe"}]
    assert run(definition, data).output == [
        {"ContextIndex": 0, "ContextValue": {"who": "bob"}},
        {"ContextIndex": 1, "ContextValue": {"who": "meg"}},
        {"ContextIndex": 2, "ContextValue": {"who": "joe"}},
    ]


def test_map_items_path_history_and_legacy_iterator() -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemsPath": "$.xs",
                "Iterator": {
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "Result": "r", "End": True}},
                },
                "End": True,
            }
        },
    }
    result = run(definition, {"xs": [1, 2]})
    assert result.output == ["r", "r"]
    history = result.history()
    started = next(e for e in history if e["type"] == "MapStateStarted")
    assert started["mapStateStartedEventDetails"] == {"length": 2}
    iterations = [
        e["mapIterationStartedEventDetails"] for e in history if e["type"] == "MapIterationStarted"
    ]
    assert iterations == [{"name": "M", "index": 0}, {"name": "M", "index": 1}]


def test_map_input_must_be_an_array() -> None:
    result = run(map_machine(PASS, "P"), {"a": 1})
    assert result.error == "States.Runtime"
    assert (result.cause or "").endswith("Map state input must be an array but was: object")


def test_map_iteration_failure_fails_the_map_with_its_error() -> None:
    processor = {"F": {"Type": "Fail", "Error": "ItemError", "Cause": "bad item"}}
    result = run(map_machine(processor, "F"), [1, 2])
    assert (result.error, result.cause) == ("ItemError", "bad item")
    assert "MapIterationFailed" in types(result) and "MapStateFailed" in types(result)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"ToleratedFailureCount": 2}, "ok"),
        ({"ToleratedFailureCount": 1}, "exceeded"),
        ({"ToleratedFailurePercentage": 50}, "ok"),
        ({"ToleratedFailurePercentage": 49}, "exceeded"),
    ],
)
def test_tolerated_failures(fields: dict[str, Any], expected: str) -> None:
    processor = {
        "C": {
            "Type": "Choice",
            "Choices": [{"Variable": "$", "NumericGreaterThan": 1, "Next": "F"}],
            "Default": "P",
        },
        "F": {"Type": "Fail", "Error": "Big"},
        "P": {"Type": "Pass", "End": True},
    }
    result = run(map_machine(processor, "C", **fields), [0, 1, 2, 3])
    if expected == "ok":
        assert result.output == [0, 1, {"Error": "Big"}, {"Error": "Big"}]
    else:
        assert (result.error, result.cause) == (
            "States.ExceedToleratedFailureThreshold",
            "The specified tolerated failure threshold was exceeded",
        )


def test_map_with_tasks_runs_concurrently_up_to_max_concurrency() -> None:
    active = {"now": 0, "max": 0}
    lock = threading.Lock()

    def work(event: Any) -> Any:
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        time.sleep(0.05)
        with lock:
            active["now"] -= 1
        return event * 10

    runner = FakeTaskRunner({"work": work})
    processor = {"T": {"Type": "Task", "Resource": "work", "End": True}}
    result = run(map_machine(processor, "T", MaxConcurrency=3), list(range(9)), runner)
    assert result.output == [i * 10 for i in range(9)]
    assert 1 < active["max"] <= 3


def test_item_batcher() -> None:
    definition = map_machine(
        PASS, "P", ItemBatcher={"MaxItemsPerBatch": 2, "BatchInput": {"factCheck": "December 2022"}}
    )
    assert run(definition, [1, 2, 3]).output == [
        {"BatchInput": {"factCheck": "December 2022"}, "Items": [1, 2]},
        {"BatchInput": {"factCheck": "December 2022"}, "Items": [3]},
    ]


def test_item_reader_csv_and_json_and_result_writer() -> None:
    store = MemoryObjectIO()
    store.put("in", "rows.csv", b"id,name\n1,a\n2,b\n")
    store.put("in", "items.json", json.dumps([{"n": 1}, {"n": 2}, {"n": 3}]).encode())
    reader_csv = {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
        "Parameters": {"Bucket": "in", "Key": "rows.csv"},
    }
    result = run(map_machine(PASS, "P", ItemReader=reader_csv), {}, object_io=store)
    assert result.output == [{"id": "1", "name": "a"}, {"id": "2", "name": "b"}]
    reader_json = {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON", "MaxItems": 2},
        "Parameters": {"Bucket": "in", "Key.$": "$.key"},
    }
    writer = {
        "Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": "out", "Prefix": "runs"},
    }
    result = run(
        map_machine(PASS, "P", ItemReader=reader_json, ResultWriter=writer),
        {"key": "items.json"},
        object_io=store,
    )
    details = result.output["ResultWriterDetails"]
    assert details["Bucket"] == "out" and details["Key"].endswith("/manifest.json")
    manifest = json.loads(store.get("out", details["Key"]))
    succeeded = json.loads(store.get("out", manifest["ResultFiles"]["SUCCEEDED"][0]["Key"]))
    assert [json.loads(record["Output"]) for record in succeeded] == [{"n": 1}, {"n": 2}]


def test_item_reader_missing_object() -> None:
    reader = {
        "Resource": "arn:aws:states:::s3:getObject",
        "Parameters": {"Bucket": "b", "Key": "nope.json"},
    }
    result = run(map_machine(PASS, "P", ItemReader=reader), {}, object_io=MemoryObjectIO())
    assert result.error == "States.ItemReaderFailed"


def test_map_variables_are_scoped_to_iterations() -> None:
    processor = {
        "A": {"Type": "Pass", "Assign": {"inner.$": "$"}, "Next": "B"},
        "B": {
            "Type": "Pass",
            "Parameters": {"inner.$": "$inner", "outer.$": "$outer"},
            "End": True,
        },
    }
    definition = {
        "StartAt": "Set",
        "States": {
            "Set": {"Type": "Pass", "Assign": {"outer": "o"}, "Next": "M"},
            "M": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "A", "States": processor},
                "Next": "After",
            },
            "After": {
                "Type": "Pass",
                "Parameters": {"outer.$": "$outer", "all.$": "$"},
                "End": True,
            },
        },
    }
    assert run(definition, [1, 2]).output == {
        "outer": "o",
        "all": [{"inner": 1, "outer": "o"}, {"inner": 2, "outer": "o"}],
    }


def test_waits_in_map_iterations_overlap_in_time() -> None:
    from cirrus.engine import ManualClock

    clock = ManualClock()
    processor = {"W": {"Type": "Wait", "Seconds": 10, "End": True}}
    result = run(map_machine(processor, "W"), [1, 2, 3], clock=clock, time_scale=0.001)
    assert result.output == [1, 2, 3]
    assert clock.sleeps == pytest.approx([0.01, 0.01, 0.01])
    assert result.stop_time - result.start_time == pytest.approx(10.03, abs=0.05)
