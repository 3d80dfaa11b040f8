"""Step Functions as the runtime uses it, against the moto server."""

from __future__ import annotations

import pytest

from cirrus.aws.sfn import StartResult, StepFunctions, execution_arn
from cirrus.errors import WorkflowError
from tests.aws.conftest import Deployment


def test_start_is_idempotent_by_name_and_stop_aborts(deployment: Deployment) -> None:
    machine = deployment.add_workflow("w")
    sfn = StepFunctions()
    assert sfn.start(machine, "attempt-1", {"a": 1}) is StartResult.STARTED
    # as on AWS, the same name and input while it runs is the same execution
    assert sfn.start(machine, "attempt-1", {"a": 1}) is StartResult.STARTED
    assert len(deployment.executions("w")) == 1
    arn = execution_arn(machine, "attempt-1")
    described = sfn.describe(arn)
    assert described["status"] == "RUNNING" and described["input"] == '{"a": 1}'
    sfn.stop(arn, error="Operator", cause="stopped by a test")
    assert sfn.describe(arn)["status"] == "ABORTED"
    # a name is used once: starting a closed execution again finds it
    assert sfn.start(machine, "attempt-1", {"a": 1}) is StartResult.ALREADY_STARTED
    types = [event["type"] for event in sfn.history(arn)]
    assert types[0] == "ExecutionStarted"  # moto makes up the rest of a history


def test_a_missing_state_machine_is_reported_not_raised(deployment: Deployment) -> None:
    missing = f"{deployment.base_workflow_arn}nowhere"
    assert StepFunctions().start(missing, "attempt-1", {}) is StartResult.NO_STATE_MACHINE


def test_other_errors_name_what_failed(deployment: Deployment) -> None:
    with pytest.raises(WorkflowError, match=r"reading .*nope"):
        StepFunctions().describe(execution_arn(f"{deployment.base_workflow_arn}w", "nope"))
