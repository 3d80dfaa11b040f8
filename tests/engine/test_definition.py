"""Static validation: every problem is reported at load time and names the state."""

from __future__ import annotations

from typing import Any

import pytest

from cirrus.engine import StateMachine
from cirrus.errors import DefinitionError
from tests.engine.fakes import FakeTaskRunner


def problems(definition: Any) -> str:
    with pytest.raises(DefinitionError) as caught:
        StateMachine.from_dict(definition, resolver=FakeTaskRunner())
    return str(caught.value)


def test_unknown_next_unreachable_and_missing_terminal() -> None:
    message = problems(
        {
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Next": "Nowhere"},
                "B": {"Type": "Pass", "Next": "A"},
            },
        }
    )
    assert "State 'A': MISSING_TRANSITION_TARGET: no state named 'Nowhere'" in message
    assert "State 'B': UNREACHABLE_STATE" in message
    loop = problems({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}})
    assert "MISSING_TERMINAL_STATE" in loop


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({"Type": "Pass"}, "exactly one of 'Next' or 'End'"),
        ({"Type": "Pass", "End": True, "InputPath": "$.a[?("}, "invalid JSONPath"),
        ({"Type": "Pass", "End": True, "ResultPath": "$.a[*]"}, "not a valid reference path"),
        ({"Type": "Pass", "End": True, "Resource": "x"}, "SCHEMA_VALIDATION_FAILED"),
        ({"Type": "Nope"}, "Type must be one of"),
        ({"Type": "Wait", "End": True}, "exactly one of Seconds"),
        ({"Type": "Choice", "Choices": []}, "Choices must be a non-empty array"),
        (
            {"Type": "Choice", "Choices": [{"Variable": "$.a", "NumericEquals": "1", "Next": "S"}]},
            "must be a numeric value",
        ),
        (
            {"Type": "Task", "Resource": "x", "End": True},
            "no function named 'x'",
        ),
        (
            {"Type": "Pass", "End": True, "Parameters": {"a.$": "States.Format('x', $.b"}},
            "invalid intrinsic function",
        ),
        (
            {
                "Type": "Parallel",
                "End": True,
                "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "Y"}}}],
            },
            "no state named 'Y'",
        ),
    ],
)
def test_state_problems_name_the_state(state: dict[str, Any], expected: str) -> None:
    message = problems({"StartAt": "S", "States": {"S": state}})
    assert "State 'S'" in message
    assert expected in message


def test_retry_and_catch_rules_are_checked() -> None:
    message = problems(
        {
            "StartAt": "S",
            "States": {
                "S": {
                    "Type": "Parallel",
                    "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Succeed"}}}],
                    "Retry": [{"ErrorEquals": ["States.ALL", "Other"]}],
                    "End": True,
                }
            },
        }
    )
    assert "States.ALL must appear alone" in message


def test_yaml_and_wrapped_definitions(tmp_path: Any) -> None:
    path = tmp_path / "wf.yml"
    path.write_text("definition:\n  StartAt: A\n  States:\n    A: {Type: Succeed}\n")
    machine = StateMachine.from_file(path)
    assert machine.name == "wf" and list(machine.graph.states) == ["A"]
    bad = tmp_path / "bad.yml"
    bad.write_text("StartAt: [unclosed\n")
    with pytest.raises(DefinitionError, match="neither valid JSON nor YAML"):
        StateMachine.from_file(bad)
