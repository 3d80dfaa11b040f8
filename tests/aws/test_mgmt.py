"""``cirrus mgmt <deployment> ...`` against a deployment found through SSM, as upstream's CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cirrus.aws.handlers.process import ProcessFunction
from cirrus.aws.handlers.update_state import UpdateStateFunction
from cirrus.cli.main import cli
from cirrus.payload import Payload
from cirrus.queue import MemoryQueue
from tests.aws.conftest import Deployment, payload, sqs_event, status_change


def _register(deployment: Deployment) -> None:
    """The SSM parameters a deployed stack keeps for discovery."""
    ssm = deployment.aws.client("ssm")
    path = f"/deployment/{deployment.prefix}/"
    ssm.put_parameter(
        Name=f"/cirrus/deployments/{deployment.prefix}",
        Type="String",
        Value=json.dumps({"type": "parameter_store", "value": path}),
    )
    for name, value in deployment.environment.items():
        ssm.put_parameter(Name=f"{path}{name}", Type="String", Value=value)


@pytest.fixture
def mgmt(
    deployment: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    _register(deployment)
    monkeypatch.chdir(tmp_path)  # no project here: everything comes from the deployment

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, ["mgmt", deployment.prefix, *args])

    return run


def _succeeded(deployment: Deployment) -> dict[str, Any]:
    deployment.add_workflow("w")
    data = payload("a")
    ProcessFunction(deployment.settings(), queue=MemoryQueue()).handle(sqs_event(json.dumps(data)))
    client = deployment.aws.client("stepfunctions")
    [listed] = deployment.executions("w")
    execution = client.describe_execution(executionArn=listed["executionArn"])
    output = dict(json.loads(execution["input"]), note="done")
    UpdateStateFunction(deployment.settings(), queue=MemoryQueue()).handle(
        status_change(execution, "SUCCEEDED", output=output)
    )
    return data


def test_state_query_and_output_of_a_deployment(
    deployment: Deployment, mgmt: Callable[..., Result]
) -> None:
    data = _succeeded(deployment)
    payload_id = Payload.from_dict(data).id
    state = mgmt("get-state", payload_id)
    assert state.exit_code == 0, state.output
    assert json.loads(state.stdout)["state"] == "SUCCEEDED"
    found = mgmt("query", "--state", "SUCCEEDED")
    assert found.exit_code == 0, found.output
    assert [json.loads(line)["payload_id"] for line in found.stdout.splitlines()] == [payload_id]
    output = mgmt("get-output-payload", payload_id)
    assert output.exit_code == 0, output.output
    assert json.loads(output.stdout)["note"] == "done"


def test_list_deployments_and_an_unknown_one(
    deployment: Deployment, mgmt: Callable[..., Result]
) -> None:
    listed = mgmt("list-deployments")
    assert deployment.prefix in json.loads(listed.stdout)  # the server is shared by the run
    unknown = CliRunner().invoke(cli, ["mgmt", "nowhere", "get-state", "x"])
    assert unknown.exit_code == 2
    assert "no deployment named 'nowhere'" in unknown.output
    assert deployment.prefix in unknown.output
    assert "Traceback" not in unknown.output


def test_abort_stops_the_running_execution_and_events_come_from_step_functions(
    deployment: Deployment, mgmt: Callable[..., Result]
) -> None:
    deployment.add_workflow("w")
    data = payload("a")
    ProcessFunction(deployment.settings(), queue=MemoryQueue()).handle(sqs_event(json.dumps(data)))
    payload_id = Payload.from_dict(data).id
    stopped = mgmt("abort", payload_id)
    assert stopped.exit_code == 0, stopped.output
    [listed] = deployment.executions("w")
    assert listed["status"] == "ABORTED"
    assert json.loads(stopped.stdout)["execution"] == listed["executionArn"]
    events = mgmt("get-execution-events", payload_id)
    assert events.exit_code == 0, events.output
    first = json.loads(events.stdout.splitlines()[0])
    assert first["type"] == "ExecutionStarted"
