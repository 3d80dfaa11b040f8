"""The stack's side of a deploy: events as they come, why a stack failed, when to update.

moto's CloudFormation makes a stack in one request and records only the stack's own
events, so these tests play back what AWS reports, with small fake clients.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from cirrus.aws.stack import (
    DeployError,
    StackEvent,
    failure_message,
    ready_stack,
    server_failure,
    wait_for_stack,
)


class FakeCloudFormation:
    """A CloudFormation client that plays back a failed update, as AWS reports one."""

    def __init__(self) -> None:
        self.looks = 0
        stamp = datetime(2024, 5, 1, tzinfo=UTC)

        def event(
            number: int, logical: str, kind: str, status: str, reason: str = ""
        ) -> dict[str, Any]:
            return {
                "EventId": f"e{number}",
                "LogicalResourceId": logical,
                "ResourceType": kind,
                "ResourceStatus": status,
                "ResourceStatusReason": reason,
                "Timestamp": stamp,
            }

        stack = "AWS::CloudFormation::Stack"
        self.events = [  # newest first, as DescribeStackEvents answers
            event(6, "demo", stack, "UPDATE_ROLLBACK_COMPLETE"),
            event(
                5,
                "OtherFunction",
                "AWS::Lambda::Function",
                "UPDATE_FAILED",
                "Resource update cancelled",
            ),
            event(4, "demo", stack, "UPDATE_ROLLBACK_IN_PROGRESS", "failed: [StateTable]"),
            event(
                3,
                "StateTable",
                "AWS::DynamoDB::Table",
                "UPDATE_FAILED",
                "Cannot update GSI's properties other than Provisioned Throughput",
            ),
            event(2, "demo", stack, "UPDATE_IN_PROGRESS", "User Initiated"),
            event(1, "demo", stack, "CREATE_COMPLETE"),
        ]

    def describe_stack_events(self, StackName: str, NextToken: str | None = None) -> Any:
        visible = self.events[-(2 + self.looks * 2) :]
        return {"StackEvents": visible}

    def describe_stacks(self, StackName: str) -> Any:
        self.looks += 1
        status = "UPDATE_ROLLBACK_COMPLETE" if self.looks >= 3 else "UPDATE_IN_PROGRESS"
        return {"Stacks": [{"StackName": "demo", "StackId": "arn:demo", "StackStatus": status}]}


def test_a_failed_stack_names_each_failed_resource_and_its_reason() -> None:
    client = FakeCloudFormation()
    lines: list[str] = []
    stack, events = wait_for_stack(
        client, "arn:demo", seen={"e1"}, progress=lines.append, sleep=lambda seconds: None
    )
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert [event.event_id for event in events] == ["e2", "e3", "e4", "e5", "e6"]
    assert (
        lines[0] == "00:00:00 UPDATE_IN_PROGRESS demo (AWS::CloudFormation::Stack): User Initiated"
    )
    message = failure_message(stack, events)
    assert message.splitlines() == [
        "stack demo ended UPDATE_ROLLBACK_COMPLETE",
        "  StateTable (AWS::DynamoDB::Table) UPDATE_FAILED: Cannot update GSI's properties "
        "other than Provisioned Throughput",
        "  OtherFunction (AWS::Lambda::Function) UPDATE_FAILED: Resource update cancelled",
    ]
    error = DeployError(message, [e for e in events if e.failed])
    assert [event.logical_id for event in error.failures] == ["StateTable", "OtherFunction"]
    assert StackEvent.from_api(client.events[0]).failed is False


class FakeStacks:
    """A CloudFormation client with one stack in a given status (deleted on request)."""

    def __init__(self, status: str) -> None:
        self.status = status
        self.deleted: list[str] = []

    def describe_stacks(self, StackName: str) -> Any:
        stack = {"StackName": "demo", "StackId": "arn:demo", "StackStatus": self.status}
        return {"Stacks": [stack]}

    def describe_stack_events(self, StackName: str, NextToken: str | None = None) -> Any:
        return {"StackEvents": []}

    def delete_stack(self, StackName: str) -> None:
        self.deleted.append(StackName)
        self.status = "DELETE_COMPLETE"


@pytest.mark.parametrize(
    ("status", "message"),
    [
        pytest.param("UPDATE_IN_PROGRESS", "is busy (UPDATE_IN_PROGRESS)", id="busy"),
        pytest.param("UPDATE_ROLLBACK_FAILED", "cannot update it", id="failed-rollback"),
    ],
)
def test_a_stack_that_cannot_be_updated_now_is_an_error(status: str, message: str) -> None:
    with pytest.raises(DeployError, match=re.escape(message)):
        ready_stack(FakeStacks(status), "demo", lambda line: None, 0.1, 10)


def test_a_stack_whose_first_create_rolled_back_is_deleted_and_made_again() -> None:
    client = FakeStacks("ROLLBACK_COMPLETE")
    lines: list[str] = []
    assert ready_stack(client, "demo", lines.append, 0.1, 10) is None
    assert client.deleted == ["arn:demo"]
    assert "never got made (ROLLBACK_COMPLETE)" in lines[0]


def test_an_up_to_date_stack_is_updated() -> None:
    stack = ready_stack(FakeStacks("UPDATE_COMPLETE"), "demo", print, 0.1, 10)
    assert stack is not None and stack["StackStatus"] == "UPDATE_COMPLETE"


class FakeRefusingEndpoint:
    """What moto leaves after refusing an update: the stack as it was, no new resource."""

    def describe_stacks(self, StackName: str) -> Any:
        stack = {"StackName": "demo", "StackId": "arn:demo", "StackStatus": "UPDATE_COMPLETE"}
        return {"Stacks": [stack]}

    def get_paginator(self, operation: str) -> Any:
        class Pages:
            def paginate(self, StackName: str) -> list[dict[str, Any]]:
                made = [{"LogicalResourceId": "Queue", "PhysicalResourceId": "q"}]
                return [{"StackResourceSummaries": made}]

        return Pages()


BEFORE = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {}}}}
AFTER = {
    "Resources": {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Compute": {
            "Type": "AWS::Batch::ComputeEnvironment",
            "Properties": {"ComputeResources": {"SecurityGroupIds": ["sg-0123456789abcdef0"]}},
        },
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
    }
}


def parser_error(body: bytes) -> Exception:
    from botocore.parsers import ResponseParserError

    return ResponseParserError(
        "Unable to parse response (syntax error: line 1, column 0), invalid XML received. "
        f"Further retries may succeed:\n{body!r}"
    )


def test_a_refusal_passed_through_names_the_resources_that_mention_it() -> None:
    refused = parser_error(
        b'{"__type": "InvalidParameterValue", '
        b'"message": "security group sg-0123456789abcdef0 does not exist"}'
    )
    error = server_failure(FakeRefusingEndpoint(), "demo", AFTER, BEFORE, refused)
    assert str(error) == (
        "the CloudFormation endpoint refused updating stack demo (InvalidParameterValue: "
        "security group sg-0123456789abcdef0 does not exist) and recorded no event saying "
        "which resource; the resources that name it: Compute (AWS::Batch::ComputeEnvironment)"
    )


def test_an_error_page_names_the_resources_being_made() -> None:
    page = b"<!doctype html>\n<title>500 Internal Server Error</title>\n<h1>Internal</h1>"
    error = server_failure(FakeRefusingEndpoint(), "demo", AFTER, BEFORE, parser_error(page))
    assert "(an error page: 500 Internal Server Error)" in str(error)
    assert str(error).endswith(
        "the resources it was making or changing: Compute (AWS::Batch::ComputeEnvironment), "
        "Topic (AWS::SNS::Topic)"
    )
