"""The SQS client as the queue backend uses it: errors and request counts.

Every request goes through :meth:`SQSClient.call`, which counts it in :class:`SQSOps` and
translates botocore errors with :func:`sqs_errors`.
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager
from typing import Any

from cirrus._aws import (
    QUERY_DENIED,
    THROTTLED,
    AWSService,
    Refusal,
    RequestCounts,
    aws_errors,
    method_name,
)
from cirrus.errors import InvalidInput, StateError

__all__ = [
    "CHUNK_BYTES",
    "QueueMissing",
    "SQSClient",
    "SQSError",
    "SQSOps",
    "error_code",
    "sqs_errors",
]

CHUNK_BYTES = 65_536
"""SQS bills each 64 KiB of a request's payload as one request."""

_MISSING = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})
_THROTTLED = THROTTLED | {"RequestThrottled", "AWS.SimpleQueueService.RequestThrottled"}
_DENIED = QUERY_DENIED | {"SignatureDoesNotMatch"}


class SQSError(StateError):
    """SQS refused a request.

    Attributes:
        code: SQS's error code (query-protocol spelling, e.g. ``QueueAlreadyExists``).
    """

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class QueueMissing(SQSError):
    """The queue does not exist (in this region, at this endpoint)."""


def error_code(response: dict[str, Any]) -> str:
    """The error code of a failed request or batch entry, in its query-protocol spelling.

    SQS answers JSON, and botocore keeps the older query-protocol code beside the new one
    (``QueryErrorCode``); the older one is what the documentation lists.
    """
    error = response.get("Error", response)
    return str(error.get("QueryErrorCode") or error.get("Code") or "")


SQS = AWSService(
    "SQS",
    "queue",
    StateError,
    "AWS_ENDPOINT_URL_SQS",
    region_fix="set AWS_DEFAULT_REGION (Lambda sets it), give the full queue URL, or set a "
    "region in the AWS profile",
)


def sqs_errors(queue: str, operation: str) -> AbstractContextManager[None]:
    """Turn botocore errors into cirrus errors naming the queue and the fix."""
    return aws_errors(SQS, queue, operation, _refusal_error)


def _refusal_error(refusal: Refusal) -> Exception:
    """SQS's error for a request it refused; its code may be in ``Code`` or ``QueryErrorCode``."""
    error = refusal.response.get("Error", {})
    codes = {refusal.code, error.get("QueryErrorCode", "")}
    code = error_code(refusal.response)
    if codes & _MISSING:
        return QueueMissing(
            f"{refusal.where} does not exist in this region/endpoint: create it with "
            "cirrus.queue.sqs.ensure_queue(), or check AWS_DEFAULT_REGION and "
            "AWS_ENDPOINT_URL",
            code,
        )
    if codes & _THROTTLED:
        return SQSError(refusal.throttled(name_code=False), code)
    if codes & _DENIED:
        grant = f"sqs:{refusal.operation} on the queue (and its dead-letter queue)"
        return SQSError(refusal.denied(grant), code)
    if "InvalidMessageContents" in codes:
        return InvalidInput(
            f"{refusal.where} refused a message body ({refusal.message}): SQS takes only "
            "XML-safe Unicode text; send JSON (json.dumps escapes the rest)"
        )
    return SQSError(refusal.failed(code), code)


class SQSOps(RequestCounts):
    """Requests a queue sent, for benchmarks and cost estimates.

    ``requests`` counts API calls by operation name; ``billed`` counts them as SQS bills
    them (each 64 KiB of message bodies sent or received is one request); ``sent``,
    ``received`` and ``deleted`` count messages. Thread-safe.
    """

    COUNTS = ("billed", "sent", "received", "deleted")
    billed: int
    sent: int
    received: int
    deleted: int

    def add(
        self, operation: str, *, size: int = 0, sent: int = 0, received: int = 0, deleted: int = 0
    ) -> None:
        """Count one request, the bytes of message bodies it carried, and its messages."""
        with self._lock:
            self.requests[operation] += 1
            self.billed += max(1, math.ceil(size / CHUNK_BYTES))
            self.sent += sent
            self.received += received
            self.deleted += deleted

    @property
    def total(self) -> int:
        """Every request sent."""
        with self._lock:
            return sum(self.requests.values())

    def _totals(self) -> dict[str, int]:
        return {"total": sum(self.requests.values())}


class SQSClient:
    """SQS requests: counted and translated.

    Args:
        client: a boto3 SQS client (thread-safe once made).
        ops: where requests are counted.
    """

    def __init__(self, client: Any, ops: SQSOps) -> None:
        self.client = client
        self.ops = ops

    def call(self, operation: str, queue: str, **params: Any) -> dict[str, Any]:
        """Send one request about ``queue`` (its name, for messages); count and translate."""
        method = getattr(self.client, method_name(operation))
        try:
            with sqs_errors(queue, operation):
                response: dict[str, Any] = method(**params)
        except Exception:
            self.ops.add(operation)
            raise
        self.ops.add(operation, **_counted(operation, params, response))
        return response


def _counted(operation: str, params: dict[str, Any], response: dict[str, Any]) -> dict[str, int]:
    """Body bytes and messages of one successful request."""
    if operation == "SendMessageBatch":
        entries = params["Entries"]
        size = sum(len(entry["MessageBody"].encode()) for entry in entries)
        return {"size": size, "sent": len(response.get("Successful", ()))}
    if operation == "SendMessage":
        return {"size": len(params["MessageBody"].encode()), "sent": 1}
    if operation == "ReceiveMessage":
        messages = response.get("Messages", ())
        size = sum(len(message.get("Body", "").encode()) for message in messages)
        return {"size": size, "received": len(messages)}
    if operation == "DeleteMessageBatch":
        return {"deleted": len(response.get("Successful", ()))}
    if operation == "DeleteMessage":
        return {"deleted": 1}
    return {}
