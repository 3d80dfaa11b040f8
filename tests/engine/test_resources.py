"""Task resources: portable names, Lambda ARNs, !GetAtt, lambda:invoke, batch:submitJob.sync."""

from __future__ import annotations

from typing import Any

import pytest

from cirrus.engine import ResourceRegistry, StateMachine, TaskFailure, run_execution
from cirrus.errors import DefinitionError
from tests.engine.fakes import FakeTaskRunner, SubprocessBatchRunner, run, single, types


def echo(event: Any) -> Any:
    return {"got": event}


RUNNER = FakeTaskRunner({"copy-assets": echo, "publish": echo}, {"convert": echo})


@pytest.mark.parametrize(
    "resource",
    [
        "cirrus:lambda:publish",
        "arn:aws:lambda:us-west-2:111122223333:function:publish",
        "arn:aws:lambda:us-west-2:111122223333:function:my-stack-publish",
        "arn:aws:lambda:us-west-2:111122223333:function:my-stack-publish:live",
        "!GetAtt publish.Arn",
    ],
)
def test_lambda_resources_run_the_task(resource: str) -> None:
    result = run(single({"Type": "Task", "Resource": resource}), {"a": 1}, RUNNER)
    assert result.output == {"got": {"a": 1}}


def test_longest_task_name_wins() -> None:
    runner = FakeTaskRunner({"assets": echo, "copy-assets": lambda e: "long"})
    resource = "arn:aws:lambda:us-east-1:1:function:stack-copy-assets"
    assert run(single({"Type": "Task", "Resource": resource}), {}, runner).output == "long"


def test_bare_arn_records_lambda_function_events() -> None:
    resource = "arn:aws:lambda:us-east-1:1:function:publish"
    result = run(single({"Type": "Task", "Resource": resource}), {}, RUNNER)
    assert types(result)[2:5] == [
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
    ]


def test_lambda_invoke_result_shape() -> None:
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {
            "FunctionName": "arn:aws:lambda:us-east-1:1:function:x-publish:$LATEST",
            "Payload.$": "$",
        },
        "ResultSelector": {
            "Payload.$": "$.Payload",
            "StatusCode.$": "$.StatusCode",
            "Version.$": "$.ExecutedVersion",
        },
    }
    result = run(single(state), {"a": 1}, RUNNER)
    assert result.output == {"Payload": {"got": {"a": 1}}, "StatusCode": 200, "Version": "$LATEST"}


def test_lambda_invoke_dynamic_function_name() -> None:
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName.$": "$.fn", "Payload": {"x": 1}},
        "OutputPath": "$.Payload",
    }
    assert run(single(state), {"fn": "publish"}, RUNNER).output == {"got": {"x": 1}}


def test_yaml_getatt_and_ref_tags() -> None:
    text = """
StartAt: Copy
States:
  Copy:
    Type: Task
    Resource: !GetAtt copy-assets.Arn
    Next: Convert
  Convert:
    Type: Task
    Resource: arn:aws:states:::batch:submitJob.sync
    Parameters:
      JobName: convert
      JobQueue: !Ref queue
      JobDefinition: !Ref convert
      Parameters:
        url.$: $.got.url
    ResultSelector:
      Status.$: $.Status
      Parameters.$: $.Parameters
    End: true
"""
    machine = StateMachine.from_string(text, registry=ResourceRegistry(RUNNER))
    result = run_execution(machine, {"url": "file:///in.json"})
    assert result.output == {"Status": "SUCCEEDED", "Parameters": {"url": "file:///in.json"}}


@pytest.mark.parametrize(
    "job_definition",
    [
        "convert",
        "arn:aws:batch:us-east-1:1:job-definition/stack-convert:3",
        "!Ref convert",
        "convert:2",
    ],
)
def test_batch_job_definition_forms(job_definition: str) -> None:
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::batch:submitJob.sync",
        "Parameters": {
            "JobName": "j",
            "JobQueue": "q",
            "JobDefinition": job_definition,
            "Parameters": {"url": "u"},
        },
    }
    result = run(single(state), {}, RUNNER)
    assert result.output["Status"] == "SUCCEEDED"
    assert RUNNER.calls[-1] == ("batch", "convert", {"url": "u"})


def failing_batch_machine() -> dict[str, Any]:
    return {
        "StartAt": "Batch",
        "States": {
            "Batch": {
                "Type": "Task",
                "Resource": "arn:aws:states:::batch:submitJob.sync",
                "Parameters": {
                    "JobName": "convert",
                    "JobQueue": "q",
                    "JobDefinition": "convert",
                    "Parameters": {"url.$": "$.url", "url_out": "file:///out.json"},
                },
                "Catch": [
                    {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}
                ],
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
            "Failed": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
        },
    }


def test_failing_batch_task_surfaces_its_error_in_catch_and_result() -> None:
    def convert(payload: Any) -> Any:
        raise TaskFailure("InvalidInput", "no assets in the input items")

    runner = FakeTaskRunner(batches={"convert": convert})
    result = run(failing_batch_machine(), {"url": "file:///in.json"}, runner)
    assert result.error_document() == {
        "error": "InvalidInput",
        "cause": "no assets in the input items",
    }
    failed = [e for e in result.history() if e["type"] == "TaskFailed"]
    assert failed[0]["taskFailedEventDetails"] == {
        "resourceType": "batch",
        "resource": "submitJob.sync",
        "error": "InvalidInput",
        "cause": "no assets in the input items",
    }
    exited = next(e for e in result.history() if e["type"] == "TaskStateExited")
    assert (
        '"error":{"Error":"InvalidInput","Cause":"no assets in the input items"}'
        in exited["stateExitedEventDetails"]["output"]
    )


def test_batch_task_in_a_real_subprocess() -> None:
    script = (
        "import json, sys\n"
        "payload = json.load(open(sys.argv[1]))\n"
        "if payload['url'].endswith('bad.json'):\n"
        "    error = {'error': 'ValueError', 'cause': 'cannot read ' + payload['url']}\n"
        "    json.dump(error, open(sys.argv[2], 'w'))\n"
        "    sys.exit(1)\n"
        "json.dump({'url': payload['url_out']}, open(sys.argv[2], 'w'))\n"
    )
    runner = SubprocessBatchRunner({"convert": script})
    ok = run(failing_batch_machine(), {"url": "file:///good.json"}, runner)
    assert ok.succeeded
    bad = run(failing_batch_machine(), {"url": "file:///bad.json"}, runner)
    assert bad.error_document() == {"error": "ValueError", "cause": "cannot read file:///bad.json"}


def test_cirrus_batch_resource_passes_the_payload_through() -> None:
    result = run(single({"Type": "Task", "Resource": "cirrus:batch:convert"}), {"url": "u"}, RUNNER)
    assert result.output == {"got": {"url": "u"}}


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        ("cirrus:lambda:nope", "no task named 'nope'"),
        ("cirrus:batch:publish", "cannot run as a batch task"),
        ("arn:aws:lambda:us-east-1:1:function:unknown", "no lambda task matches"),
        ("arn:aws:states:::sns:publish", "not supported locally"),
    ],
)
def test_unresolvable_resources_fail_at_load_naming_the_state(resource: str, message: str) -> None:
    with pytest.raises(DefinitionError, match=f"State 'S': .*{message}"):
        run(single({"Type": "Task", "Resource": resource}), {}, RUNNER)


def test_registry_is_pluggable() -> None:
    from cirrus.engine import TaskHandler

    registry = ResourceRegistry(RUNNER)
    registry.register(
        "arn:aws:states:::sns:publish",
        lambda request: TaskHandler(
            lambda payload, timeout: {"MessageId": "m-1"}, "sns", "publish"
        ),
    )
    machine = StateMachine.from_dict(
        single({"Type": "Task", "Resource": "arn:aws:states:::sns:publish"}), registry=registry
    )
    assert run_execution(machine, {}).output == {"MessageId": "m-1"}
