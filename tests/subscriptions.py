"""SNS topics on the run's moto server, read back through SQS subscriptions.

Ask for the ``topics`` fixture (it brings the ``aws`` one)::

    def test_items(topics: Topics) -> None:
        name, arn = topics.topic()
        queue = topics.subscribe(arn, raw=False, filter_policy={"collection": ["s2"]})
        ...
        messages = topics.received(queue)
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.aws_server import LocalAWS

__all__ = ["Topics", "envelope_attributes", "raw_attributes", "topics"]


class Topics:
    """Fresh SNS topics and SQS queues subscribed to them."""

    def __init__(self, aws: LocalAWS) -> None:
        self.sns = aws.client("sns")
        self.sqs = aws.client("sqs")

    def topic(self, name: str = "") -> tuple[str, str]:
        """A new topic: its name and ARN."""
        name = name or f"topic-{uuid.uuid4().hex[:10]}"
        return name, self.sns.create_topic(Name=name)["TopicArn"]

    def subscribe(
        self, topic_arn: str, *, raw: bool = True, filter_policy: dict[str, Any] | None = None
    ) -> str:
        """A new queue subscribed to the topic; returns its URL."""
        url = self.sqs.create_queue(QueueName=f"sub-{uuid.uuid4().hex[:10]}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        attributes = {"RawMessageDelivery": "true" if raw else "false"}
        if filter_policy is not None:
            attributes["FilterPolicy"] = json.dumps(filter_policy)
        self.sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)
        return str(url)

    def received(self, queue_url: str) -> list[dict[str, Any]]:
        """Every message in the queue, in the order received (then deleted)."""
        messages: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                return messages
            messages.extend(batch)
            self.sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)
                ],
            )


@pytest.fixture
def topics(aws: LocalAWS) -> Topics:
    """Fresh topics and subscribed queues on the run's moto server."""
    return Topics(aws)


def raw_attributes(message: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """``name -> (DataType, value)`` of a message delivered raw."""
    return {
        name: (value["DataType"], value["StringValue"])
        for name, value in message.get("MessageAttributes", {}).items()
    }


def envelope_attributes(message: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """``name -> (Type, value)`` of a message delivered in SNS's envelope."""
    body = json.loads(message["Body"])
    return {name: (v["Type"], v["Value"]) for name, v in body["MessageAttributes"].items()}
