"""JSONPath data flow and intrinsic functions, with values from the AWS documentation."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from cirrus.engine.paths import NO_ENV, PathSyntaxError, compile_path, compile_template, set_path
from tests.engine.fakes import run, single

NINE = [1, 2, 3, 4, 5, 6, 7, 8, 9]


def pass_parameters(parameters: dict[str, Any], data: Any) -> Any:
    result = run(single({"Type": "Pass", "Parameters": parameters}), data)
    assert result.succeeded, result.error_document()
    return result.output


@pytest.mark.parametrize(
    ("expression", "data", "expected"),
    [
        pytest.param("States.Array($.Id)", {"Id": 123456}, [123456], id="Array"),
        pytest.param(
            "States.ArrayPartition($.inputArray,4)",
            {"inputArray": NINE},
            [[1, 2, 3, 4], [5, 6, 7, 8], [9]],
            id="ArrayPartition",
        ),
        pytest.param(
            "States.ArrayContains($.inputArray, $.lookingFor)",
            {"inputArray": NINE, "lookingFor": 5},
            True,
            id="ArrayContains",
        ),
        pytest.param("States.ArrayRange(1, 9, 2)", {}, [1, 3, 5, 7, 9], id="ArrayRange"),
        pytest.param(
            "States.ArrayGetItem($.inputArray, $.index)",
            {"inputArray": NINE, "index": 5},
            6,
            id="ArrayGetItem",
        ),
        pytest.param("States.ArrayLength($.inputArray)", {"inputArray": NINE}, 9, id="ArrayLength"),
        pytest.param(
            "States.ArrayUnique($.inputArray)",
            {"inputArray": [1, 2, 3, 3, 3, 3, 3, 3, 4]},
            [1, 2, 3, 4],
            id="ArrayUnique",
        ),
        pytest.param(
            "States.Base64Encode($.input)",
            {"input": "Data to encode"},
            "RGF0YSB0byBlbmNvZGU=",
            id="Base64Encode",
        ),
        pytest.param(
            "States.Base64Decode($.base64)",
            {"base64": "RGF0YSB0byBlbmNvZGU="},
            "Data to encode",
            id="Base64Decode",
        ),
        pytest.param(
            "States.Hash($.Data, $.Algorithm)",
            {"Data": "input data", "Algorithm": "SHA-1"},
            "aaff4a450a104cd177d28d18d74485e8cae074b7",
            id="Hash",
        ),
        pytest.param(
            "States.JsonMerge($.json1, $.json2, false)",
            {
                "json1": {"a": {"a1": 1, "a2": 2}, "b": 2},
                "json2": {"a": {"a3": 1, "a4": 2}, "c": 3},
            },
            {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3},
            id="JsonMerge",
        ),
        pytest.param(
            "States.StringToJson($.escapedJsonString)",
            {"escapedJsonString": '{"foo": "bar"}'},
            {"foo": "bar"},
            id="StringToJson",
        ),
        pytest.param(
            "States.JsonToString($.unescapedJson)",
            {"unescapedJson": {"foo": "bar"}},
            '{"foo":"bar"}',
            id="JsonToString",
        ),
        pytest.param(
            "States.MathAdd($.value1, $.step)", {"value1": 111, "step": -1}, 110, id="MathAdd"
        ),
        pytest.param(
            "States.StringSplit($.inputString, $.splitter)",
            {"inputString": "1,2,3,4,5", "splitter": ","},
            ["1", "2", "3", "4", "5"],
            id="StringSplit",
        ),
        pytest.param(
            "States.StringSplit($.inputString, $.splitter)",
            {"inputString": "This.is+a,test=string", "splitter": ".+,="},
            ["This", "is", "a", "test", "string"],
            id="StringSplit-many-delimiters",
        ),
        pytest.param(
            "States.Format('Hello, my name is {}.', $.name)",
            {"name": "Arnav"},
            "Hello, my name is Arnav.",
            id="Format",
        ),
        pytest.param(
            "States.Format('{} \\{\\} it\\'s {}', $.n, true)",
            {"n": 3},
            "3 {} it's true",
            id="Format-escapes",
        ),
        pytest.param(
            "States.ArrayGetItem(States.StringSplit($.arn, '/'), 1)",
            {"arn": "a/b/c"},
            "b",
            id="nested",
        ),
    ],
)
def test_intrinsic_functions(expression: str, data: Any, expected: Any) -> None:
    assert pass_parameters({"value.$": expression}, data) == {"value": expected}


def test_math_random_and_uuid() -> None:
    out = pass_parameters(
        {
            "r.$": "States.MathRandom($.start, $.end)",
            "s.$": "States.MathRandom(1, 999, 7)",
            "u.$": "States.UUID()",
        },
        {"start": 1, "end": 999},
    )
    assert 1 <= out["r"] < 999
    assert out["s"] == pass_parameters({"s.$": "States.MathRandom(1, 999, 7)"}, {})["s"]
    assert uuid.UUID(out["u"]).version == 4


def test_intrinsic_failure_is_catchable() -> None:
    definition = {
        "StartAt": "S",
        "States": {
            "S": {
                "Type": "Pass",
                "Parameters": {"v.$": "States.ArrayGetItem($.a, 5)"},
                "End": True,
            }
        },
    }
    result = run(definition, {"a": [1]})
    assert result.error == "States.IntrinsicFailure"
    assert "States.ArrayGetItem($.a, 5)" in (result.cause or "")


@pytest.mark.parametrize(
    "expression",
    ["States.Nope($.a)", "States.Format('x'", "States.ArrayLength($.a, 1)", "States.Array($.a,)"],
)
def test_bad_intrinsic_syntax_is_a_definition_error(expression: str) -> None:
    from cirrus.errors import DefinitionError

    with pytest.raises(DefinitionError, match="State 'S'"):
        run(single({"Type": "Pass", "Parameters": {"v.$": expression}}))


def test_parameters_documented_example() -> None:
    data = {
        "comment": "Example for Parameters.",
        "product": {
            "details": {"color": "blue", "size": "small", "material": "cotton"},
            "availability": "in stock",
            "sku": "2317",
            "cost": "$23",
        },
    }
    parameters = {
        "comment": "Selecting what I care about.",
        "MyDetails": {
            "size.$": "$.product.details.size",
            "exists.$": "$.product.availability",
            "StaticValue": "foo",
        },
    }
    assert pass_parameters(parameters, data) == {
        "comment": "Selecting what I care about.",
        "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"},
    }


def test_input_result_output_paths_documented_example() -> None:
    data = {
        "comment": "This is a test of the input and output of a Task state.",
        "details": "Default example",
        "who": "AWS Step Functions",
    }
    definition = single(
        {"Type": "Pass", "Result": "Hello, AWS Step Functions!", "ResultPath": "$.taskresult"}
    )
    assert run(definition, data).output == {**data, "taskresult": "Hello, AWS Step Functions!"}
    datasets = {
        "comment": "Example for InputPath.",
        "dataset1": {"val1": 1, "val2": 2, "val3": 3},
        "dataset2": {"val1": "a", "val2": "b", "val3": "c"},
    }
    assert (
        run(single({"Type": "Pass", "InputPath": "$.dataset2"}), datasets).output
        == datasets["dataset2"]
    )
    assert run(single({"Type": "Pass", "OutputPath": "$.dataset1.val2"}), datasets).output == 2
    assert (
        run(single({"Type": "Pass", "ResultPath": None, "Result": 1}), datasets).output == datasets
    )
    assert run(single({"Type": "Pass", "InputPath": None}), datasets).output == {}


def test_missing_parameter_path_is_a_runtime_error_naming_state_and_event() -> None:
    result = run(single({"Type": "Pass", "Parameters": {"x.$": "$.missing"}}), {"a": 1})
    assert result.error == "States.Runtime"
    assert result.cause == (
        "An error occurred while executing the state 'S' (entered at the event id #2). "
        "The JSONPath '$.missing' specified for the field 'x.$' "
        "could not be found in the input '{\"a\":1}'"
    )


def test_missing_input_path() -> None:
    result = run(single({"Type": "Pass", "InputPath": "$.nope"}), {"a": 1})
    assert result.cause == (
        "An error occurred while executing the state 'S' (entered at the event id #2). "
        "Invalid path '$.nope' : No results for path: $['nope']"
    )


def test_context_object() -> None:
    out = pass_parameters(
        {
            "id.$": "$$.Execution.Id",
            "state.$": "$$.State.Name",
            "input.$": "$$.Execution.Input",
            "sm.$": "$$.StateMachine.Name",
        },
        {"k": 1},
    )
    assert out["id"].startswith("arn:aws:states:us-east-1:123456789012:execution:StateMachine:")
    assert out["state"] == "S"
    assert out["input"] == {"k": 1}
    assert out["sm"] == "StateMachine"


def test_full_jsonpath_returns_lists() -> None:
    data = {"items": [{"id": 1, "ok": True}, {"id": 2, "ok": False}]}
    assert pass_parameters(
        {"ids.$": "$.items[*].id", "ok.$": "$.items[?(@.ok == true)].id"}, data
    ) == {
        "ids": [1, 2],
        "ok": [1],
    }


def test_bracket_and_index_paths() -> None:
    get = compile_path("$['a b'][1].c", field="f")
    assert get({"a b": [0, {"c": "x"}]}, NO_ENV) == "x"
    with pytest.raises(PathSyntaxError):
        compile_path("a.b", field="f")


def test_set_path_copies_only_what_changes() -> None:
    data = {"a": {"b": 1}, "c": {"d": 2}}
    out = set_path(data, ("a", "x"), 5, "$.a.x")
    assert out == {"a": {"b": 1, "x": 5}, "c": {"d": 2}}
    assert data == {"a": {"b": 1}, "c": {"d": 2}}
    assert out["c"] is data["c"]


def test_result_path_on_non_object_input() -> None:
    result = run(single({"Type": "Pass", "Result": 1, "ResultPath": "$.x"}), "text")
    assert result.error == "States.ResultPathMatchFailure"


def test_static_templates_are_not_rebuilt() -> None:
    template = compile_template({"a": [1, {"b": 2}]}, field="Parameters")
    assert template.static
    assert template.evaluate({}, NO_ENV) == {"a": [1, {"b": 2}]}
