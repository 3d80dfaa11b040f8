"""Task states: function names and ARNs, lambda:invoke, batch:submitJob.sync, the resolver.

Which *task* a name means is the project's rule (tests/project/test_task_targets.py); here
names resolve to plain Python callables.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from cirrus.engine import (
    BatchJobFailed,
    PythonFunctions,
    StateMachine,
    TaskFailure,
    TaskHandler,
    TaskTarget,
    run_execution,
)
from cirrus.errors import DefinitionError
from tests.engine.fakes import FakeTaskRunner, SubprocessBatchRunner, run, single, types


def echo(event: Any) -> Any:
    return {"got": event}


RUNNER = FakeTaskRunner({"copy-assets": echo, "publish": echo}, {"convert": echo})


@pytest.mark.parametrize(
    "resource",
    [
        "publish",
        "arn:aws:lambda:us-west-2:111122223333:function:publish",
        "arn:aws:lambda:us-west-2:111122223333:function:publish:live",
    ],
)
def test_function_resources_run_the_function(resource: str) -> None:
    result = run(single({"Type": "Task", "Resource": resource}), {"a": 1}, RUNNER)
    assert result.output == {"got": {"a": 1}}


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
            "FunctionName": "arn:aws:lambda:us-east-1:1:function:publish:$LATEST",
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


def test_lambda_invoke_unknown_dynamic_function_fails_like_aws() -> None:
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName.$": "$.fn", "Payload": {}},
    }
    result = run(single(state), {"fn": "nope"}, RUNNER)
    assert result.error == "Lambda.ResourceNotFoundException"


def test_yaml_definition_with_a_job_definition_arn() -> None:
    text = """
StartAt: Copy
States:
  Copy:
    Type: Task
    Resource: copy-assets
    Next: Convert
  Convert:
    Type: Task
    Resource: arn:aws:states:::batch:submitJob.sync
    Parameters:
      JobName: convert
      JobQueue: !Ref queue
      JobDefinition: arn:aws:batch:us-east-1:1:job-definition/convert:3
      Parameters:
        url.$: $.got.url
    ResultSelector:
      Status.$: $.Status
      Parameters.$: $.Parameters
      Queue.$: $.JobQueue
    End: true
"""
    machine = StateMachine.from_string(text, resolver=RUNNER)
    result = run_execution(machine, {"url": "file:///in.json"})
    assert result.output == {
        "Status": "SUCCEEDED",
        "Parameters": {"url": "file:///in.json"},
        "Queue": "arn:aws:batch:us-east-1:123456789012:job-queue/{'Ref': 'queue'}",
    }


@pytest.mark.parametrize(
    "job_definition",
    [
        "convert",
        "arn:aws:batch:us-east-1:1:job-definition/convert:3",
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


def test_a_failed_batch_job_fails_the_state_as_aws_batch_does() -> None:
    """States.TaskFailed with the FAILED job detail as the cause, which post-batch reads."""

    def convert(parameters: Any) -> Any:
        raise BatchJobFailed("exit 1", log_stream_name="convert/default/j1", exit_code=1)

    def never_started(parameters: Any) -> Any:
        raise BatchJobFailed("no image", reason="CannotPullContainerError: not found")

    resolver = PythonFunctions({}, {"convert": convert, "other": never_started})
    machine = StateMachine.from_dict(failing_batch_machine(), resolver=resolver)
    result = run_execution(machine, {"url": "file:///in.json"})
    assert result.error == "States.TaskFailed"
    detail = json.loads(result.cause or "")
    assert detail["Status"] == "FAILED"
    assert detail["Parameters"] == {"url": "file:///in.json", "url_out": "file:///out.json"}
    assert detail["Attempts"][-1]["Container"] == {
        "ExitCode": 1,
        "LogStreamName": "convert/default/j1",
    }
    assert detail["Container"]["LogStreamName"] == "convert/default/j1"

    definition = failing_batch_machine()
    definition["States"]["Batch"]["Parameters"]["JobDefinition"] = "other"
    result = run_execution(StateMachine.from_dict(definition, resolver=resolver), {"url": "u"})
    detail = json.loads(result.cause or "")
    assert detail["Attempts"][-1]["Container"] == {"Reason": "CannotPullContainerError: not found"}
    assert "LogStreamName" not in detail["Container"]


def test_a_failed_batch_job_outside_submit_job_is_a_plain_task_failure() -> None:
    def convert(event: Any) -> Any:
        raise BatchJobFailed("exit 1", exit_code=1)

    machine = StateMachine.from_dict(
        single({"Type": "Task", "Resource": "convert"}),
        resolver=PythonFunctions({"convert": convert}),
    )
    result = run_execution(machine, {})
    assert (result.error, result.cause) == ("States.TaskFailed", "exit 1")


def test_batch_resolved_resource_passes_the_payload_through() -> None:
    result = run(single({"Type": "Task", "Resource": "convert"}), {"url": "u"}, RUNNER)
    assert result.output == {"got": {"url": "u"}}


@pytest.mark.parametrize(
    ("state", "path"),
    [
        pytest.param({"Resource": "nope"}, ("States", "S", "Resource"), id="resource"),
        pytest.param(
            {
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "nope"},
            },
            ("States", "S", "Parameters", "FunctionName"),
            id="function-name",
        ),
        pytest.param(
            {"Resource": "arn:aws:states:::batch:submitJob.sync", "Parameters": {}},
            ("States", "S", "Parameters"),
            id="no-job-definition",
        ),
    ],
)
def test_unresolvable_tasks_fail_at_load_naming_the_state_and_field(
    state: dict[str, Any], path: tuple[str, ...]
) -> None:
    with pytest.raises(DefinitionError, match="State 'S': ") as caught:
        run(single({"Type": "Task", **state}), {}, RUNNER)
    assert [problem.path for problem in caught.value.problems] == [path]


def test_without_a_resolver_task_states_do_not_load() -> None:
    with pytest.raises(DefinitionError, match="no task resolver"):
        StateMachine.from_dict(single({"Type": "Task", "Resource": "publish"}))


def test_other_integrations_go_to_the_resolver() -> None:
    class Sns:
        def resolve(self, target: TaskTarget) -> TaskHandler:
            assert target.value == "arn:aws:states:::sns:publish"
            return TaskHandler(lambda payload, timeout: {"MessageId": "m-1"}, "sns", "publish")

    machine = StateMachine.from_dict(
        single({"Type": "Task", "Resource": "arn:aws:states:::sns:publish"}), resolver=Sns()
    )
    result = run_execution(machine, {})
    assert result.output == {"MessageId": "m-1"}
    scheduled = next(e for e in result.history() if e["type"] == "TaskScheduled")
    assert scheduled["taskScheduledEventDetails"]["resourceType"] == "sns"


def test_python_functions_resolver() -> None:
    resolver = PythonFunctions({"double": lambda event: event * 2}, {"triple": lambda e: e * 3})
    double = single({"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:double"})
    assert run_execution(StateMachine.from_dict(double, resolver=resolver), 4).output == 8
    triple = single(
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::batch:submitJob.sync",
            "Parameters": {
                "JobName": "t",
                "JobQueue": "q",
                "JobDefinition": "triple:2",
                "Parameters": 5,
            },
            "OutputPath": "$.Parameters",
        }
    )
    assert run_execution(StateMachine.from_dict(triple, resolver=resolver), {}).output == 5
