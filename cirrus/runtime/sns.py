"""Announcements on SNS: published items and workflow events, in upstream Cirrus's shapes.

An :class:`SNSTopic` sends :class:`SNSMessage` objects with PublishBatch::

    topic = SNSTopic("sns://my-cirrus-publish")        # or the topic's ARN
    refused = topic.publish([item_message(item) for item in items])
    for miss in refused:
        print(miss.message.subject, miss.reason)

Messages go 10 to a request (and at most 256 KiB, SNS's limits). An entry SNS fails on its
own side (``SenderFault: false``, e.g. throttling) is sent again, a few times, with a pause;
an entry SNS refuses as wrong is not. What is still refused is returned with the reason,
never raised: the caller logs and keeps it (see :class:`cirrus.runtime.publish.Announcer`).
A failing request (a missing topic, refused credentials) stops the call, and everything
not yet sent is returned as refused. botocore errors are translated by :func:`sns_errors`,
and every request is counted in :class:`SNSOps`.

Item messages (:func:`item_message`) carry the item's JSON and upstream's message
attributes; event messages (:func:`event_message`) carry upstream's workflow event JSON
and attributes. The boto3 client takes region, credentials and endpoint from boto3's own
settings (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_SNS``, profiles), and the region of a
topic ARN.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cirrus._aws import QUERY_DENIED, THROTTLED, AWSService, Refusal, RequestCounts, aws_errors
from cirrus.errors import AnnounceError, ConfigError, PayloadError
from cirrus.project.config import parse_topic
from cirrus.runtime.announcements import event_document, sns_attributes
from cirrus.state import split_payload_id

if TYPE_CHECKING:
    from cirrus.state import NewEvent

__all__ = [
    "Refused",
    "SNSMessage",
    "SNSOps",
    "SNSTopic",
    "event_message",
    "item_message",
    "sns_errors",
]

MAX_ENTRIES = 10
"""Entries in one PublishBatch request (SNS's limit)."""
MAX_REQUEST_BYTES = 256 * 1024
"""Bytes of messages and attributes in one PublishBatch request (SNS's limit)."""
BILLED_BYTES = 64 * 1024
"""SNS bills each 64 KiB of a publish request's messages as one request."""
ENTRY_TRIES = 5
"""Times an entry SNS failed on its own side is sent before it counts as refused."""

_NOT_FOUND = frozenset({"NotFound", "NotFoundException", "ResourceNotFoundException"})
_DENIED = QUERY_DENIED | {"AuthorizationError", "AuthorizationErrorException"}
_THROTTLED = THROTTLED | {"Throttled", "ThrottledException", "Throttling"}


@dataclass(frozen=True, slots=True)
class SNSMessage:
    """One message for a topic.

    Attributes:
        body: the message text (JSON).
        attributes: SNS ``MessageAttributes`` (``{"name": {"DataType", "StringValue"}}``).
        subject: what the message announces, for logs (``item x``, ``SUCCEEDED of <id>``).
    """

    body: str
    attributes: dict[str, dict[str, str]]
    subject: str

    def entry(self, entry_id: str) -> dict[str, Any]:
        """The message as a PublishBatch entry."""
        return {"Id": entry_id, "Message": self.body, "MessageAttributes": self.attributes}

    @property
    def size(self) -> int:
        """Bytes SNS counts against a request's limit: the body and every attribute."""
        size = len(self.body.encode())
        for name, value in self.attributes.items():
            size += len(name.encode()) + len(value["DataType"].encode())
            size += len(value["StringValue"].encode())
        return size


@dataclass(frozen=True, slots=True)
class Refused:
    """A message the topic did not take, and why."""

    message: SNSMessage
    reason: str


class SNSOps(RequestCounts):
    """Requests sent to SNS and messages delivered, for benchmarks and cost estimates.

    ``requests`` counts API calls by operation name (``PublishBatch``, and
    ``GetCallerIdentity`` when a topic named by name is looked up once); ``billed``
    counts publish requests as SNS bills them (each 64 KiB of a request's messages is
    one); ``messages`` counts entries SNS accepted, ``retried`` entries sent again after
    SNS failed on its side, ``refused`` messages given up on. Thread-safe.
    """

    COUNTS = ("billed", "messages", "retried", "refused")
    billed: int
    messages: int
    retried: int
    refused: int

    def add(self, operation: str, *, size: int = 0, messages: int = 0, retried: int = 0) -> None:
        """Count one request (``size`` bytes of messages) and what it delivered."""
        with self._lock:
            self.requests[operation] += 1
            if operation == "PublishBatch":
                self.billed += max(1, -(-size // BILLED_BYTES))
            self.messages += messages
            self.retried += retried

    def add_refused(self, count: int) -> None:
        """Count messages given up on."""
        with self._lock:
            self.refused += count


SNS = AWSService(
    "SNS",
    "topic",
    AnnounceError,
    "AWS_ENDPOINT_URL_SNS",
    region_fix="give its ARN, or set AWS_DEFAULT_REGION (Lambda sets it) or a region in the "
    "AWS profile",
)


def sns_errors(
    topic: str, operation: str, setting: str = "the topic setting"
) -> AbstractContextManager[None]:
    """Turn botocore errors into cirrus errors naming the topic and the fix.

    Args:
        topic: the topic as configured (ARN or ``sns://<name>``).
        operation: the API operation, for the message.
        setting: the setting that names the topic, for the message.

    Raises:
        AnnounceError: SNS refused or failed the request.
        ConfigError: no AWS region is configured.
    """
    return aws_errors(SNS, topic, operation, lambda refusal: _refusal_error(refusal, setting))


def _refusal_error(refusal: Refusal, setting: str) -> AnnounceError:
    """SNS's error for a request it refused (``setting`` names the topic, for the fix)."""
    if refusal.code in _NOT_FOUND:
        return AnnounceError(
            f"{refusal.where} does not exist in this account/region/endpoint: create it, or "
            f"fix {setting} (check AWS_DEFAULT_REGION and AWS_ENDPOINT_URL too)"
        )
    if refusal.code in _DENIED:
        return AnnounceError(refusal.denied("sns:Publish on the topic"))
    if refusal.code in _THROTTLED:
        return AnnounceError(refusal.throttled())
    return AnnounceError(refusal.failed())


class SNSTopic:
    """One SNS topic, sent messages by PublishBatch.

    The boto3 client is made on first use. A topic given by name is looked up once
    (its ARN is made from the caller's account, from STS, and the client's region).

    Args:
        topic: ``arn:aws:sns:<region>:<account>:<name>``, ``sns://<ARN>`` or ``sns://<name>``.
        setting: the setting that names the topic, for error messages.
        ops: where requests are counted (default: a new :class:`SNSOps`).
        client: a boto3 SNS client to use (default: one from boto3's configuration).

    Raises:
        ConfigError: ``topic`` is not a topic ARN or ``sns://`` URL.
    """

    def __init__(
        self,
        topic: str,
        *,
        setting: str = "the topic setting",
        ops: SNSOps | None = None,
        client: Any = None,
    ) -> None:
        try:
            self.topic = parse_topic(topic)
        except ValueError as exc:
            raise ConfigError(f"{setting}: {exc}") from None
        self.setting = setting
        self.ops = ops or SNSOps()
        self._client = client
        self._arn = None if self.topic.startswith("sns://") else self.topic
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SNSTopic({self.topic!r})"

    @property
    def arn(self) -> str:
        """The topic's ARN (looked up on first use for a topic given by name).

        Raises:
            AnnounceError: the account could not be found out.
            ConfigError: boto3 is missing, or no region is configured.
        """
        with self._lock:
            if self._arn is None:
                name = self.topic[len("sns://") :]
                client = self._client_locked()
                with sns_errors(self.topic, "GetCallerIdentity", self.setting):
                    session = _boto3().session.Session()
                    identity = session.client("sts").get_caller_identity()
                self.ops.add("GetCallerIdentity")
                region = client.meta.region_name
                partition = identity["Arn"].split(":")[1]
                self._arn = f"arn:{partition}:sns:{region}:{identity['Account']}:{name}"
            return self._arn

    @property
    def known_arn(self) -> str:
        """The ARN if known (given, or looked up already), else the topic as configured."""
        return self._arn or self.topic

    @property
    def client(self) -> Any:
        """The boto3 SNS client (made on first use, in the topic's region)."""
        with self._lock:
            return self._client_locked()

    def _client_locked(self) -> Any:
        if self._client is None:
            region = None if self._arn is None else self._arn.split(":")[3]
            with sns_errors(self.topic, "connect", self.setting):
                self._client = _boto3().session.Session().client("sns", region_name=region)
        return self._client

    def publish(self, messages: Sequence[SNSMessage]) -> list[Refused]:
        """Send messages, 10 (and at most 256 KiB) to a request; returns those refused.

        Never raises for SNS's refusals: a failing request refuses it and every message
        after it (they would fail the same way).
        """
        refused: list[Refused] = []
        chunks = _chunks(messages, refused)
        for index, chunk in enumerate(chunks):
            try:
                refused.extend(self._send(chunk))
            except (AnnounceError, ConfigError) as err:
                reason = str(err)
                refused.extend(
                    Refused(message, reason) for rest in chunks[index:] for message in rest
                )
                break
        if refused:
            self.ops.add_refused(len(refused))
        return refused

    def _send(self, chunk: list[SNSMessage]) -> list[Refused]:
        """One PublishBatch request, and again for the entries SNS failed on its side."""
        arn, client = self.arn, self.client
        pending = {str(n): message for n, message in enumerate(chunk)}
        refused: list[Refused] = []
        retried = 0
        for attempt in range(ENTRY_TRIES):
            entries = [message.entry(entry_id) for entry_id, message in pending.items()]
            size = sum(message.size for message in pending.values())
            try:
                with sns_errors(self.topic, "PublishBatch", self.setting):
                    response = client.publish_batch(
                        TopicArn=arn, PublishBatchRequestEntries=entries
                    )
            except (AnnounceError, ConfigError):
                self.ops.add("PublishBatch", size=size, retried=retried)  # a refused request
                raise
            failed = response.get("Failed") or []
            self.ops.add(
                "PublishBatch", size=size, messages=len(entries) - len(failed), retried=retried
            )
            again: dict[str, SNSMessage] = {}
            for failure in failed:
                message = pending[failure["Id"]]
                reason = f"{failure.get('Code', 'Failed')}: {failure.get('Message', '')}"
                if failure.get("SenderFault"):
                    refused.append(Refused(message, f"SNS refused it ({reason})"))
                else:
                    again[failure["Id"]] = message
            if not again:
                return refused
            pending, retried = again, len(again)
            if attempt + 1 < ENTRY_TRIES:
                time.sleep(min(0.1 * 2**attempt, 2.0))
        refused.extend(
            Refused(message, f"SNS failed it {ENTRY_TRIES} times (throttled or unavailable)")
            for message in pending.values()
        )
        return refused


def _chunks(messages: Sequence[SNSMessage], refused: list[Refused]) -> list[list[SNSMessage]]:
    """Requests' worth of messages, in order; a message too big for SNS goes to ``refused``."""
    chunks: list[list[SNSMessage]] = []
    chunk: list[SNSMessage] = []
    size = 0
    for message in messages:
        length = message.size
        if length > MAX_REQUEST_BYTES:
            refused.append(
                Refused(message, f"it is {length} bytes, over SNS's limit of {MAX_REQUEST_BYTES}")
            )
            continue
        if chunk and (len(chunk) == MAX_ENTRIES or size + length > MAX_REQUEST_BYTES):
            chunks.append(chunk)
            chunk, size = [], 0
        chunk.append(message)
        size += length
    if chunk:
        chunks.append(chunk)
    return chunks


def _boto3() -> Any:
    try:
        import boto3
    except ImportError as exc:
        raise ConfigError(
            "announcing on SNS needs boto3: pip install boto3 (cirrus's aws extra)"
        ) from exc
    return boto3


# ---------------------------------------------------------------- messages


def item_message(item: dict[str, Any]) -> SNSMessage:
    """A published item as upstream sends it: its JSON, with filterable attributes.

    The attributes are upstream's (at most 10, the limit of raw delivery to SQS):
    ``collection``, ``bbox.ll_lon``, ``bbox.ll_lat``, ``bbox.ur_lon``, ``bbox.ur_lat``
    (Number), ``datetime``, ``start_datetime``, ``end_datetime``, ``cloud_cover`` (Number)
    and ``status`` (``created`` or ``updated``); see
    :func:`cirrus.runtime.announcements.sns_attributes`.
    """
    return SNSMessage(json.dumps(item), sns_attributes(item), f"item {item.get('id')!r}")


def event_message(event: NewEvent, base_workflow_arn: str = "") -> SNSMessage:
    """A workflow event as upstream sends it.

    The body is :func:`cirrus.runtime.announcements.event_document` (``base_workflow_arn``
    turns execution names into ARNs there); the attributes are
    ``event_type``, ``workflow`` and ``collections`` (from the payload id), and ``error``
    when there is one.
    """
    attributes = {"event_type": {"DataType": "String", "StringValue": event.event_type.value}}
    parts = _split_payload_id(event.payload_id)
    if parts is not None:
        attributes["workflow"] = {"DataType": "String", "StringValue": parts[1]}
        attributes["collections"] = {"DataType": "String", "StringValue": parts[0]}
    if event.error:
        attributes["error"] = {"DataType": "String", "StringValue": event.error}
    subject = f"{event.event_type.value} of {event.payload_id}"
    return SNSMessage(json.dumps(event_document(event, base_workflow_arn)), attributes, subject)


def _split_payload_id(payload_id: str) -> tuple[str, str, str] | None:
    try:
        return split_payload_id(payload_id)
    except PayloadError:
        return None
