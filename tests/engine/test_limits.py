"""The 256 KiB result limit: the quick marshal bound never calls a large result small, and a
resource that spills big results hands on a reference instead of failing the state."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cirrus.engine import (
    ExecutionResult,
    ExecutionStatus,
    PythonFunctions,
    Spill,
    StateMachine,
    TaskHandler,
    TaskTarget,
    run_execution,
)
from cirrus.engine.limits import MAX_RESULT_BYTES, result_too_large


def exact(value: Any) -> bool:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode("utf-8")) > MAX_RESULT_BYTES


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"x": "a" * (257 * 1024)}, id="one-long-string"),
        pytest.param({"x": "a" * (255 * 1024)}, id="just-under"),
        pytest.param(["\x01" * 50_000], id="escaped-control-characters-over"),
        pytest.param(["\x01" * 40_000], id="escaped-control-characters-under"),
        pytest.param([True] * 60_000, id="booleans-over"),
        pytest.param([None] * 40_000, id="nulls-under"),
        pytest.param({"a": [0.30000000000000004] * 15_000}, id="long-floats-over"),
        pytest.param(["é" * 100_000, "ü" * 40_000], id="two-byte-characters-over"),
        pytest.param([{"k": "v" * 100}] * 3000, id="one-object-many-times-over"),
        pytest.param(("a" * 300_000,), id="a-tuple"),
    ],
)
def test_bound_agrees_with_json(value: Any) -> None:
    assert result_too_large(value) == exact(value)


class Spilling:
    """A resolver whose one function spills results past ``above`` bytes into ``stored``."""

    def __init__(self, output: Any, above: int) -> None:
        self.output = output
        self.above = above
        self.stored: list[Any] = []

    def resolve(self, target: TaskTarget) -> TaskHandler:
        def store(result: Any) -> Any:
            self.stored.append(result)
            return {"url": f"memory://results/{len(self.stored)}.json"}

        return TaskHandler(lambda payload, timeout: self.output, spill=Spill(self.above, store))


def _run(resource: str, resolver: Spilling) -> ExecutionResult:
    parameters = {"FunctionName": "f", "Payload.$": "$"} if resource.startswith("arn:") else None
    state: dict[str, Any] = {"Type": "Task", "Resource": resource, "End": True}
    if parameters:
        state["Parameters"] = parameters
    machine = StateMachine.from_dict({"StartAt": "T", "States": {"T": state}}, resolver=resolver)
    return run_execution(machine, {})


@pytest.mark.parametrize("resource", ["cirrus:lambda:f", "arn:aws:states:::lambda:invoke"])
def test_a_result_past_the_spill_limit_is_handed_on_by_reference(resource: str) -> None:
    big = {"x": "a" * 300_000}
    resolver = Spilling(big, above=250_000)

    result = _run(resource, resolver)

    assert result.status is ExecutionStatus.SUCCEEDED, result.cause
    assert resolver.stored == [big]
    reference = {"url": "memory://results/1.json"}
    # lambda:invoke wraps what the function returned, here the reference
    wrapped = result.output.get("Payload", result.output)
    assert wrapped == reference


def test_a_result_under_the_spill_limit_stays_whole() -> None:
    small = {"x": "a" * 1000}
    resolver = Spilling(small, above=250_000)

    result = _run("cirrus:lambda:f", resolver)

    assert result.output == small
    assert resolver.stored == []


def test_without_a_spill_a_big_result_fails_the_state() -> None:
    machine = StateMachine.from_dict(
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "f", "End": True}}},
        resolver=PythonFunctions({"f": lambda event: {"x": "a" * 300_000}}),
    )

    result = run_execution(machine, {})

    assert result.status is ExecutionStatus.FAILED
    assert result.error == "States.DataLimitExceeded"


def test_lambda_invoke_spills_for_a_function_named_at_run_time() -> None:
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName.$": "$.fn", "Payload.$": "$"},
        "OutputPath": "$.Payload",
        "End": True,
    }
    resolver = Spilling({"x": "a" * 300_000}, above=250_000)
    machine = StateMachine.from_dict({"StartAt": "T", "States": {"T": state}}, resolver=resolver)

    result = run_execution(machine, {"fn": "f"})

    assert result.status is ExecutionStatus.SUCCEEDED, result.cause
    assert result.output == {"url": "memory://results/1.json"}
