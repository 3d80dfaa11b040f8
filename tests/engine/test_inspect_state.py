"""Testing one state, as AWS's TestState API does: library call and ``cirrus statemachine
test-state``. Expected shapes follow test_state/test_test_state_scenarios (recorded on AWS)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cirrus.cli.statemachine import statemachine
from cirrus.engine import PythonFunctions, StateMachine, inspect_state, single_state_machine
from cirrus.errors import DefinitionError

INPUT = {
    "initialData": {"fieldFromInput": "value from input", "otherField": "other"},
    "unrelatedData": {"someOtherField": 1234},
}
SHAPE = {
    "Type": "Pass",
    "InputPath": "$.initialData",
    "Parameters": {"staticValue": "some value", "inputValue.$": "$.fieldFromInput"},
    "ResultPath": "$.modifiedData",
    "Next": "Publish",
}
MODIFIED = {"staticValue": "some value", "inputValue": "value from input"}


def machine(states: dict[str, Any], **functions: Any) -> StateMachine:
    """A machine of one state; the states it goes to are stand-ins."""
    ((name, state),) = states.items()
    return StateMachine.from_dict(
        single_state_machine(state, name), resolver=PythonFunctions(functions)
    )


def test_pass_info_gives_output_and_next_state() -> None:
    # test_base_inspection_level_info[IO_PASS_STATE]: output and status, no inspection data.
    result = inspect_state(machine({"Shape": SHAPE}), "Shape", INPUT).to_dict()
    assert result == {
        "output": {**INPUT, "modifiedData": MODIFIED},
        "nextState": "Publish",
        "status": "SUCCEEDED",
    }


def test_pass_debug_gives_each_step() -> None:
    # test_base_inspection_level_debug[IO_PASS_STATE]: the data after each step.
    result = inspect_state(machine({"Shape": SHAPE}), "Shape", INPUT, inspection_level="DEBUG")
    assert result.inspection == {
        "input": INPUT,
        "afterInputPath": INPUT["initialData"],
        "afterParameters": MODIFIED,
        "afterResultSelector": MODIFIED,
        "afterResultPath": {**INPUT, "modifiedData": MODIFIED},
    }


def test_task_debug_shows_result_and_selector() -> None:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double",
        "Parameters": {"n.$": "$.n"},
        "ResultSelector": {"twice.$": "$.n"},
        "ResultPath": "$.out",
        "OutputPath": "$.out",
        "End": True,
    }
    m = machine({"Double": task}, double=lambda event: {"n": event["n"] * 2})
    result = inspect_state(m, "Double", {"n": 4}, inspection_level="TRACE")
    assert result.status == "SUCCEEDED" and result.output == {"twice": 8}
    assert result.next_state is None
    assert result.inspection == {
        "input": {"n": 4},
        "afterInputPath": {"n": 4},
        "afterParameters": {"n": 4},
        "result": {"n": 8},
        "afterResultSelector": {"twice": 8},
        "afterResultPath": {"n": 4, "out": {"twice": 8}},
    }


def test_fail_state_gives_error_and_cause() -> None:
    # test_base_inspection_level_info[BASE_FAIL_STATE].
    fail = {"Type": "Fail", "Error": "SomeFailure", "Cause": "it failed"}
    result = inspect_state(machine({"Stop": fail}), "Stop", {"Value": "x"}).to_dict()
    assert result == {"status": "FAILED", "error": "SomeFailure", "cause": "it failed"}


def test_choice_gives_the_chosen_next_state() -> None:
    # test_base_inspection_level_info[BASE_CHOICE_STATE].
    choice = {
        "Type": "Choice",
        "Choices": [{"Variable": "$.value", "NumericGreaterThan": 20, "Next": "Publish"}],
        "Default": "Done",
    }
    result = inspect_state(machine({"Pick": choice}), "Pick", {"value": 22})
    assert (result.status, result.next_state, result.output) == (
        "SUCCEEDED",
        "Publish",
        {"value": 22},
    )


def failing(event: Any) -> Any:
    raise ValueError("bad input")


@pytest.mark.parametrize(
    ("rules", "status", "next_state", "output"),
    [
        pytest.param({}, "FAILED", None, None, id="failed"),
        pytest.param(
            {"Retry": [{"ErrorEquals": ["ValueError"]}]}, "RETRIABLE", None, None, id="retriable"
        ),
        pytest.param(
            {"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled", "ResultPath": "$.e"}]},
            "CAUGHT_ERROR",
            "Handled",
            {"a": 1, "e": {"Error": "ValueError", "Cause": "bad input"}},
            id="caught",
        ),
    ],
)
def test_task_errors(
    rules: dict[str, Any], status: str, next_state: str | None, output: Any
) -> None:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:failing",
        "End": True,
        **rules,
    }
    result = inspect_state(machine({"Call": task}, failing=failing), "Call", {"a": 1})
    assert (result.status, result.next_state, result.error) == (status, next_state, "ValueError")
    assert result.cause == "bad input"
    assert result.to_dict().get("output") == output


def test_variables_are_in_scope_and_assignments_shown() -> None:
    state = {
        "Type": "Pass",
        "Parameters": {"greeting.$": "States.Format('hi {}', $name)"},
        "Assign": {"count.$": "States.MathAdd($count, 1)"},
        "End": True,
    }
    result = inspect_state(
        machine({"Greet": state}),
        "Greet",
        {},
        variables={"name": "ana", "count": 1},
        inspection_level="DEBUG",
    )
    assert result.output == {"greeting": "hi ana"}
    assert result.inspection is not None
    assert json.loads(result.inspection["variables"]) == {"name": "ana", "count": 2}


def test_jsonata_task_shows_arguments_and_result() -> None:
    task = {
        "Type": "Task",
        "QueryLanguage": "JSONata",
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double",
        "Arguments": {"n": "{% $states.input.n + 1 %}"},
        "Output": "{% $states.result.n %}",
        "End": True,
    }
    m = machine({"Double": task}, double=lambda event: {"n": event["n"] * 2})
    result = inspect_state(m, "Double", {"n": 1}, inspection_level="DEBUG")
    assert result.output == 4
    assert result.inspection == {"input": {"n": 1}, "afterArguments": {"n": 2}, "result": {"n": 4}}


def test_unknown_state_and_level_are_refused() -> None:
    m = machine({"Shape": SHAPE})
    with pytest.raises(DefinitionError, match="no state named 'Nope'"):
        inspect_state(m, "Nope", {})
    with pytest.raises(DefinitionError, match="unknown inspection level"):
        inspect_state(m, "Shape", {}, inspection_level="LOUD")


def test_single_state_machine_stands_in_for_targets() -> None:
    wrapped = single_state_machine(SHAPE, "Shape")
    assert wrapped["StartAt"] == "Shape" and wrapped["States"]["Publish"] == {"Type": "Succeed"}


# --------------------------------------------------------------------------- CLI


def write(tmp_path: Path, name: str, value: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(value))
    return str(path)


def invoke(*args: str) -> Any:
    return CliRunner().invoke(statemachine, ["test-state", *args])


def test_cli_whole_definition_debug(tmp_path: Path) -> None:
    definition = write(
        tmp_path,
        "m.json",
        {"StartAt": "Shape", "States": {"Shape": SHAPE, "Publish": {"Type": "Succeed"}}},
    )
    data = write(tmp_path, "in.json", INPUT)
    result = invoke(definition, "--state", "Shape", "--input", data, "--inspection-level", "DEBUG")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["nextState"] == "Publish" and printed["status"] == "SUCCEEDED"
    assert printed["inspectionData"]["afterParameters"] == MODIFIED


def test_cli_single_state_with_variables(tmp_path: Path) -> None:
    state = {"Type": "Pass", "Parameters": {"who.$": "$name"}, "Next": "Elsewhere"}
    definition = write(tmp_path, "state.json", state)
    data = write(tmp_path, "in.json", {})
    variables = write(tmp_path, "vars.json", {"name": "ana"})
    result = invoke(definition, "--input", data, "--variables", variables)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "output": {"who": "ana"},
        "nextState": "Elsewhere",
        "status": "SUCCEEDED",
    }


def test_cli_failed_state_exits_1(tmp_path: Path) -> None:
    definition = write(tmp_path, "state.json", {"Type": "Fail", "Error": "E", "Cause": "c"})
    result = invoke(definition, "--input", write(tmp_path, "in.json", {}))
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"status": "FAILED", "error": "E", "cause": "c"}


def test_cli_needs_state_when_several(tmp_path: Path) -> None:
    definition = write(
        tmp_path,
        "m.json",
        {"StartAt": "Shape", "States": {"Shape": SHAPE, "Publish": {"Type": "Succeed"}}},
    )
    result = invoke(definition, "--input", write(tmp_path, "in.json", {}))
    assert result.exit_code == 2
    assert "--state NAME" in result.stderr and result.stdout == ""


def test_cli_unknown_state(tmp_path: Path) -> None:
    definition = write(
        tmp_path,
        "m.json",
        {"StartAt": "Shape", "States": {"Shape": SHAPE, "Publish": {"Type": "Succeed"}}},
    )
    result = invoke(definition, "--state", "Nope", "--input", write(tmp_path, "in.json", {}))
    assert result.exit_code == 2
    assert "no state named 'Nope'" in result.stderr
