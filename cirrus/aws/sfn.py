"""Step Functions as the runtime uses it: start, stop and read a workflow's executions.

A workflow ``w`` of a deployment is the state machine ``<prefix>-w``; its executions are
named deterministically (:func:`cirrus.runtime.jobs.execution_name`), so starting the same
attempt twice finds ``ExecutionAlreadyExists``, which is success.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cirrus.errors import ConfigError, WorkflowError

__all__ = ["StartResult", "StepFunctions", "execution_arn", "sfn_errors"]


class StartResult(StrEnum):
    """What asking to start an execution did."""

    STARTED = "started"
    ALREADY_STARTED = "already-started"
    """An execution of that name exists: a retry of the same attempt."""
    NO_STATE_MACHINE = "no-state-machine"
    """The workflow is not deployed: the payload fails (retrying would not help)."""


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN of execution ``name`` of a state machine."""
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"


@contextmanager
def sfn_errors(what: str) -> Iterator[None]:
    """Turn botocore errors into cirrus errors that name ``what`` and the fix."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", ""), error.get("Message", "")
        if code in ("AccessDeniedException", "UnrecognizedClientException"):
            raise ConfigError(
                f"Step Functions refused {what}: {message} (check the role's permissions)"
            ) from exc
        raise WorkflowError(f"StepFunctions.{code or 'Error'}", f"{what}: {message}") from exc
    except BotoCoreError as exc:
        raise WorkflowError("StepFunctions.ClientError", f"{what}: {exc}") from exc


@dataclass
class StepFunctions:
    """A Step Functions client for one deployment.

    Args:
        client: a boto3 ``stepfunctions`` client (default: one from the environment,
            ``AWS_ENDPOINT_URL`` included).
    """

    client: Any = None

    def __post_init__(self) -> None:
        if self.client is None:
            import boto3

            self.client = boto3.client("stepfunctions")

    def start(self, state_machine_arn: str, name: str, execution_input: Any) -> StartResult:
        """Start execution ``name`` of a state machine on ``execution_input``.

        Raises:
            WorkflowError: Step Functions failed for another reason (the caller retries).
        """
        from botocore.exceptions import ClientError

        with sfn_errors(f"starting {name} of {state_machine_arn}"):
            try:
                self.client.start_execution(
                    stateMachineArn=state_machine_arn,
                    name=name,
                    input=json.dumps(execution_input),
                )
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code == "ExecutionAlreadyExists":
                    return StartResult.ALREADY_STARTED
                if code == "StateMachineDoesNotExist":
                    return StartResult.NO_STATE_MACHINE
                raise
        return StartResult.STARTED

    def stop(self, arn: str, *, error: str = "", cause: str = "") -> None:
        """Abort a running execution (it ends ABORTED)."""
        with sfn_errors(f"stopping {arn}"):
            self.client.stop_execution(executionArn=arn, error=error, cause=cause)

    def describe(self, arn: str) -> dict[str, Any]:
        """``DescribeExecution``: status, input, output, error and cause of an execution."""
        with sfn_errors(f"reading {arn}"):
            return dict(self.client.describe_execution(executionArn=arn))

    def history(self, arn: str) -> list[dict[str, Any]]:
        """Every history event of an execution, oldest first."""
        events: list[dict[str, Any]] = []
        with sfn_errors(f"reading the history of {arn}"):
            pages = self.client.get_paginator("get_execution_history").paginate(executionArn=arn)
            for page in pages:
                events.extend(page["events"])
        return events
