"""The work queue on Amazon SQS: ``open_queue("sqs://my-cirrus-process")``.

The queue is named by name (looked up in the region with GetQueueUrl) or by its full URL
(``sqs://https://sqs.us-west-2.amazonaws.com/123456789012/my-cirrus-process``). The
endpoint, region and credentials come from boto3's own settings (``AWS_ENDPOINT_URL_SQS`` or
``AWS_ENDPOINT_URL``, ``AWS_DEFAULT_REGION``, profiles); nothing here overrides them. A
queue in upstream Cirrus's shape, with its dead-letter queue, is made by
:func:`ensure_queue`::

    ensure_queue("my-cirrus-process")       # VisibilityTimeout 180, redrive after 5 receives
    with open_queue("sqs://my-cirrus-process") as queue:
        queue.send_many(bodies)

How the interface maps onto SQS:

- **receive** is ReceiveMessage (10 messages a call), with the visibility rounded up to
  whole seconds (SQS takes 0-43,200); ``receive_count`` is ``ApproximateReceiveCount`` and
  ``first_received_at`` ``ApproximateFirstReceiveTimestamp``. Short polling by default
  (``wait_seconds=0``): SQS then asks a sample of its servers, so a receive can come back
  empty while a few messages wait; ``sqs://name?wait_seconds=1`` long-polls instead.
  **delete_many** is DeleteMessageBatch, **hide** ChangeMessageVisibilityBatch (10 a
  call); a receipt that is no longer valid is ignored. SQS documents that an old receipt
  "might" still delete: only the state database's claims make a stale delete harmless.
  **counts** is one GetQueueAttributes (``ApproximateNumberOf*``: SQS's counts lag by up to
  a minute).
- **send_many** is SendMessageBatch, 10 messages and at most 256 KiB a call; entries SQS
  failed on its side are sent again, up to 5 times. A body over 256 KiB (262,144 bytes of
  UTF-8; SQS's long-standing limit, which upstream Cirrus plans for) is refused with
  :class:`~cirrus.errors.InvalidInput` before anything is sent: send such payloads by
  reference (``{"url": ...}``). ``delay_seconds`` is rounded up to whole seconds (at most
  900).
- **keys**: a FIFO queue (name ending ``.fifo``) gets each key, hashed, as
  ``MessageDeduplicationId`` (and as ``MessageGroupId``, so messages do not wait on each
  other); SQS drops a repeat within its 5-minute window, not the 14 days of
  :data:`~cirrus.queue.DEDUPLICATION_SECONDS`. A standard queue has no deduplication:
  a repeated key is sent again, and the duplicate is absorbed by the state database's
  claim (a payload already PROCESSING or finished is not run again).
- **take** cannot be atomic: it sends the message, then receives until its own comes
  back, holding other receivers' messages meanwhile and making them visible again at once
  when it has its own. Each such message's receive count goes up by one, which brings it
  closer to the dead-letter queue, and a take behind a backlog costs a receive per 10
  messages ahead. On an idle queue a take is 2 requests.
- **receivers** / **release**: SQS has no owners; a dead receiver's messages come back
  when their visibility timeout ends. ``receivers()`` is empty and ``release()`` 0.
- **Dead letters** are SQS's own: the queue's RedrivePolicy (``maxReceiveCount`` and
  ``deadLetterTargetArn``) moves a message received that many times to the dead-letter
  queue, and :attr:`SQSQueue.max_receives` reads it. ``dead_letters()`` peeks that queue
  (a receive with a 30-second visibility, then visible again; SQS counts the peek as a
  receive, so a repeated peek reads each count one higher). ``dead_letter(messages,
  reason)`` sends each one to the dead-letter queue with the reason and its receive count
  as message attributes (``cirrus.reason``, ``cirrus.receive_count``,
  ``cirrus.first_received_at``) and deletes the original. ``redrive()`` receives from the
  dead-letter queue, sends each body back to the queue and deletes it from the dead
  letters (a crash in between leaves a duplicate, absorbed by the claim). SQS does not
  record the last receive time: ``last_received_at`` is None.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
import uuid
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from cirrus.errors import ConfigError, InvalidInput, StateError
from cirrus.queue._sqs_client import (
    QueueMissing,
    SQSClient,
    SQSOps,
    error_code,
    sqs_errors,
)
from cirrus.queue.base import (
    DeadLetter,
    Message,
    WorkQueue,
    url_options,
)
from cirrus.queue.sqs_setup import (
    DLQ_RETENTION_SECONDS,
    dead_letter_queue_name,
    ensure_queue,
)

__all__ = [
    "DLQ_RETENTION_SECONDS",
    "MAX_BODY_BYTES",
    "QueueMissing",
    "SQSOps",
    "SQSQueue",
    "dead_letter_queue_name",
    "ensure_queue",
]

MAX_BODY_BYTES = 262_144
"""The largest message body sent (256 KiB of UTF-8), and the most one SendMessageBatch
carries."""

_BATCH = 10  # SQS's limit for every *Batch call and for ReceiveMessage
_MAX_VISIBILITY = 43_200  # 12 hours
_MAX_DELAY = 900  # 15 minutes
_MAX_WAIT = 20  # long polling
_RETRIES = 5  # for batch entries SQS failed on its side
_PEEK_SECONDS = 30  # dead letters peeked are hidden this long if the peeker dies
_TAKE_SECONDS = 20.0  # how long take() looks for its own message
_REASON = "cirrus.reason"
_COUNT = "cirrus.receive_count"
_FIRST = "cirrus.first_received_at"
_REASON_CHARS = 4096  # a reason is cut to this many characters
_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}|[A-Za-z0-9_-]{1,75}\.fifo")
_SYSTEM_ATTRIBUTES = ["ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"]
_REFUSED_TEXT = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""A character SQS refuses in a message body."""


def _client() -> Any:
    """An SQS client configured by boto3 alone (endpoint, region, credentials)."""
    try:
        import boto3
    except ImportError as exc:
        raise ConfigError(
            "the SQS work queue needs boto3: pip install boto3 (cirrus's aws extra)"
        ) from exc
    with sqs_errors("(none yet)", "connect"):
        return boto3.session.Session().client("sqs")


def _seconds(value: float, maximum: int, what: str) -> int:
    """``value`` as the whole seconds SQS takes, rounded up (SQS never hides for less)."""
    seconds = max(0, math.ceil(value))
    if seconds > maximum:
        raise ConfigError(f"{what} {value:g}s is more than SQS allows ({maximum}s)")
    return seconds


@dataclass(frozen=True)
class _Redrive:
    """The queue's RedrivePolicy, as read once."""

    max_receives: int | None
    dlq_url: str | None
    dlq_name: str | None


class SQSQueue(WorkQueue):
    """A work queue on an SQS queue (standard or FIFO).

    See the module docstring for how each method maps onto SQS.

    Args:
        queue: the queue name, or its full URL.
        wait_seconds: long polling for ``receive`` (0-20 s; 0: short polling).
        max_body_bytes: the largest body ``send_many`` accepts (256 KiB; raise it only for a
            queue whose MaximumMessageSize is larger).
        client: a boto3 SQS client to use (default: a new one from boto3's configuration).

    Attributes:
        ops: requests sent so far (:class:`SQSOps`), for benchmarks and cost estimates.

    Raises:
        ConfigError: boto3 is missing, or the name or an option is not valid.
    """

    def __init__(
        self,
        queue: str,
        *,
        wait_seconds: int = 0,
        max_body_bytes: int = MAX_BODY_BYTES,
        client: Any = None,
    ) -> None:
        url = queue if queue.startswith(("https://", "http://")) else None
        name = queue.rstrip("/").rpartition("/")[2] if url else queue
        if not _NAME.fullmatch(name):
            raise ConfigError(
                f"SQS queue name {name!r} is not valid: use 1-80 letters, digits, '-' or '_' "
                "(a FIFO queue's name ends with .fifo)"
            )
        if not 0 <= wait_seconds <= _MAX_WAIT:
            raise ConfigError(f"wait_seconds {wait_seconds} is not from 0 to {_MAX_WAIT}")
        self.name = name
        self.fifo = name.endswith(".fifo")
        self.wait_seconds = wait_seconds
        self.max_body_bytes = max_body_bytes
        self.ops = SQSOps()
        self._sqs = SQSClient(client if client is not None else _client(), self.ops)
        self._url = url
        self._redrive: _Redrive | None = None

    @classmethod
    def from_url(cls, url: str) -> SQSQueue:
        """Open ``sqs://<queue name or URL>[?wait_seconds=N]``."""
        location = url.partition("://")[2].strip()
        queue, options = url_options(location, url, ("wait_seconds", "max_receives"))
        if "max_receives" in options:
            raise ConfigError(
                f"work queue {url!r}: an SQS queue's receive limit is its RedrivePolicy "
                "(maxReceiveCount), not an option of the URL: set it on the queue, e.g. "
                "cirrus.queue.sqs.ensure_queue(name, max_receives=N)"
            )
        if not queue.strip("/"):
            raise ConfigError(f"work queue {url!r} names no queue: use sqs://<queue name or URL>")
        wait = options.get("wait_seconds")
        return cls(queue, wait_seconds=0 if wait is None else wait)

    def __repr__(self) -> str:
        return f"SQSQueue({self.name!r})"

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The queue URL (looked up once by name)."""
        if self._url is None:
            self._url = str(
                self._sqs.call("GetQueueUrl", self.name, QueueName=self.name)["QueueUrl"]
            )
        return self._url

    def _redrive_policy(self) -> _Redrive:
        if self._redrive is None:
            attributes = self._sqs.call(
                "GetQueueAttributes", self.name, QueueUrl=self.url, AttributeNames=["RedrivePolicy"]
            ).get("Attributes", {})
            policy = json.loads(attributes.get("RedrivePolicy") or "{}")
            if not policy.get("deadLetterTargetArn"):
                self._redrive = _Redrive(None, None, None)
            else:
                arn = str(policy["deadLetterTargetArn"])
                account, name = arn.split(":")[4], arn.split(":")[5]
                dlq = self._sqs.call(
                    "GetQueueUrl", name, QueueName=name, QueueOwnerAWSAccountId=account
                )["QueueUrl"]
                self._redrive = _Redrive(int(policy["maxReceiveCount"]), str(dlq), name)
        return self._redrive

    def _dead_letter_queue(self) -> tuple[str, str]:
        """``(url, name)`` of the dead-letter queue.

        Raises:
            ConfigError: the queue has no RedrivePolicy.
        """
        redrive = self._redrive_policy()
        if redrive.dlq_url is None or redrive.dlq_name is None:
            raise ConfigError(
                f"SQS queue {self.name!r} has no dead-letter queue (no RedrivePolicy): create "
                "it with cirrus.queue.sqs.ensure_queue(), or set a RedrivePolicy on it"
            )
        return redrive.dlq_url, redrive.dlq_name

    @property
    def max_receives(self) -> int | None:
        """The RedrivePolicy's ``maxReceiveCount`` (None: the queue has none)."""
        return self._redrive_policy().max_receives

    def _entry(self, index: int, body: str, key: str | None = None) -> dict[str, Any]:
        entry: dict[str, Any] = {"Id": str(index), "MessageBody": body}
        if self.fifo:
            token = _token(key) if key is not None else uuid.uuid4().hex
            entry["MessageDeduplicationId"] = token
            entry["MessageGroupId"] = token
        return entry

    def _send_batches(self, url: str, queue: str, entries: list[dict[str, Any]]) -> None:
        """SendMessageBatch in groups of 10 and ``max_body_bytes``; retries SQS's failures."""
        for group in _groups(entries, self.max_body_bytes):
            self._batch("SendMessageBatch", url, queue, group, stale_ok=False)

    def _batch(
        self,
        operation: str,
        url: str,
        queue: str,
        entries: list[dict[str, Any]],
        *,
        stale_ok: bool,
    ) -> None:
        """One batch call; entries SQS failed on its side are tried again.

        With ``stale_ok``, entries whose receipt is no longer valid are left alone; other
        failures raise.
        """
        pending = entries
        for attempt in range(_RETRIES + 1):
            response = self._sqs.call(operation, queue, QueueUrl=url, Entries=pending)
            failed = response.get("Failed", [])
            if not failed:
                return
            by_id = {entry["Id"]: entry for entry in pending}
            retry = []
            for failure in failed:
                code = error_code(failure)
                if stale_ok and _stale(code, failure.get("Message", "")):
                    continue
                if failure.get("SenderFault") or attempt == _RETRIES:
                    raise StateError(
                        f"{operation} on SQS queue {queue!r} failed for {failure.get('Id')}: "
                        f"{code}: {failure.get('Message', '')}"
                        + ("" if failure.get("SenderFault") else f" (tried {_RETRIES + 1} times)")
                    )
                retry.append(by_id[failure["Id"]])
            if not retry:
                return
            pending = retry
            time.sleep(min(0.05 * 2**attempt, 1.0))

    def _receive_from(
        self, url: str, queue: str, count: int, visibility: int, *, wait: int, attributes: bool
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {
            "QueueUrl": url,
            "MaxNumberOfMessages": count,
            "VisibilityTimeout": visibility,
            "WaitTimeSeconds": wait,
            "MessageSystemAttributeNames": _SYSTEM_ATTRIBUTES,
        }
        if attributes:
            params["MessageAttributeNames"] = ["cirrus.*"]
        return list(self._sqs.call("ReceiveMessage", queue, **params).get("Messages", []))

    # -- the interface ---------------------------------------------------------------------

    def send_many(
        self,
        bodies: Sequence[str],
        *,
        delay_seconds: float = 0,
        keys: Sequence[str] | None = None,
    ) -> None:
        if keys is not None and len(keys) != len(bodies):
            raise ValueError(f"{len(keys)} keys for {len(bodies)} bodies: give one key a body")
        if not bodies:
            return
        delay = _seconds(delay_seconds, _MAX_DELAY, "delay_seconds")
        if delay and self.fifo:
            raise ConfigError(
                f"SQS FIFO queue {self.name!r} takes no delay per message: send without "
                "delay_seconds, or use a standard queue"
            )
        self._check_sizes(bodies)
        entries = [
            self._entry(i, body, None if keys is None else keys[i]) for i, body in enumerate(bodies)
        ]
        if delay:
            for entry in entries:
                entry["DelaySeconds"] = delay
        self._send_batches(self.url, self.name, entries)

    def _check_sizes(self, bodies: Sequence[str]) -> None:
        """Refuse, before sending any, a body SQS would refuse for its size or text."""
        for index, body in enumerate(bodies):
            try:
                size = len(body.encode("utf-8"))
            except UnicodeEncodeError as exc:
                raise InvalidInput(
                    f"message {index} for SQS queue {self.name!r} is not valid Unicode text "
                    f"({exc.reason} at character {exc.start}): send JSON made by json.dumps"
                ) from exc
            refused = _REFUSED_TEXT.search(body)
            if refused is not None:
                raise InvalidInput(
                    f"message {index} for SQS queue {self.name!r} holds character "
                    f"{refused.group()!r} at {refused.start()}, which SQS refuses: send JSON "
                    "made by json.dumps (it escapes control characters)"
                )
            if size > self.max_body_bytes:
                raise InvalidInput(
                    f"message {index} for SQS queue {self.name!r} is {size:,} bytes: an SQS "
                    f"message body takes at most {self.max_body_bytes:,} bytes "
                    f"({self.max_body_bytes // 1024} KiB); send the payload by reference "
                    '({"url": ...}) instead'
                )

    def receive(
        self, max_messages: int, *, visibility_seconds: float, owner: str = ""
    ) -> list[Message]:
        visibility = _seconds(visibility_seconds, _MAX_VISIBILITY, "visibility_seconds")
        received: list[Message] = []
        while len(received) < max_messages:
            count = min(_BATCH, max_messages - len(received))
            raw = self._receive_from(
                self.url, self.name, count, visibility, wait=self.wait_seconds, attributes=False
            )
            received.extend(_message(item) for item in raw)
            if len(raw) < count:
                break
        return received

    def take(self, body: str, *, visibility_seconds: float, owner: str = "") -> Message:
        self._check_sizes([body])
        visibility = _seconds(visibility_seconds, _MAX_VISIBILITY, "visibility_seconds")
        entry = self._entry(0, body)
        entry.pop("Id")
        message_id = str(
            self._sqs.call("SendMessage", self.name, QueueUrl=self.url, **entry)["MessageId"]
        )
        others: list[Message] = []
        deadline = time.monotonic() + _TAKE_SECONDS
        wait = 0
        try:
            while True:
                raw = self._receive_from(
                    self.url, self.name, _BATCH, visibility, wait=wait, attributes=False
                )
                for item in raw:
                    message = _message(item)
                    if message.id == message_id:
                        return message
                    others.append(message)
                if time.monotonic() > deadline:
                    raise StateError(
                        f"sent message {message_id} to SQS queue {self.name!r} but did not "
                        f"receive it back within {_TAKE_SECONDS:g}s (another receiver has it, "
                        "or a backlog is ahead of it); it stays in the queue for a worker"
                    )
                # short polling asks a sample of SQS's servers: after an empty answer, ask
                # them all (long polling, one second)
                wait = 0 if raw else 1
        finally:
            self.hide(others, 0)  # others' messages: visible again at once

    def delete_many(self, messages: Sequence[Message]) -> None:
        entries = [{"Id": str(i), "ReceiptHandle": m.receipt} for i, m in enumerate(messages)]
        for group in _chunks(entries, _BATCH):
            self._batch("DeleteMessageBatch", self.url, self.name, group, stale_ok=True)

    def hide(self, messages: Sequence[Message], seconds: float) -> None:
        visibility = _seconds(seconds, _MAX_VISIBILITY, "hide seconds")
        entries = [
            {"Id": str(i), "ReceiptHandle": m.receipt, "VisibilityTimeout": visibility}
            for i, m in enumerate(messages)
        ]
        for group in _chunks(entries, _BATCH):
            self._batch("ChangeMessageVisibilityBatch", self.url, self.name, group, stale_ok=True)

    def counts(self) -> tuple[int, int]:
        visible, hidden, delayed = self._counts(self.url, self.name)
        return visible, hidden + delayed

    def _counts(self, url: str, queue: str) -> tuple[int, int, int]:
        attributes = self._sqs.call(
            "GetQueueAttributes",
            queue,
            QueueUrl=url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        ).get("Attributes", {})
        return (
            int(attributes.get("ApproximateNumberOfMessages", 0)),
            int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
        )

    def receivers(self) -> set[str]:
        """Always empty: SQS messages have no owners (visibility timeouts free them)."""
        return set()

    def release(self, owner: str, *, running: Collection[str] | None = None) -> int:
        """Always 0: a dead receiver's messages come back when their visibility ends."""
        return 0

    # -- dead letters ----------------------------------------------------------------------

    def dead_letter(self, messages: Sequence[Message], reason: str) -> int:
        if not messages:
            return 0
        dlq_url, dlq_name = self._dead_letter_queue()
        text = reason[:_REASON_CHARS] or "-"  # SQS refuses an empty attribute value
        entries = []
        for index, message in enumerate(messages):
            entry = self._entry(index, message.body)  # a FIFO queue's DLQ is FIFO too
            entry["MessageAttributes"] = {
                _REASON: {"DataType": "String", "StringValue": text},
                _COUNT: {"DataType": "Number", "StringValue": str(message.receive_count)},
                _FIRST: {"DataType": "Number", "StringValue": repr(message.first_received_at)},
            }
            entries.append(entry)
        self._send_batches(dlq_url, dlq_name, entries)
        self.delete_many(messages)
        return len(messages)

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        if limit <= 0 or self._redrive_policy().dlq_url is None:
            return []
        with _Peek(self, *self._dead_letter_queue()) as peek:
            return [_dead_letter(item) for item in peek.messages(limit)]

    def dead_letter_count(self) -> int:
        if self._redrive_policy().dlq_url is None:
            return 0
        return sum(self._counts(*self._dead_letter_queue()))

    def redrive(self, ids: Collection[str] | None = None) -> int:
        if self._redrive_policy().dlq_url is None:
            return 0
        wanted = None if ids is None else set(ids)
        moved = 0
        with _Peek(self, *self._dead_letter_queue()) as peek:
            chosen: list[dict[str, Any]] = []
            for item in peek.messages():
                if wanted is None or item["MessageId"] in wanted:
                    chosen.append(item)
                found_all = wanted is not None and moved + len(chosen) == len(wanted)
                if len(chosen) == _BATCH or (chosen and found_all):
                    moved += self._move_back(chosen, peek)
                    chosen = []
                if found_all:
                    break
            if chosen:
                moved += self._move_back(chosen, peek)
        return moved

    def _move_back(self, items: list[dict[str, Any]], peek: _Peek) -> int:
        """Send peeked dead letters back to the queue, then delete them from the DLQ."""
        entries = [self._entry(n, item["Body"]) for n, item in enumerate(items)]
        self._send_batches(self.url, self.name, entries)
        peek.delete(items)
        return len(items)

    def close(self) -> None:
        """Nothing to release: boto3 clients need no closing."""


class _Peek:
    """Receives the messages of a dead-letter queue to look at them; on exit, those not
    deleted meanwhile are made visible again.

    Each receive hides them for 30 seconds, so a peeker that dies returns them soon.
    """

    def __init__(self, queue: SQSQueue, url: str, name: str) -> None:
        self.queue = queue
        self.url = url
        self.name = name
        self._held: dict[str, str] = {}  # message id -> receipt

    def __enter__(self) -> _Peek:
        return self

    def __exit__(self, *exc_info: object) -> None:
        entries = [
            {"Id": str(n), "ReceiptHandle": receipt, "VisibilityTimeout": 0}
            for n, receipt in enumerate(self._held.values())
        ]
        self._held.clear()
        for group in _chunks(entries, _BATCH):
            self.queue._batch(
                "ChangeMessageVisibilityBatch", self.url, self.name, group, stale_ok=True
            )

    def messages(self, limit: int = 10**9) -> Iterator[dict[str, Any]]:
        """Up to ``limit`` messages, received 10 at a time until the queue has no more."""
        expected, _, _ = self.queue._counts(self.url, self.name)
        seen = empties = 0
        while seen < limit:
            # a short poll that comes back empty while the count says more are there asked
            # only some of SQS's servers: ask them all (long polling), twice more at most
            raw = self.queue._receive_from(
                self.url,
                self.name,
                min(_BATCH, limit - seen),
                _PEEK_SECONDS,
                wait=1 if empties else 0,
                attributes=True,
            )
            if not raw:
                empties += 1
                if seen >= expected or empties > 2:
                    return
                continue
            empties = 0
            for item in raw:
                seen += 1
                self._held[item["MessageId"]] = item["ReceiptHandle"]
                yield item

    def delete(self, items: list[dict[str, Any]]) -> None:
        """Delete peeked messages from the dead-letter queue."""
        entries = [
            {"Id": str(n), "ReceiptHandle": item["ReceiptHandle"]} for n, item in enumerate(items)
        ]
        for group in _chunks(entries, _BATCH):
            self.queue._batch("DeleteMessageBatch", self.url, self.name, group, stale_ok=True)
        for item in items:
            self._held.pop(item["MessageId"], None)


def _message(item: dict[str, Any]) -> Message:
    attributes = item.get("Attributes", {})
    first = attributes.get("ApproximateFirstReceiveTimestamp")
    return Message(
        str(item["MessageId"]),
        str(item["Body"]),
        str(item["ReceiptHandle"]),
        int(attributes.get("ApproximateReceiveCount", 1)),
        int(first) / 1000 if first else time.time(),
    )


def _dead_letter(item: dict[str, Any]) -> DeadLetter:
    """A dead letter from a peeked message (its receive count less the peek itself)."""
    attributes = item.get("Attributes", {})
    mine = item.get("MessageAttributes", {})
    reason = mine.get(_REASON, {}).get("StringValue")
    if _COUNT in mine:  # moved by dead_letter(): the attributes tell
        count = int(mine[_COUNT]["StringValue"])
        first = float(mine.get(_FIRST, {}).get("StringValue", 0.0))
    else:  # moved by SQS's redrive: the message's own counts, less this peek
        count = max(0, int(attributes.get("ApproximateReceiveCount", 1)) - 1)
        first = int(attributes.get("ApproximateFirstReceiveTimestamp", 0)) / 1000
    return DeadLetter(str(item["MessageId"]), str(item["Body"]), count, first, None, reason)


def _stale(code: str, message: str) -> bool:
    """Whether a batch entry failed because its receipt is no longer valid (the message was
    deleted, or received again by someone else, since)."""
    if code.endswith(("ReceiptHandleIsInvalid", "MessageNotInflight")):
        return True
    # "Value ... for parameter ReceiptHandle is invalid. Reason: Message does not exist or
    # is not available for visibility timeout change."
    return code == "InvalidParameterValue" and "receipthandle" in message.lower()


def _token(key: str) -> str:
    """A deduplication or group id for ``key`` (SQS takes at most 128 characters)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _chunks(entries: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(entries), size):
        yield entries[start : start + size]


def _groups(entries: list[dict[str, Any]], max_bytes: int) -> Iterator[list[dict[str, Any]]]:
    """Entries in groups of at most 10 and ``max_bytes`` of bodies (one SendMessageBatch)."""
    group: list[dict[str, Any]] = []
    size = 0
    for entry in entries:
        body = len(entry["MessageBody"].encode("utf-8")) + _attributes_size(entry)
        if group and (len(group) == _BATCH or size + body > max_bytes):
            yield _renumbered(group)
            group, size = [], 0
        group.append(entry)
        size += body
    if group:
        yield _renumbered(group)


def _renumbered(group: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**entry, "Id": str(n)} for n, entry in enumerate(group)]


def _attributes_size(entry: dict[str, Any]) -> int:
    """What message attributes add to a message's size (name, type and value)."""
    return sum(
        len(name) + len(value["DataType"]) + len(value["StringValue"].encode("utf-8"))
        for name, value in entry.get("MessageAttributes", {}).items()
    )
