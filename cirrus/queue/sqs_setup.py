"""Making SQS queues as upstream Cirrus's deployment has them: a process queue and its DLQ.

    url = ensure_queue("my-cirrus-process")   # VisibilityTimeout 180, redrive after 5 receives

The deploy makes them through CloudFormation; this is for tests, benchmarks and teams that
make their queues themselves.
"""

from __future__ import annotations

import json
import re
from typing import Any

from cirrus.errors import ConfigError
from cirrus.queue._sqs_client import SQSClient, SQSError, SQSOps
from cirrus.queue.base import DEFAULT_MAX_RECEIVES, check_limit

__all__ = [
    "DLQ_RETENTION_SECONDS",
    "UPSTREAM_VISIBILITY",
    "dead_letter_queue_name",
    "ensure_queue",
]

DLQ_RETENTION_SECONDS = 14 * 24 * 3600
"""How long the dead-letter queue keeps a message (upstream: 14 days, SQS's maximum)."""
UPSTREAM_VISIBILITY = 180
"""Upstream Cirrus's process queue visibility timeout (seconds)."""
_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}|[A-Za-z0-9_-]{1,75}\.fifo")


def _client() -> Any:
    import boto3

    return boto3.client("sqs")


def dead_letter_queue_name(name: str) -> str:
    """The dead-letter queue :func:`ensure_queue` makes for ``name`` (``<name>-dlq``)."""
    if name.endswith(".fifo"):
        return f"{name.removesuffix('.fifo')}-dlq.fifo"
    return f"{name}-dlq"


def ensure_queue(
    name: str,
    *,
    max_receives: int | None = DEFAULT_MAX_RECEIVES,
    visibility: int = UPSTREAM_VISIBILITY,
    client: Any = None,
) -> str:
    """Make ``name`` and ``<name>-dlq`` as upstream Cirrus's process queue, unless they exist.

    The queue gets VisibilityTimeout ``visibility`` and a RedrivePolicy to the dead-letter
    queue after ``max_receives`` receives; the dead-letter queue keeps messages 14 days.
    A name ending ``.fifo`` makes FIFO queues (the dead-letter queue ``<name>-dlq.fifo``).
    Existing queues get these attributes set again.

    Args:
        name: the queue name.
        max_receives: receives before SQS moves a message to the dead-letter queue (None:
            no dead-letter queue and no limit).
        visibility: the queue's default visibility timeout (seconds).
        client: a boto3 SQS client (default: one from boto3's configuration).

    Returns:
        The queue URL.

    Raises:
        ConfigError: the name or a setting is not valid.
        StateError: SQS refused.
    """
    check_limit(max_receives)
    if not _NAME.fullmatch(name) or len(dead_letter_queue_name(name)) > 80:
        raise ConfigError(
            f"SQS queue name {name!r} is not valid: use 1-76 letters, digits, '-' or '_' "
            "(ending .fifo for a FIFO queue), leaving room for the -dlq suffix"
        )
    sqs = SQSClient(client if client is not None else _client(), SQSOps())
    fifo = {"FifoQueue": "true"} if name.endswith(".fifo") else {}
    attributes: dict[str, str] = {"VisibilityTimeout": str(visibility), **fifo}
    if max_receives is not None:
        dlq = dead_letter_queue_name(name)
        dlq_url = _create(sqs, dlq, {"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS), **fifo})
        arn = sqs.call("GetQueueAttributes", dlq, QueueUrl=dlq_url, AttributeNames=["QueueArn"])
        policy = {
            "maxReceiveCount": max_receives,
            "deadLetterTargetArn": arn["Attributes"]["QueueArn"],
        }
        attributes["RedrivePolicy"] = json.dumps(policy)
    return _create(sqs, name, attributes)


def _create(sqs: SQSClient, name: str, attributes: dict[str, str]) -> str:
    """Create a queue, or set these attributes on the one that exists; returns its URL."""
    try:
        return str(sqs.call("CreateQueue", name, QueueName=name, Attributes=attributes)["QueueUrl"])
    except SQSError as exc:
        if exc.code not in ("QueueAlreadyExists", "QueueNameExists"):
            raise
    url = str(sqs.call("GetQueueUrl", name, QueueName=name)["QueueUrl"])
    changeable = {k: v for k, v in attributes.items() if k != "FifoQueue"}
    sqs.call("SetQueueAttributes", name, QueueUrl=url, Attributes=changeable)
    return url
