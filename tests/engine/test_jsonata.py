"""The JSONata query language: Arguments, Output, Assign, Condition, Items, $states."""

from __future__ import annotations

from typing import Any

import pytest

from cirrus.errors import DefinitionError
from tests.engine.fakes import FakeTaskRunner, run, single


def jsonata(definition: dict[str, Any]) -> dict[str, Any]:
    return {"QueryLanguage": "JSONata", **definition}


def test_task_arguments_output_and_assign() -> None:
    runner = FakeTaskRunner({"double": lambda e: {"value": e["n"] * 2}})
    definition = jsonata(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "double",
                    "Arguments": {"n": "{% $states.input.n + 1 %}"},
                    "Assign": {"doubled": "{% $states.result.value %}"},
                    "Output": {
                        "result": "{% $states.result.value %}",
                        "original": "{% $states.input %}",
                    },
                    "Next": "P",
                },
                "P": {
                    "Type": "Pass",
                    "Output": "{% [$doubled, $states.input.result] %}",
                    "End": True,
                },
            },
        }
    )
    result = run(definition, {"n": 2}, runner)
    assert result.output == [6, 6]
    assert runner.calls == [("lambda", "double", {"n": 3})]


def test_choice_condition_and_default() -> None:
    definition = jsonata(
        {
            "StartAt": "C",
            "States": {
                "C": {
                    "Type": "Choice",
                    "Choices": [
                        {
                            "Condition": "{% $states.input.type = 'Private' %}",
                            "Next": "Private",
                            "Output": {"p": True},
                        }
                    ],
                    "Default": "Public",
                },
                "Private": {"Type": "Pass", "End": True},
                "Public": {"Type": "Pass", "Output": "public", "End": True},
            },
        }
    )
    assert run(definition, {"type": "Private"}).output == {"p": True}
    assert run(definition, {"type": "Other"}).output == "public"


def test_map_items_and_item_selector() -> None:
    definition = jsonata(
        {
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "Items": "{% $states.input.xs %}",
                    "ItemSelector": {
                        "v": "{% $states.context.Map.Item.Value * 10 %}",
                        "i": "{% $states.context.Map.Item.Index %}",
                    },
                    "ItemProcessor": {
                        "StartAt": "P",
                        "States": {"P": {"Type": "Pass", "End": True}},
                    },
                    "End": True,
                }
            },
        }
    )
    assert run(definition, {"xs": [1, 2]}).output == [{"v": 10, "i": 0}, {"v": 20, "i": 1}]


def test_query_evaluation_error_names_state_and_event() -> None:
    definition = jsonata(single({"Type": "Pass", "Output": "{% $states.input.a + 'x' %}"}))
    result = run(definition, {"a": 1})
    assert result.error == "States.QueryEvaluationError"
    assert (result.cause or "").startswith(
        "An error occurred while executing the state 'S' (entered at the event id #2). "
        "The JSONata expression '$states.input.a + 'x'' specified for the field 'Output'"
    )


def test_query_evaluation_error_is_catchable() -> None:
    runner = FakeTaskRunner({"t": lambda e: e})
    definition = jsonata(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "t",
                    "Output": "{% $nope.x %}",
                    "Catch": [
                        {
                            "ErrorEquals": ["States.QueryEvaluationError"],
                            "Next": "H",
                            "Output": "{% $states.errorOutput.Error %}",
                        }
                    ],
                    "End": True,
                },
                "H": {"Type": "Pass", "End": True},
            },
        }
    )
    assert run(definition, {}, runner).output == "States.QueryEvaluationError"


def test_fail_and_wait_expressions() -> None:
    definition = jsonata(
        {
            "StartAt": "W",
            "States": {
                "W": {"Type": "Wait", "Seconds": "{% $states.input.s %}", "Next": "F"},
                "F": {
                    "Type": "Fail",
                    "Error": "{% 'E' & $string($states.input.s) %}",
                    "Cause": "static",
                },
            },
        }
    )
    result = run(definition, {"s": 3})
    assert (result.error, result.cause) == ("E3", "static")


@pytest.mark.parametrize("field", ["InputPath", "Parameters", "ResultPath"])
def test_jsonpath_fields_are_rejected_in_jsonata_states(field: str) -> None:
    with pytest.raises(DefinitionError, match=f"State 'S'.*{field}"):
        run(jsonata(single({"Type": "Pass", field: "$"})))


def test_bad_expression_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError, match="State 'S'"):
        run(jsonata(single({"Type": "Pass", "Output": "{% 1 + %}"})))


def test_state_level_query_language() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Parameters": {"x.$": "$.a"}, "Next": "B"},
            "B": {
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Output": "{% $states.input.x * 2 %}",
                "End": True,
            },
        },
    }
    assert run(definition, {"a": 4}).output == 8
