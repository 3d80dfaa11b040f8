"""The events AWS hands the functions, read into what the runtime works with.

- An SQS batch (``process``): each record's body is a payload, a ``{"url": ...}``
  reference, an SNS notification wrapping either (a topic subscribed to the queue without
  raw delivery), or the output of a Batch task state (``Parameters.url_out``). Each record
  becomes a queue :class:`~cirrus.queue.Message` carrying the payload text, its receipt
  handle and receive count.
- An EventBridge "Step Functions Execution Status Change" (``update-state``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cirrus.engine import ExecutionStatus
from cirrus.queue import Message

__all__ = ["StatusChange", "message_from_record", "unwrap_body"]


def unwrap_body(text: str) -> str:
    """The payload text inside an SQS body: SNS envelopes and Batch outputs unwrapped.

    Text that is not JSON is returned as it is (the reader rejects it with its reason).
    """
    for _ in range(3):  # SNS in SQS, possibly fanned out once more
        try:
            data = json.loads(text)
        except ValueError:
            return text
        if (
            isinstance(data, dict)
            and isinstance(data.get("Message"), str)
            and (
                data.get("Type") == "Notification"
                or "TopicArn" in data
                or not {"features", "process", "url"} & data.keys()  # {"Message": ...} alone
            )
        ):
            text = data["Message"]
            continue
        if isinstance(data, dict) and "url" not in data:
            parameters = data.get("Parameters")
            if isinstance(parameters, dict) and isinstance(parameters.get("url_out"), str):
                return json.dumps({"url": parameters["url_out"]})
        return text
    return text


def message_from_record(record: dict[str, Any]) -> Message:
    """A queue message from one record of an SQS (or SNS) Lambda event."""
    if "Sns" in record:  # a function subscribed to a topic directly
        sns = record["Sns"]
        return Message(
            id=str(sns.get("MessageId", "")),
            body=unwrap_body(str(sns.get("Message", ""))),
            receipt="",
            receive_count=1,
        )
    attributes = record.get("attributes") or {}
    first = attributes.get("ApproximateFirstReceiveTimestamp")
    return Message(
        id=str(record.get("messageId", "")),
        body=unwrap_body(str(record.get("body", ""))),
        receipt=str(record.get("receiptHandle", "")),
        receive_count=int(attributes.get("ApproximateReceiveCount", 1)),
        first_received_at=int(first) / 1000 if first else 0.0,
    )


@dataclass(frozen=True)
class StatusChange:
    """An execution's end, from a "Step Functions Execution Status Change" event.

    ``input``/``output`` are None when EventBridge left them out (above 248 KiB together):
    read them from the execution then.
    """

    execution_arn: str
    state_machine_arn: str
    name: str
    status: ExecutionStatus
    input: str | None
    output: str | None
    error: str | None
    cause: str | None

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> StatusChange:
        """Read an EventBridge event.

        Raises:
            ValueError: it is not a Step Functions status change, or not a final status.
        """
        detail = event.get("detail")
        if not isinstance(detail, dict) or "executionArn" not in detail:
            raise ValueError(
                "not a Step Functions Execution Status Change event: no detail.executionArn"
            )
        status = ExecutionStatus(str(detail.get("status")))
        if status is ExecutionStatus.RUNNING:
            raise ValueError(f"{detail['executionArn']} is still RUNNING: nothing to update")
        return cls(
            execution_arn=str(detail["executionArn"]),
            state_machine_arn=str(detail.get("stateMachineArn", "")),
            name=str(detail.get("name") or str(detail["executionArn"]).rsplit(":", 1)[-1]),
            status=status,
            input=_included(detail, "input"),
            output=_included(detail, "output"),
            error=detail.get("error") or None,
            cause=detail.get("cause") or None,
        )


def _included(detail: dict[str, Any], key: str) -> str | None:
    details = detail.get(f"{key}Details")
    if isinstance(details, dict) and details.get("included") is False:
        return None
    value = detail.get(key)
    return value if isinstance(value, str) else None
