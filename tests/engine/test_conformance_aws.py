"""The engine gives what AWS Step Functions gives.

Each case is our own definition and input; the expected output, or error and cause, is
what AWS returned for the same behaviour, as publicly recorded in LocalStack's Step
Functions test suite (``tests/aws/services/stepfunctions/v2/**/*.snapshot.json``, recorded
against AWS) or stated in the AWS Step Functions developer guide. Each case's ``pins``
names the recording (snapshot file without ``.snapshot.json``, then the test) or the
guide page it follows. Values such as ``1.49`` are facts AWS was measured on; the
definitions around them are ours.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from cirrus.engine import PythonFunctions, StateMachine, run_execution
from cirrus.engine.results import ExecutionResult

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class Case:
    """One recorded behaviour.

    Attributes:
        pins: the AWS recording (``snapshot::test``) or guide page this case follows.
        definition: our state machine.
        input: the execution input.
        output: the output AWS gave (when ``error`` is None).
        error: the error name AWS gave, or None for success.
        cause: the cause AWS gave (exact).
        tasks: Python functions the definition's Task states call.
    """

    pins: str
    definition: dict[str, Any]
    input: Any = None
    output: Any = None
    error: str | None = None
    cause: str | None = None
    tasks: dict[str, Any] = field(default_factory=dict)


def run(case: Case) -> ExecutionResult:
    machine = StateMachine.from_dict(case.definition, resolver=PythonFunctions(case.tasks))
    return run_execution(machine, case.input, time_scale=0)


def check(case: Case) -> None:
    result = run(case)
    if case.error is None:
        assert result.succeeded, (result.error, result.cause)
        assert result.output == case.output
    else:
        assert result.error == case.error
        assert result.cause == case.cause


def entered(state: str, event: int) -> str:
    return (
        f"An error occurred while executing the state '{state}' "
        f"(entered at the event id #{event}). "
    )


# --------------------------------------------------------------------------- definitions


def jsonata_out(expression: str, *, key: str | None = None) -> dict[str, Any]:
    """A one-Pass JSONata machine whose Output is ``expression`` (under ``key``)."""
    output: Any = f"{{% {expression} %}}" if key is None else {key: f"{{% {expression} %}}"}
    return {
        "QueryLanguage": "JSONata",
        "StartAt": "Compute",
        "States": {"Compute": {"Type": "Pass", "Output": output, "End": True}},
    }


def intrinsic(expression: str) -> dict[str, Any]:
    """A one-Pass JSONPath machine putting ``expression`` under ``value``."""
    return {
        "StartAt": "Compute",
        "States": {"Compute": {"Type": "Pass", "Parameters": {"value.$": expression}, "End": True}},
    }


def one(value: Any) -> dict[str, Any]:
    return {"value": value}


CASES: list[Any] = []


def add(case_id: str, case: Case) -> None:
    CASES.append(pytest.param(case, id=case_id))


# --------------------------------------------------------------------------- $partition
# test_array_jsonata::test_array_partition: arrays [0..n-1], n = 1..4, chunk sizes 1..5.
for length in range(1, 5):
    for size in range(1, 6):
        items = list(range(length))
        add(
            f"partition-{length}-by-{size}",
            Case(
                pins="intrinsic_functions/test_array_jsonata::test_array_partition",
                definition=jsonata_out("$partition($states.input.list, $states.input.size)"),
                input={"list": items, "size": size},
                output=[items[i : i + size] for i in range(0, length, size)],
            ),
        )

# --------------------------------------------------------------------------- $range
for start, end, step, expected in [
    (0, 9, 3, [0, 3, 6, 9]),
    (0, 10, 3, [0, 3, 6, 9]),
    (1, 9, 9, 1),  # a range of one number is that number on AWS (a JSONata sequence)
    (1, 9, 2, [1, 3, 5, 7, 9]),
]:
    add(
        f"range-{start}-{end}-{step}",
        Case(
            pins="intrinsic_functions/test_array_jsonata::test_array_range",
            definition=jsonata_out("$range($states.input.a, $states.input.b, $states.input.c)"),
            input={"a": start, "b": end, "c": step},
            output=expected,
        ),
    )
add(
    "range-guide-even-numbers",
    Case(
        pins="AWS guide, Transforming data with JSONata: $range(0, 10, 2)",
        definition=jsonata_out("$range(0, 10, 2)"),
        output=[0, 2, 4, 6, 8, 10],
    ),
)
add(
    "partition-guide-example",
    Case(
        pins="AWS guide, Transforming data with JSONata: $partition([1..9], 3)",
        definition=jsonata_out("$partition([1, 2, 3, 4, 5, 6, 7, 8, 9], 3)"),
        output=[[1, 2, 3], [4, 5, 6], [7, 8, 9]],
    ),
)

# --------------------------------------------------------------------------- $parse
for text, expected in [
    ("-0", 0),
    ("1", 1),
    ("1.1", 1.1),
    ("true", True),
    ('"HelloWorld"', "HelloWorld"),
    ('[1, 2, "HelloWorld"]', [1, 2, "HelloWorld"]),
    ('{"Arg1": 1, "Arg2": []}', {"Arg1": 1, "Arg2": []}),
]:
    add(
        f"parse-{text}",
        Case(
            pins="intrinsic_functions/test_json_manipulation_jsonata::test_parse",
            definition=jsonata_out("$parse($states.input.text)"),
            input={"text": text},
            output=expected,
        ),
    )

# --------------------------------------------------------------------------- $hash
# The digests AWS returned for "input data" (test_hash_calculations::test_hash, the
# States.Hash intrinsic); the guide gives $hash the same algorithms.
DIGESTS = {
    "MD5": "812f45842bc6d66ee14572ce20db8e86",
    "SHA-1": "aaff4a450a104cd177d28d18d74485e8cae074b7",
    "SHA-256": "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3",
    "SHA-384": "d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b"
    "87525bdc835ebb27e1fb9e9374a15562",
    "SHA-512": "6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce"
    "2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4",
}
for algorithm, digest in DIGESTS.items():
    add(
        f"jsonata-hash-{algorithm}",
        Case(
            pins="intrinsic_functions/test_hash_calculations::test_hash + AWS guide $hash",
            definition=jsonata_out("$hash($states.input.data, $states.input.algorithm)"),
            input={"data": "input data", "algorithm": algorithm},
            output=digest,
        ),
    )
    add(
        f"intrinsic-hash-{algorithm}",
        Case(
            pins="intrinsic_functions/test_hash_calculations::test_hash",
            definition=intrinsic("States.Hash($.data, $.algorithm)"),
            input={"data": "input data", "algorithm": algorithm},
            output=one(digest),
        ),
    )

# An unknown function is JSONata's T1006, and AWS writes the nested field with '/'.
add(
    "jsonata-unknown-function-T1006",
    Case(
        pins="intrinsic_functions/test_math_operations_jsonata::test_math_random_seeded",
        definition=jsonata_out("$randomSeeded($states.input.seed)", key="FunctionResult"),
        input={"seed": "fst"},
        error="States.QueryEvaluationError",
        cause=entered("Compute", 2)
        + "The JSONata expression '$randomSeeded($states.input.seed)' specified for the field "
        "'Output/FunctionResult' threw an error during evaluation. "
        "T1006: Attempted to invoke a non-function",
    ),
)

# --------------------------------------------------------------------------- States.MathAdd
# AWS rounds each argument half up (Java Math.round), then adds.
for a, b, total in [
    (-9, 3, -6),
    (1.49, 1.5, 3),
    (1.5, 1.51, 4),
    (-1.49, -1.5, -2),
    (-1.5, -1.51, -3),
    (1.49, 0, 1),
    (1.49, -1.49, 0),
    (1.5, 0, 2),
    (1.51, 0, 2),
    (-1.49, 0, -1),
    (-1.5, 0, -1),
    (-1.51, 0, -2),
    (0.5, 0, 1),
    (2.5, 0, 3),
    (3.5, 0, 4),
    (-0.5, 0.5, 1),
    (-0.5, 0, 0),
    (-2.5, 0, -2),
    (-3.5, 0, -3),
]:
    add(
        f"mathadd-{a}-{b}",
        Case(
            pins="intrinsic_functions/test_math_operations::test_math_add",
            definition=intrinsic("States.MathAdd($.a, $.b)"),
            input={"a": a, "b": b},
            output=one(total),
        ),
    )

# --------------------------------------------------------------------------- States.Format
FORMAT_ONE = "States.Format('Formatting argument {}.', $.arg)"
for value, text in [
    ("", "Formatting argument ."),
    (" ", "Formatting argument  ."),
    ("HelloWorld", "Formatting argument HelloWorld."),
    (None, "Formatting argument null."),
    (1, "Formatting argument 1."),
    (1.1, "Formatting argument 1.1."),
    ('{"Arg1": 1, "Arg2": []}', 'Formatting argument {"Arg1": 1, "Arg2": []}.'),
]:
    add(
        f"format-one-{value!r}",
        Case(
            pins="intrinsic_functions/test_generic::test_format_1",
            definition=intrinsic(FORMAT_ONE),
            input={"arg": value},
            output=one(text),
        ),
    )
FORMAT_TWO = "States.Format('Formatting arguments fst={} and snd={}.', $.fst, $.snd)"
for value, shown in [
    (None, "null"),
    (1, "1"),
    ("HelloWorld", "HelloWorld"),
    ({"Arg1": 1, "Arg2": []}, "{Arg1=1, Arg2=[]}"),  # Java's Map.toString
]:
    add(
        f"format-two-{shown}",
        Case(
            pins="intrinsic_functions/test_generic::test_format_2",
            definition=intrinsic(FORMAT_TWO),
            input={"fst": value, "snd": value},
            output=one(f"Formatting arguments fst={shown} and snd={shown}."),
        ),
    )

# --------------------------------------------------------------------------- other intrinsics
for text, separators, parts in [
    (" ", ",", [" "]),
    (" , ", ",", [" ", " "]),
    (", , ,", ",", [" ", " "]),
    (",,,,", ",", []),
    ("1,2,3,4,5", ",", ["1", "2", "3", "4", "5"]),
    ("This.is+a,test=string", ".+,=", ["This", "is", "a", "test", "string"]),
    ("split on T and \nnew line", "T\n", ["split on ", " and ", "new line"]),
]:
    add(
        f"stringsplit-{text!r}",
        Case(
            pins="intrinsic_functions/test_string_operations::test_string_split",
            definition=intrinsic("States.StringSplit($.text, $.by)"),
            input={"text": text, "by": separators},
            output=one(parts),
        ),
    )
for text, encoded in [("", ""), ("Data to encode", "RGF0YSB0byBlbmNvZGU=")]:
    add(
        f"base64-encode-{text!r}",
        Case(
            pins="intrinsic_functions/test_encode_decode::test_base_64_encode",
            definition=intrinsic("States.Base64Encode($.text)"),
            input={"text": text},
            output=one(encoded),
        ),
    )
    add(
        f"base64-decode-{encoded!r}",
        Case(
            pins="intrinsic_functions/test_encode_decode::test_base_64_decode",
            definition=intrinsic("States.Base64Decode($.text)"),
            input={"text": encoded},
            output=one(text),
        ),
    )
for array, size, chunks in [
    ([], 1, []),
    ([0], 3, [[0]]),
    ([0, 1, 2], 2, [[0, 1], [2]]),
    ([0, 1, 2, 3], 2, [[0, 1], [2, 3]]),
]:
    add(
        f"arraypartition-{len(array)}-by-{size}",
        Case(
            pins="intrinsic_functions/test_array::test_array_partition",
            definition=intrinsic("States.ArrayPartition($.list, $.size)"),
            input={"list": array, "size": size},
            output=one(chunks),
        ),
    )

# --------------------------------------------------------------------------- JSON intrinsics
for text, parsed in [
    ("", None),
    (" ", None),
    ("null", None),
    ("-0", 0),
    ("1", 1),
    ("1.1", 1.1),
    ("true", True),
    ('"HelloWorld"', "HelloWorld"),
    ('[1, 2, "HelloWorld"]', [1, 2, "HelloWorld"]),
    ('{"Arg1": 1, "Arg2": []}', {"Arg1": 1, "Arg2": []}),
]:
    add(
        f"stringtojson-{text!r}",
        Case(
            pins="intrinsic_functions/test_json_manipulation::test_string_to_json",
            definition=intrinsic("States.StringToJson($.text)"),
            input={"text": text},
            output=one(parsed),
        ),
    )
for value, text in [
    (None, "null"),
    (0, "0"),
    (1, "1"),
    (1.1, "1.1"),
    (True, "true"),
    ("HelloWorld", '"HelloWorld"'),
    ([1, 2, "HelloWorld"], '[1,2,"HelloWorld"]'),
    ({"Arg1": 1, "Arg2": []}, '{"Arg1":1,"Arg2":[]}'),
]:
    add(
        f"jsontostring-{text}",
        Case(
            pins="intrinsic_functions/test_json_manipulation::test_json_to_string",
            definition=intrinsic("States.JsonToString($.value)"),
            input={"value": value},
            output=one(text),
        ),
    )
add(
    "jsonmerge-shallow",
    Case(
        pins="intrinsic_functions/test_json_manipulation::test_json_merge",
        definition=intrinsic("States.JsonMerge($.left, $.right, false)"),
        input={
            "left": {"a": {"a1": 1, "a2": 2}, "b": 2, "d": 3},
            "right": {"a": {"a3": 1, "a4": 2}, "c": 3, "d": 4},
        },
        output=one({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3, "d": 4}),
    ),
)
add(
    "arraygetitem",
    Case(
        pins="intrinsic_functions/test_array::test_array_get_item",
        definition=intrinsic("States.ArrayGetItem($.list, $.at)"),
        input={"list": [1, 2, 3, 4, 5, 6, 7, 8, 9], "at": 5},
        output=one(6),
    ),
)
add(
    "arraylength",
    Case(
        pins="intrinsic_functions/test_array::test_array_length",
        definition=intrinsic("States.ArrayLength($.list)"),
        input={"list": [1, 2, 3, 4, 5, 6, 7, 8, 9]},
        output=one(9),
    ),
)

# --------------------------------------------------------------------------- JSONPath
# A wildcard or slice that selects nothing gives an empty array, not an error.
for path in [
    "$[*]",
    "$.items[*]",
    "$.items[1:]",
    "$.items[:1]",
    "$.item.items[*]",
    "$.items[*].itemValue",
    "$.item.items[1:5].itemValue",
]:
    add(
        f"jsonpath-nothing-selected-{path}",
        Case(
            pins="base/test_base::test_json_path_array_wildcard_or_slice_with_no_input",
            definition=intrinsic(path),
            input={},
            output=one([]),
        ),
    )
add(
    "pass-result-keeps-dollar-keys",
    Case(
        pins="base/test_base::test_state_pass_result_jsonpaths (Result is never evaluated)",
        definition={
            "StartAt": "Literal",
            "States": {
                "Literal": {
                    "Type": "Pass",
                    "Result": {"unsupported1.$": "$.jsonpath", "unsupported2.$": "$$"},
                    "End": True,
                }
            },
        },
        input={},
        output={"unsupported1.$": "$.jsonpath", "unsupported2.$": "$$"},
    ),
)

# --------------------------------------------------------------------------- variables
UNDEFINED = (
    "The JSONata expression '$doesNotExist' specified for the field '{}' "
    "returned nothing (undefined)."
)


def undefined_case(
    state: dict[str, Any],
    field_name: str,
    states_before: int = 0,
    tasks: dict[str, Any] | None = None,
) -> Case:
    states: dict[str, Any] = {}
    names = [f"Step{i}" for i in range(states_before)] + ["Broken"]
    for index, name in enumerate(names[:-1]):
        states[name] = {"Type": "Pass", "Next": names[index + 1]}
    states["Broken"] = {**state, "End": True}
    return Case(
        pins="assign/test_assign_reference_variables::test_undefined_reference",
        definition={"QueryLanguage": "JSONata", "StartAt": names[0], "States": states},
        input={},
        error="States.QueryEvaluationError",
        cause=entered("Broken", 2 + 2 * states_before) + UNDEFINED.format(field_name),
        tasks=tasks or {},
    )


add("undefined-output", undefined_case({"Type": "Pass", "Output": "{% $doesNotExist %}"}, "Output"))
add(
    "undefined-output-field",
    undefined_case({"Type": "Pass", "Output": {"result": "{% $doesNotExist %}"}}, "Output/result"),
)
add(
    "undefined-output-after-two-states",
    undefined_case(
        {"Type": "Pass", "Output": {"result": "{% $doesNotExist %}"}}, "Output/result", 2
    ),
)
add(
    "undefined-assign-field",
    undefined_case({"Type": "Pass", "Assign": {"result": "{% $doesNotExist %}"}}, "Assign/result"),
)
TASK = "arn:aws:states:::lambda:invoke"
ECHO = {"echo": lambda event: event}
add(
    "undefined-arguments",
    undefined_case(
        {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:echo",
            "Arguments": "{% $doesNotExist %}",
        },
        "Arguments",
        tasks=ECHO,
    ),
)
add(
    "undefined-arguments-field",
    undefined_case(
        {
            "Type": "Task",
            "Resource": TASK,
            "Arguments": {"FunctionName": "{% $doesNotExist %}", "Payload": {}},
        },
        "Arguments/FunctionName",
        tasks=ECHO,
    ),
)


def map_with(path_field: str, variable_value: Any) -> dict[str, Any]:
    return {
        "StartAt": "Prepare",
        "States": {
            "Prepare": {
                "Type": "Pass",
                "Assign": {"limit": variable_value},
                "Result": {"numbers": [1, 2, 3]},
                "Next": "EachNumber",
            },
            "EachNumber": {
                "Type": "Map",
                "ItemsPath": "$.numbers",
                path_field: "$limit",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Keep",
                    "States": {"Keep": {"Type": "Pass", "End": True}},
                },
                "End": True,
            },
        },
    }


for path_field in ("MaxConcurrencyPath", "ToleratedFailureCountPath"):
    add(
        f"variable-numeric-string-{path_field}",
        Case(
            pins="assign/test_assign_reference_variables::test_reference_in_map_state"
            f' ({path_field} to a variable holding "1")',
            definition=map_with(path_field, "1"),
            input={},
            output=[1, 2, 3],
        ),
    )

# --------------------------------------------------------------------------- Map numbers


def numbers_map(field_name: str, path: str) -> dict[str, Any]:
    return {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Map",
                "ItemsPath": "$.things",
                f"{field_name}Path": path,
                "ItemProcessor": {
                    "StartAt": "Same",
                    "States": {"Same": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }


NOT_VALID = 'The {}Path field refers to value "{}" which is not a valid {}: $.n'
for field_name, value, message in [
    (
        "MaxConcurrency",
        {},
        NOT_VALID.format("MaxConcurrency", "{}", "integer"),
    ),
    (
        "MaxConcurrency",
        "NoNumber",
        NOT_VALID.format("MaxConcurrency", "NoNumber", "integer"),
    ),
    (
        "ToleratedFailureCount",
        {},
        NOT_VALID.format("ToleratedFailureCount", "{}", "integer"),
    ),
    (
        "ToleratedFailureCount",
        "NoNumber",
        NOT_VALID.format("ToleratedFailureCount", "NoNumber", "integer"),
    ),
    ("ToleratedFailureCount", -1, "ToleratedFailureCount cannot be negative."),
    (
        "ToleratedFailurePercentage",
        {},
        NOT_VALID.format("ToleratedFailurePercentage", "{}", "float"),
    ),
    (
        "ToleratedFailurePercentage",
        "NoNumber",
        NOT_VALID.format("ToleratedFailurePercentage", "NoNumber", "float"),
    ),
    ("ToleratedFailurePercentage", -1.1, "ToleratedFailurePercentage must be between 0 and 100."),
    ("ToleratedFailurePercentage", -1, "ToleratedFailurePercentage must be between 0 and 100."),
    ("ToleratedFailurePercentage", 100.1, "ToleratedFailurePercentage must be between 0 and 100."),
]:
    add(
        f"map-{field_name}-{value!r}",
        Case(
            pins="scenarios/test_base_scenarios::test_max_concurrency_path / "
            "test_map_state_tolerated_failure_count_path / "
            "test_map_state_tolerated_failure_percentage_path",
            definition=numbers_map(field_name, "$.n"),
            input={"things": ["x"], "n": value},
            error="States.Runtime",
            cause=entered("Fan", 2) + message,
        ),
    )
for field_name, value in [
    ("MaxConcurrency", 0),
    ("MaxConcurrency", 1),
    ("ToleratedFailureCount", 0),
    ("ToleratedFailureCount", 1),
    ("ToleratedFailurePercentage", 0),
    ("ToleratedFailurePercentage", 1.1),
    ("ToleratedFailurePercentage", 100),
]:
    add(
        f"map-{field_name}-{value!r}-accepted",
        Case(
            pins="scenarios/test_base_scenarios::test_max_concurrency_path / "
            "test_map_state_tolerated_failure_*_path",
            definition=numbers_map(field_name, "$.n"),
            input={"things": ["x"], "n": value},
            output=["x"],
        ),
    )

# --------------------------------------------------------------------------- Map items


def items_map(items: Any, assign_first: bool) -> dict[str, Any]:
    states: dict[str, Any] = {}
    if assign_first:
        states["Remember"] = {"Type": "Pass", "Assign": {"things": items}, "Next": "Each"}
        items = "{% $things %}"
    states["Each"] = {
        "Type": "Map",
        "Items": items,
        "ItemProcessor": {"StartAt": "Same", "States": {"Same": {"Type": "Pass", "End": True}}},
        "End": True,
    }
    return {"QueryLanguage": "JSONata", "StartAt": next(iter(states)), "States": states}


ITEMS_TYPE = (
    "The JSONata expression '{}' specified for the field 'Items' returned an unexpected "
    "result type. Expected 'array', but was '{}' for value: {}"
)
for literal, kind, shown in [
    ("1", "number", "1"),
    ("'string'", "string", '"string"'),
    ("true", "boolean", "true"),
    ("{'foo': 'bar'}", "object", '{"foo":"bar"}'),
    ("null", "null", "null"),
]:
    add(
        f"items-literal-{kind}",
        Case(
            pins="scenarios/test_base_scenarios::test_map_state_items_literal",
            definition=items_map(f"{{% {literal} %}}", False),
            input={},
            error="States.QueryEvaluationError",
            cause=entered("Each", 2) + ITEMS_TYPE.format(literal, kind, shown),
        ),
    )
for value, kind, shown in [
    (1, "number", "1"),
    ("string", "string", '"string"'),
    (True, "boolean", "true"),
    ({"foo": "bar"}, "object", '{"foo":"bar"}'),
    (None, "null", "null"),
]:
    add(
        f"items-variable-{kind}",
        Case(
            pins="scenarios/test_base_scenarios::test_map_state_items_variable",
            definition=items_map(value, True),
            input={},
            error="States.QueryEvaluationError",
            cause=entered("Each", 4) + ITEMS_TYPE.format("$things", kind, shown),
        ),
    )
    add(
        f"map-input-not-array-{kind}",
        Case(
            pins="scenarios/test_base_scenarios::test_map_state_items_input_types",
            definition={
                "QueryLanguage": "JSONata",
                "StartAt": "Pick",
                "States": {
                    "Pick": {
                        "Type": "Pass",
                        "Output": "{% $states.input.things %}",
                        "Next": "Each",
                    },
                    "Each": {
                        "Type": "Map",
                        "ItemProcessor": {
                            "StartAt": "Same",
                            "States": {"Same": {"Type": "Pass", "End": True}},
                        },
                        "End": True,
                    },
                },
            },
            input={"things": value},
            error="States.QueryEvaluationError",
            cause=entered("Each", 4) + f"Map state input must be an array but was: {shown}",
        ),
    )
add(
    "items-function",
    Case(
        pins="scenarios/test_base_scenarios::test_map_state_items_literal (a function)",
        definition=items_map("{% $fn := function($x){$x} %}", False),
        input={},
        error="States.QueryEvaluationError",
        cause=entered("Each", 2)
        + "The JSONata expression '$fn := function($x){$x}' specified for the field 'Items' "
        "returned an unsupported result type.",
    ),
)

# --------------------------------------------------------------------------- Wait
BAD_TIMESTAMPS = [
    "2016-12-05 21:29:29Z",
    "2016-12-05T21:29:29",
    "2016-13-05T21:29:29Z",
    "2016-12-05T25:29:29Z",
    "05-12-2016T21:29:29Z",
]
for stamp in BAD_TIMESTAMPS:
    add(
        f"wait-timestamppath-{stamp}",
        Case(
            pins="scenarios/test_base_scenarios::test_wait_timestamp_path",
            definition={
                "StartAt": "Hold",
                "States": {"Hold": {"Type": "Wait", "TimestampPath": "$.when", "End": True}},
            },
            input={"when": stamp},
            error="States.Runtime",
            cause=entered("Hold", 2)
            + "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
            f"date-time format string: $.when == {stamp}",
        ),
    )
    add(
        f"wait-jsonata-timestamp-{stamp}",
        Case(
            pins="scenarios/test_base_scenarios::test_wait_timestamp_jsonata",
            definition={
                "QueryLanguage": "JSONata",
                "StartAt": "Hold",
                "States": {
                    "Hold": {"Type": "Wait", "Timestamp": "{% $states.input.when %}", "End": True}
                },
            },
            input={"when": stamp},
            error="States.QueryEvaluationError",
            cause=entered("Hold", 2)
            + "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time "
            f"format string: {stamp}",
        ),
    )
for seconds, message in [
    (1.5, "The SecondsPath parameter cannot be parsed as a long value: $.pause == 1.5"),
    (-1.5, "The SecondsPath parameter cannot be parsed as a long value: $.pause == -1.5"),
    (-1, "The SecondsPath parameter references a negative value: $.pause == -1"),
]:
    add(
        f"wait-secondspath-{seconds}",
        Case(
            pins="base/test_wait::test_wait_seconds_path (invalid values)",
            definition={
                "StartAt": "Hold",
                "States": {"Hold": {"Type": "Wait", "SecondsPath": "$.pause", "End": True}},
            },
            input={"pause": seconds},
            error="States.Runtime",
            cause=entered("Hold", 2) + message,
        ),
    )

# --------------------------------------------------------------------------- limits
TOO_BIG = "a" * (257 * 1024)
DATA_LIMIT = (
    "The state/task '{}' returned a result with a size exceeding the maximum number of "
    "bytes service limit."
)
add(
    "data-limit-pass-result",
    Case(
        pins="error_handling/test_states_errors::test_start_large_input",
        definition={
            "StartAt": "Huge",
            "States": {"Huge": {"Type": "Pass", "Result": {"Arg1": TOO_BIG}, "End": True}},
        },
        input={},
        error="States.DataLimitExceeded",
        cause=DATA_LIMIT.format("Huge"),
    ),
)
BIG_TASKS = {"big": lambda event: TOO_BIG}
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:big"


def big_task(resource: str, catch: list[str] | None) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Task", "Resource": resource, "End": True}
    if resource == TASK:
        state["Parameters"] = {"FunctionName": "big", "Payload.$": "$"}
    states: dict[str, Any] = {"Call": state}
    if catch is not None:
        state["Catch"] = [{"ErrorEquals": catch, "Next": "Handled"}]
        states["Handled"] = {"Type": "Pass", "End": True}
    return {"StartAt": "Call", "States": states}


for resource, name, label in [(TASK, "lambda", "service"), (FUNCTION, FUNCTION, "legacy")]:
    add(
        f"data-limit-{label}-lambda",
        Case(
            pins="error_handling/test_states_errors::test_"
            + ("service_task_lambada" if label == "service" else "task_lambda")
            + "_data_limit_exceeded_on_large_utf8_response",
            definition=big_task(resource, None),
            input={},
            error="States.DataLimitExceeded",
            cause=DATA_LIMIT.format(name),
            tasks=BIG_TASKS,
        ),
    )
    add(
        f"data-limit-{label}-lambda-caught",
        Case(
            pins="error_handling/test_states_errors::test_*_catch_*_data_limit_exceeded_*",
            definition=big_task(resource, ["States.DataLimitExceeded"]),
            input={},
            output={"Error": "States.DataLimitExceeded", "Cause": DATA_LIMIT.format(name)},
            tasks=BIG_TASKS,
        ),
    )
    add(
        f"data-limit-{label}-lambda-not-caught-by-all",
        Case(
            pins="error_handling task_*_catch_data_limit_exceeded templates: a terminal error "
            "that States.ALL does not catch",
            definition=big_task(resource, ["States.ALL"]),
            input={},
            error="States.DataLimitExceeded",
            cause=DATA_LIMIT.format(name),
            tasks=BIG_TASKS,
        ),
    )

# --------------------------------------------------------------------------- Parallel
PARALLEL_FAIL = {
    "Type": "Parallel",
    "Branches": [
        {
            "StartAt": "Boom",
            "States": {
                "Boom": {"Type": "Fail", "Error": "FailureType", "Cause": "Cause description"}
            },
        }
    ],
}
add(
    "parallel-branch-fails",
    Case(
        pins="scenarios/test_base_scenarios::test_parallel_state_fail",
        definition={"StartAt": "Both", "States": {"Both": {**PARALLEL_FAIL, "End": True}}},
        input={},
        error="FailureType",
        cause="Cause description",
    ),
)
add(
    "parallel-branch-fails-caught",
    Case(
        pins="scenarios/test_base_scenarios::test_parallel_state_catch",
        definition={
            "StartAt": "Both",
            "States": {
                "Both": {
                    **PARALLEL_FAIL,
                    "Catch": [{"ErrorEquals": ["FailureType"], "Next": "Caught"}],
                    "End": True,
                },
                "Caught": {"Type": "Pass", "End": True},
            },
        },
        input={},
        output={"Error": "FailureType", "Cause": "Cause description"},
    ),
)


@pytest.mark.parametrize("case", CASES)
def test_aws_conformance(case: Case) -> None:
    check(case)


def test_enough_cases() -> None:
    assert len(CASES) >= 150


# --------------------------------------------------------------------------- not exact values


def test_jsonata_random_without_a_seed_is_a_fraction() -> None:
    # AWS guide, Transforming data with JSONata: $random() is a number in [0, 1).
    result = run(Case(pins="AWS guide $random", definition=jsonata_out("[$random(), $random()]")))
    assert all(isinstance(x, float) and 0 <= x < 1 for x in result.output)


def test_jsonata_random_with_a_seed_repeats() -> None:
    # AWS guide, Transforming data with JSONata: $random(seed) gives the same number each time.
    expression = "[$random($states.input.seed), $random($states.input.seed)]"
    first = run(
        Case(pins="AWS guide $random", definition=jsonata_out(expression), input={"seed": 7})
    )
    again = run(
        Case(pins="AWS guide $random", definition=jsonata_out(expression), input={"seed": 7})
    )
    assert first.output[0] == first.output[1] == again.output[0]
    assert 0 <= first.output[0] < 1


def test_jsonata_uuid_is_a_version_4_uuid() -> None:
    # intrinsic_functions/test_unique_id_generation::test_uuid and the guide's $uuid().
    result = run(Case(pins="AWS guide $uuid", definition=jsonata_out("[$uuid(), $uuid()]")))
    first, second = result.output
    assert UUID4.match(first) and UUID4.match(second) and first != second


@pytest.mark.parametrize(("low", "high"), [(12.5, 44.51), (9999, 99999), (-99999, -9999)], ids=str)
def test_math_random_accepts_non_integers(low: float, high: float) -> None:
    # intrinsic_functions/test_math_operations::test_math_random: AWS succeeds on these.
    result = run(
        Case(
            pins="test_math_random",
            definition=intrinsic("States.MathRandom($.a, $.b)"),
            input={"a": low, "b": high},
        )
    )
    assert result.succeeded, result.cause
    assert round(low) <= result.output["value"] <= round(high)


def test_history_stops_at_25000_events() -> None:
    # AWS ends a looping execution with its 25,000th event: ExecutionFailed, States.Runtime,
    # "The execution reached the maximum number of history events (25000)." (recorded with
    # get-execution-history, github.com/floci-io/floci issue 2734).
    definition = {
        "StartAt": "Spin",
        "States": {
            "Spin": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.spin", "BooleanEquals": True, "Next": "Spin"}],
                "Default": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    result = run(Case(pins="history limit", definition=definition, input={"spin": True}))
    assert result.error == "States.Runtime"
    assert result.cause == "The execution reached the maximum number of history events (25000)."
    events = result.events
    assert len(events) == 25_000
    assert events[-1]["id"] == 25_000 and events[-1]["type"] == "ExecutionFailed"
    assert events[-2]["type"] == "ChoiceStateExited"


def test_parallel_retry_history() -> None:
    # scenarios/test_base_scenarios::test_parallel_state_retry: each attempt starts the
    # Parallel again and ParallelStateFailed is recorded once, after the last attempt.
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                **PARALLEL_FAIL,
                "Retry": [{"ErrorEquals": ["FailureType"], "MaxAttempts": 2}],
                "End": True,
            }
        },
    }
    result = run(Case(pins="test_parallel_state_retry", definition=definition, input={}))
    assert [event["type"] for event in result.events] == [
        "ExecutionStarted",
        "ParallelStateEntered",
        "ParallelStateStarted",
        "FailStateEntered",
        "ParallelStateStarted",
        "FailStateEntered",
        "ParallelStateStarted",
        "FailStateEntered",
        "ParallelStateFailed",
        "ExecutionFailed",
    ]
    assert result.error == "FailureType" and result.cause == "Cause description"


def shape(result: ExecutionResult) -> list[tuple[int, int, str]]:
    return [(e["id"], e["previousEventId"], e["type"]) for e in result.events]


def each_item(processor_state: dict[str, Any], **map_fields: Any) -> dict[str, Any]:
    return {
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Result": {"list": [1, 2]}, "Next": "Each"},
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.list",
                "ItemProcessor": {"StartAt": "Item", "States": {"Item": processor_state}},
                "End": True,
                **map_fields,
            },
        },
    }


def test_inline_map_history_chains_its_iterations() -> None:
    # scenarios/test_base_scenarios::test_map_state: each iteration starts after the last
    # state event of the one before; the Map's exit follows the last iteration's end.
    result = run(Case(pins="test_map_state", definition=each_item({"Type": "Pass", "End": True})))
    assert shape(result) == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "PassStateEntered"),
        (3, 2, "PassStateExited"),
        (4, 3, "MapStateEntered"),
        (5, 4, "MapStateStarted"),
        (6, 5, "MapIterationStarted"),
        (7, 6, "PassStateEntered"),
        (8, 7, "PassStateExited"),
        (9, 8, "MapIterationSucceeded"),
        (10, 8, "MapIterationStarted"),
        (11, 10, "PassStateEntered"),
        (12, 11, "PassStateExited"),
        (13, 12, "MapIterationSucceeded"),
        (14, 13, "MapStateSucceeded"),
        (15, 13, "MapStateExited"),
        (16, 15, "ExecutionSucceeded"),
    ]


def test_map_retry_history() -> None:
    # scenarios/test_base_scenarios::test_map_state_retry: each attempt starts the Map
    # again after the failed state; MapStateFailed once, after the last attempt.
    fail = {"Type": "Fail", "Error": "ItemError", "Cause": "bad item"}
    definition = each_item(fail, Retry=[{"ErrorEquals": ["ItemError"], "MaxAttempts": 1}])
    definition["States"]["Prepare"]["Result"] = {"list": [1]}
    result = run(Case(pins="test_map_state_retry", definition=definition))
    assert shape(result) == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "PassStateEntered"),
        (3, 2, "PassStateExited"),
        (4, 3, "MapStateEntered"),
        (5, 4, "MapStateStarted"),
        (6, 5, "MapIterationStarted"),
        (7, 6, "FailStateEntered"),
        (8, 7, "MapIterationFailed"),
        (9, 7, "MapStateStarted"),
        (10, 9, "MapIterationStarted"),
        (11, 10, "FailStateEntered"),
        (12, 11, "MapIterationFailed"),
        (13, 11, "MapStateFailed"),
        (14, 13, "ExecutionFailed"),
    ]
    assert (result.error, result.cause) == ("ItemError", "bad item")


def test_distributed_map_history_has_a_map_run() -> None:
    # scenarios/test_base_scenarios::test_map_state_legacy_config_distributed: the child
    # executions' events are not in the parent's history, a Map Run is.
    definition = each_item({"Type": "Pass", "End": True})
    processor = definition["States"]["Each"]["ItemProcessor"]
    processor["ProcessorConfig"] = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    result = run(Case(pins="test_map_state_legacy_config_distributed", definition=definition))
    assert result.output == [1, 2]
    assert shape(result)[3:] == [
        (4, 3, "MapStateEntered"),
        (5, 4, "MapStateStarted"),
        (6, 5, "MapRunStarted"),
        (7, 6, "MapRunSucceeded"),
        (8, 7, "MapStateSucceeded"),
        (9, 7, "MapStateExited"),
        (10, 9, "ExecutionSucceeded"),
    ]
    started = result.events[5]["mapRunStartedEventDetails"]["mapRunArn"]
    assert started.startswith("arn:aws:states:us-east-1:123456789012:mapRun:StateMachine/Each:")


def test_failed_map_aborts_the_iterations_still_running() -> None:
    # timeouts/test_timeouts::test_service_lambda_map_timeout: when one iteration fails the
    # Map, the others are cut short: after its MapIterationFailed, TaskStateAborted for the
    # failed task and, for each other iteration, MapIterationAborted and TaskStateAborted,
    # all following the failed iteration's last event; then MapStateFailed.
    def work(event: Any) -> Any:
        if event == 0:
            time.sleep(0.5)  # the others are all running by then
            raise ValueError("item 0 is broken")
        time.sleep(3)
        return event

    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.list",
                "ItemProcessor": {
                    "StartAt": "Work",
                    "States": {
                        "Work": {
                            "Type": "Task",
                            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:work",
                            "TimeoutSeconds": 60,
                            "End": True,
                        }
                    },
                },
                "End": True,
            }
        },
    }
    began = time.monotonic()
    result = run(
        Case(
            pins="test_service_lambda_map_timeout",
            definition=definition,
            input={"list": [0, 1, 2, 3]},
            tasks={"work": work},
        )
    )
    assert time.monotonic() - began < 2.8  # the others were not waited for
    assert (result.error, result.cause) == ("ValueError", "item 0 is broken")
    events = shape(result)
    failed_at = next(i for i, (_, _, kind) in enumerate(events) if kind == "MapIterationFailed")
    cursor = events[failed_at][1]
    tail = events[failed_at + 1 :]
    assert [kind for _, _, kind in tail] == [
        "TaskStateAborted",
        "MapIterationAborted",
        "TaskStateAborted",
        "MapIterationAborted",
        "TaskStateAborted",
        "MapIterationAborted",
        "TaskStateAborted",
        "MapStateFailed",
        "ExecutionFailed",
    ]
    assert {prev for _, prev, _ in tail[:-1]} == {cursor}


def test_failed_parallel_aborts_the_other_branches() -> None:
    # states_variables/test_error_output::test_parallel_catch_error (TaskStateAborted for the
    # failed branch's task) and the Map's rule above: the branch still running is cut short.
    def slow(event: Any) -> Any:
        time.sleep(3)
        return event

    def broken(event: Any) -> Any:
        time.sleep(0.3)
        raise ValueError("broken branch")

    def branch(function: str) -> dict[str, Any]:
        task = {
            "Type": "Task",
            "Resource": f"arn:aws:lambda:us-east-1:123456789012:function:{function}",
            "TimeoutSeconds": 60,
            "End": True,
        }
        return {"StartAt": function, "States": {function: task}}

    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [branch("slow"), branch("broken")],
                "End": True,
            }
        },
    }
    began = time.monotonic()
    result = run(
        Case(pins="parallel abort", definition=definition, tasks={"slow": slow, "broken": broken})
    )
    assert time.monotonic() - began < 2.8
    assert (result.error, result.cause) == ("ValueError", "broken branch")
    events = shape(result)
    failed = next(event for event in events if event[2] == "LambdaFunctionFailed")
    assert [kind for _, _, kind in events[-4:]] == [
        "TaskStateAborted",
        "TaskStateAborted",
        "ParallelStateFailed",
        "ExecutionFailed",
    ]
    assert {prev for _, prev, _ in events[-4:-1]} == {failed[0]}


def test_map_runtime_error_records_no_map_failure() -> None:
    # scenarios/test_base_scenarios::test_max_concurrency_path[NoNumber]: a States.Runtime
    # error ends the execution straight away; test_map_state_tolerated_failure_count_path
    # [NoNumber]: the tolerated failures are read after MapStateStarted.
    for field_name, started in [("MaxConcurrency", False), ("ToleratedFailureCount", True)]:
        result = run(
            Case(
                pins="test_max_concurrency_path",
                definition=numbers_map(field_name, "$.n"),
                input={"things": ["x"], "n": "NoNumber"},
            )
        )
        kinds = [kind for _, _, kind in shape(result)]
        assert "MapStateFailed" not in kinds
        assert ("MapStateStarted" in kinds) is started


def test_first_state_entered_follows_no_event() -> None:
    # Every recorded AWS history (702 of them in the snapshots) has previousEventId 0 on
    # the first state's entered event, e.g. scenarios/test_base_scenarios::test_parallel_state.
    result = run(Case(pins="history", definition=intrinsic("$.a"), input={"a": 1}))
    assert [(e["id"], e["previousEventId"]) for e in result.events] == [
        (1, 0),
        (2, 0),
        (3, 2),
        (4, 3),
    ]


def test_evaluation_failed_event() -> None:
    # assign/test_assign_reference_variables::test_undefined_reference: AWS records an
    # EvaluationFailed event naming the field (location) and the state.
    result = run(
        undefined_case(
            {"Type": "Pass", "Output": {"result": "{% $doesNotExist %}"}}, "Output/result"
        )
    )
    failed = [event for event in result.events if event["type"] == "EvaluationFailed"]
    assert len(failed) == 1
    # it follows what the state's entered event followed; the failure follows it
    assert shape(result) == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "PassStateEntered"),
        (3, 0, "EvaluationFailed"),
        (4, 3, "ExecutionFailed"),
    ]
    details = failed[0]["evaluationFailedEventDetails"]
    assert details["location"] == "Output/result" and details["state"] == "Broken"
    assert details["error"] == "States.QueryEvaluationError"


def test_hash_digests_are_the_recorded_ones() -> None:
    # Keeps the table above honest: the recorded digests are those of "input data".
    for algorithm, digest in DIGESTS.items():
        name = algorithm.replace("-", "").lower()
        assert hashlib.new(name, b"input data").hexdigest() == digest
