"""The SQS client as the queue backend uses it: errors and request counts.

Every request goes through :meth:`SQSClient.call`, which counts it in :class:`SQSOps` and
translates botocore errors with :func:`sqs_errors`.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cirrus.errors import ConfigError, InvalidInput, StateError

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
_THROTTLED = frozenset(
    {"ThrottlingException", "RequestThrottled", "AWS.SimpleQueueService.RequestThrottled"}
)
_DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "InvalidSecurity",
    }
)


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


@contextmanager
def sqs_errors(queue: str, operation: str) -> Iterator[None]:
    """Turn botocore errors into cirrus errors naming the queue and the fix."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
    )

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        codes = {error.get("Code", ""), error.get("QueryErrorCode", "")}
        code = error_code(exc.response)
        message = error.get("Message", "")
        where = f"SQS queue {queue!r}"
        if codes & _MISSING:
            raise QueueMissing(
                f"{where} does not exist in this region/endpoint: create it with "
                "cirrus.queue.sqs.ensure_queue(), or check AWS_DEFAULT_REGION and "
                "AWS_ENDPOINT_URL",
                code,
            ) from exc
        if codes & _THROTTLED:
            raise SQSError(
                f"{operation} on {where} was throttled after retries: retry later, or raise "
                "AWS_MAX_ATTEMPTS",
                code,
            ) from exc
        if codes & _DENIED:
            raise SQSError(
                f"{operation} on {where} was refused ({error.get('Code')}: {message}): grant "
                f"sqs:{operation} on the queue (and its dead-letter queue), or check the "
                "credentials",
                code,
            ) from exc
        if "InvalidMessageContents" in codes:
            raise InvalidInput(
                f"{where} refused a message body ({message}): SQS takes only XML-safe "
                "Unicode text; send JSON (json.dumps escapes the rest)"
            ) from exc
        raise SQSError(f"{operation} on {where} failed: {code}: {message}", code) from exc
    except NoCredentialsError as exc:
        raise StateError(
            f"no AWS credentials for SQS queue {queue!r}: set AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        ) from exc
    except NoRegionError as exc:
        raise ConfigError(
            f"no AWS region for SQS queue {queue!r}: set AWS_DEFAULT_REGION (Lambda sets it), "
            "give the full queue URL, or set a region in the AWS profile"
        ) from exc
    except EndpointConnectionError as exc:
        raise StateError(
            f"cannot reach SQS for queue {queue!r} ({exc}): check the network and "
            "AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_SQS"
        ) from exc
    except BotoCoreError as exc:
        raise StateError(f"{operation} on SQS queue {queue!r} failed: {exc}") from exc


class SQSOps:
    """Requests a queue sent, for benchmarks and cost estimates.

    ``requests`` counts API calls by operation name; ``billed`` counts them as SQS bills
    them (each 64 KiB of message bodies sent or received is one request); ``sent``,
    ``received`` and ``deleted`` count messages. Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.billed = 0
        self.sent = 0
        self.received = 0
        self.deleted = 0

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

    def snapshot(self) -> dict[str, Any]:
        """The counts as a plain dict."""
        with self._lock:
            return {
                "requests": dict(sorted(self.requests.items())),
                "total": sum(self.requests.values()),
                "billed": self.billed,
                "sent": self.sent,
                "received": self.received,
                "deleted": self.deleted,
            }

    def reset(self) -> None:
        """Start counting from zero."""
        with self._lock:
            self.requests.clear()
            self.billed = self.sent = self.received = self.deleted = 0


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
        method = getattr(self.client, _snake(operation))
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


def _snake(operation: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")
