"""Run a deployment's functions on one machine, with an AWS API emulator for the services.

What the emulator here cannot do without Docker (run Lambda code, run Step Functions
executions whose tasks are Lambda functions, deliver EventBridge events to a function),
this module does with cirrus's own parts, so the same handlers run as deployed:

- :class:`QueueDelivery` stands in for Lambda's SQS event source mapping: it receives up
  to 10 messages of the process queue, hands them to the ``process`` function as an SQS
  event, and deletes the records the function does not report as failed.
- :class:`ExecutionRunner` stands in for Step Functions and EventBridge: it finds the
  executions the ``process`` function started (``RUNNING`` on the emulator), runs each with
  cirrus's engine and the project's tasks, and hands its end to the ``update-state``
  function as a "Step Functions Execution Status Change" event, leaving the input and
  output out above 248 KiB as EventBridge does.

:func:`run_until_quiet` alternates the two until nothing is left to do.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cirrus.aws.handlers.process import ProcessFunction
from cirrus.aws.handlers.update_state import UpdateStateFunction
from cirrus.engine import StateMachine, TaskResolver, run_execution, storage_object_io
from cirrus.queue import WorkQueue

__all__ = ["ExecutionRunner", "QueueDelivery", "run_until_quiet", "status_change_event"]

EVENTBRIDGE_DETAIL_LIMIT = 248 * 1024
"""Above this, input and output together, a status change event carries neither."""


class QueueDelivery:
    """Lambda's SQS event source mapping, for one process queue and function.

    Args:
        queue: the process queue.
        function: the ``process`` function.
        batch_size: records per invocation (10, as upstream deploys it).
        visibility_seconds: how long a delivered message stays hidden (the queue's 180 s).
    """

    def __init__(
        self,
        queue: WorkQueue,
        function: ProcessFunction,
        *,
        batch_size: int = 10,
        visibility_seconds: float = 180,
    ) -> None:
        self.queue = queue
        self.function = function
        self.batch_size = batch_size
        self.visibility_seconds = visibility_seconds

    def deliver(self) -> int:
        """Deliver one batch; returns how many messages it held."""
        messages = self.queue.receive(self.batch_size, visibility_seconds=self.visibility_seconds)
        if not messages:
            return 0
        records = [
            {
                "messageId": str(message.id),
                "receiptHandle": message.receipt,
                "body": message.body,
                "attributes": {
                    "ApproximateReceiveCount": str(message.receive_count),
                    "ApproximateFirstReceiveTimestamp": str(int(message.first_received_at * 1000)),
                },
                "eventSource": "aws:sqs",
            }
            for message in messages
        ]
        answer = self.function.handle({"Records": records})
        failed = {entry["itemIdentifier"] for entry in answer.get("batchItemFailures", [])}
        self.queue.delete_many([m for m in messages if str(m.id) not in failed])
        return len(messages)


def status_change_event(
    execution: Mapping[str, Any],
    status: str,
    *,
    output: Any = None,
    error: str | None = None,
    cause: str | None = None,
) -> dict[str, Any]:
    """The EventBridge event of an execution's end (``execution``: DescribeExecution)."""
    arn = str(execution["executionArn"])
    execution_input = str(execution.get("input") or "")
    output_text = json.dumps(output) if output is not None else None
    included = len(execution_input) + len(output_text or "") <= EVENTBRIDGE_DETAIL_LIMIT
    _, _, _, region, account, *_ = arn.split(":")
    now = datetime.now(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": account,
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [arn],
        "detail": {
            "executionArn": arn,
            "stateMachineArn": execution.get("stateMachineArn"),
            "name": execution.get("name"),
            "status": status,
            "startDate": int(now.timestamp() * 1000),
            "stopDate": int(now.timestamp() * 1000),
            "input": execution_input if included else None,
            "output": output_text if included else None,
            "inputDetails": {"included": included},
            "outputDetails": {"included": included},
            "error": error,
            "cause": cause,
        },
    }


class ExecutionRunner:
    """Step Functions and EventBridge, for the executions started on an emulator.

    Args:
        client: a boto3 ``stepfunctions`` client of the emulator.
        base_workflow_arn: the deployment's ``CIRRUS_BASE_WORKFLOW_ARN``.
        definitions: each workflow's state machine definition, by workflow name.
        resolver: runs the Task states (the project's tasks, in this process).
        update_state: the ``update-state`` function.
    """

    def __init__(
        self,
        client: Any,
        base_workflow_arn: str,
        definitions: Mapping[str, Any],
        resolver: TaskResolver,
        update_state: UpdateStateFunction,
    ) -> None:
        self.client = client
        self.base_workflow_arn = base_workflow_arn
        self.machines = {
            name: StateMachine.from_dict(definition, resolver=resolver, name=name)
            for name, definition in definitions.items()
        }
        self.update_state = update_state
        self.finished: set[str] = set()
        self._object_io = storage_object_io()

    def run_pending(self) -> int:
        """Run every started execution not run yet; returns how many ran."""
        ran = 0
        for workflow, machine in self.machines.items():
            arn = f"{self.base_workflow_arn}{workflow}"
            pages = self.client.get_paginator("list_executions").paginate(
                stateMachineArn=arn, statusFilter="RUNNING"
            )
            for page in pages:
                for listed in page["executions"]:
                    if listed["executionArn"] in self.finished:
                        continue
                    self._run(machine, listed["executionArn"])
                    ran += 1
        return ran

    def _run(self, machine: StateMachine, arn: str) -> None:
        execution = self.client.describe_execution(executionArn=arn)
        result = run_execution(
            machine,
            json.loads(execution["input"]),
            name=str(execution["name"]),
            object_io=self._object_io,
        )
        self.finished.add(arn)
        event = status_change_event(
            execution,
            str(result.status),
            output=result.output if result.succeeded else None,
            error=result.error,
            cause=result.cause,
        )
        self.update_state.handle(event)


def run_until_quiet(delivery: QueueDelivery, runner: ExecutionRunner, *, rounds: int = 1000) -> int:
    """Deliver messages and run executions until neither has anything left.

    Returns:
        How many executions ran.

    Raises:
        RuntimeError: still busy after ``rounds`` rounds (a chain that never ends).
    """
    ran = 0
    for _ in range(rounds):
        delivered = delivery.deliver()
        executed = runner.run_pending()
        ran += executed
        if not delivered and not executed:
            return ran
    raise RuntimeError(f"the deployment was still busy after {rounds} rounds")
