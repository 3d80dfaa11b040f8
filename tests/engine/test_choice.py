"""Every Choice rule operator, its Path variant, Is* tests, And/Or/Not and Default."""

from __future__ import annotations

from typing import Any

import pytest

from cirrus.engine.choice import compile_rule
from cirrus.engine.paths import NO_ENV
from tests.engine.fakes import run

T1 = "2016-03-14T01:59:00Z"
T2 = "2016-03-14T02:00:00Z"


def matches(rule: dict[str, Any], data: Any) -> bool:
    return compile_rule({**rule, "Next": "X"}, field="Choices[0]")(data, NO_ENV)


@pytest.mark.parametrize(
    ("op", "left", "right", "expected"),
    [
        ("StringEquals", "a", "a", True),
        ("StringEquals", "a", "b", False),
        ("StringLessThan", "a", "b", True),
        ("StringGreaterThan", "b", "a", True),
        ("StringLessThanEquals", "a", "a", True),
        ("StringGreaterThanEquals", "a", "b", False),
        ("NumericEquals", 1, 1.0, True),
        ("NumericLessThan", 1, 2, True),
        ("NumericGreaterThan", 1, 2, False),
        ("NumericLessThanEquals", 2, 2, True),
        ("NumericGreaterThanEquals", 3, 2, True),
        ("BooleanEquals", True, True, True),
        ("BooleanEquals", False, True, False),
        ("TimestampEquals", T1, "2016-03-14T01:59:00+00:00", True),
        ("TimestampLessThan", T1, T2, True),
        ("TimestampGreaterThan", T1, T2, False),
        ("TimestampLessThanEquals", T2, T2, True),
        ("TimestampGreaterThanEquals", T1, T2, False),
    ],
)
def test_comparisons_and_path_variants(op: str, left: Any, right: Any, expected: bool) -> None:
    assert matches({"Variable": "$.l", op: right}, {"l": left}) is expected
    assert matches({"Variable": "$.l", f"{op}Path": "$.r"}, {"l": left, "r": right}) is expected


@pytest.mark.parametrize(
    ("op", "value"),
    [
        ("StringEquals", 1),
        ("NumericEquals", "1"),
        ("BooleanEquals", "true"),
        ("TimestampEquals", "yesterday"),
    ],
)
def test_wrong_type_is_false_not_an_error(op: str, value: Any) -> None:
    right = {"StringEquals": "1", "NumericEquals": 1, "BooleanEquals": True, "TimestampEquals": T1}[
        op
    ]
    assert matches({"Variable": "$.v", op: right}, {"v": value}) is False


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("log-*.txt", "log-2024.txt", True),
        ("*.log", "x.txt", False),
        ("literal\\*star", "literal*star", True),
        ("literal\\*star", "literalXstar", False),
        ("back\\\\slash*", "back\\slash-ok", True),
    ],
)
def test_string_matches(pattern: str, value: str, expected: bool) -> None:
    assert matches({"Variable": "$.v", "StringMatches": pattern}, {"v": value}) is expected


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("IsNull", None, True),
        ("IsNull", 0, False),
        ("IsNumeric", 1.5, True),
        ("IsNumeric", True, False),
        ("IsString", "x", True),
        ("IsString", 1, False),
        ("IsBoolean", False, True),
        ("IsBoolean", 0, False),
        ("IsTimestamp", T1, True),
        ("IsTimestamp", "2016-03-14", False),
    ],
)
def test_type_tests(op: str, value: Any, expected: bool) -> None:
    assert matches({"Variable": "$.v", op: True}, {"v": value}) is expected
    assert matches({"Variable": "$.v", op: False}, {"v": value}) is (not expected)


def test_is_present() -> None:
    assert matches({"Variable": "$.v", "IsPresent": True}, {"v": None}) is True
    assert matches({"Variable": "$.v", "IsPresent": True}, {}) is False
    assert matches({"Variable": "$.v", "IsPresent": False}, {}) is True


def documented_machine() -> dict[str, Any]:
    """The Choice state example of the AWS Step Functions developer guide."""
    return {
        "StartAt": "ChoiceStateX",
        "States": {
            "ChoiceStateX": {
                "Type": "Choice",
                "Choices": [
                    {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
                    {"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"},
                    {
                        "And": [
                            {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                            {"Variable": "$.value", "NumericLessThan": 30},
                        ],
                        "Next": "ValueInTwenties",
                    },
                ],
                "Default": "DefaultState",
            },
            "Public": {"Type": "Pass", "Result": "Public", "End": True},
            "ValueIsZero": {"Type": "Pass", "Result": "ValueIsZero", "End": True},
            "ValueInTwenties": {"Type": "Pass", "Result": "ValueInTwenties", "End": True},
            "DefaultState": {"Type": "Fail", "Cause": "No Matches!"},
        },
    }


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"type": "Private", "value": 22}, "ValueInTwenties"),
        ({"type": "Public", "value": 22}, "Public"),
        ({"type": "Private", "value": 0}, "ValueIsZero"),
    ],
)
def test_documented_choice_example(data: dict[str, Any], expected: str) -> None:
    assert run(documented_machine(), data).output == expected


def test_default_and_or() -> None:
    result = run(documented_machine(), {"type": "Private", "value": 35})
    assert (result.error, result.cause) == (None, "No Matches!")
    rule = {"Or": [{"Variable": "$.a", "IsNull": True}, {"Variable": "$.a", "NumericEquals": 3}]}
    assert matches(rule, {"a": 3}) and matches(rule, {"a": None}) and not matches(rule, {"a": 4})


def test_no_choice_matched() -> None:
    definition = documented_machine()
    del definition["States"]["ChoiceStateX"]["Default"]
    del definition["States"]["DefaultState"]
    result = run(definition, {"type": "Private", "value": 35})
    assert result.error == "States.NoChoiceMatched"


def test_missing_variable_is_runtime_error() -> None:
    result = run(documented_machine(), {"value": 1})
    assert result.error == "States.Runtime"
    assert result.cause == (
        "An error occurred while executing the state 'ChoiceStateX' (entered at the event id #2). "
        "Invalid path '$.type': The choice state's condition path references an invalid value."
    )


def test_choice_output_path_and_variables() -> None:
    definition = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "OutputPath": "$.x",
                "Choices": [
                    {"Variable": "$x", "IsPresent": False, "Next": "P", "Assign": {"x.$": "$.x"}}
                ],
            },
            "P": {"Type": "Pass", "Parameters": {"seen.$": "$x"}, "End": True},
        },
    }
    assert run(definition, {"x": 7}).output == {"seen": 7}
