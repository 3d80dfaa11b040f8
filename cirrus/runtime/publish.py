"""Announcing published items and workflow events: NDJSON log, webhook and SNS topics.

Each output item becomes one announcement carrying the attributes subscribers filter on,
in SNS's form (:func:`~cirrus.runtime.announcements.sns_attributes`): a line in the NDJSON
log, a POST to the webhook, and a message on the publish topic. A log line and a webhook POST
name the item by its own id and collection, with the workflow and execution that published
it (never the payload id, which holds every item id of the payload: repeated on each line,
it made the log grow with the square of the items). Every workflow event the runtime records
becomes a message on the workflow-event topic. Build the announcer from the settings, and
hand the runtime steps the state database it watches::

    announcer = Announcer.from_settings(settings, dead_letters=payload_store)
    db = announcer.watch(db)   # events reach the topic once the database has them

Announcements are **at least once**: items are announced before the payload's end is
recorded, so a worker that dies in between announces them again when the payload is
resumed (a subscriber may see an item twice). A channel that fails never
costs a payload its state: a failing webhook is logged; messages an SNS topic still
refuses after retries are logged and kept under ``<payload root>/tmp/unannounced/``, one
object per PublishBatch request, each a valid request to send again
(``aws sns publish-batch --cli-input-json file://<object>``). Workflow events are sent
after the state database accepted them; that database's event log is their record.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple

from cirrus.errors import CirrusError, StorageError
from cirrus.runtime.announcements import item_attributes, sns_attributes
from cirrus.runtime.sns import (
    MAX_ENTRIES,
    Refused,
    SNSMessage,
    SNSTopic,
    event_message,
    item_message,
)

if TYPE_CHECKING:
    from cirrus.runtime.settings import RuntimeSettings
    from cirrus.state import NewEvent, StateDB
    from cirrus.storage import ObjectStore

__all__ = [
    "UNANNOUNCED_PREFIX",
    "Announcer",
    "PublishLogError",
    "Published",
    "item_attributes",
]

logger = logging.getLogger(__name__)


class Published(NamedTuple):
    """The items one execution published, and where they came from."""

    payload_id: str
    """Not written in announcements (it holds every item id): it names what failed."""
    workflow: str
    execution: str
    """The execution's name (listed in its payload's state record)."""
    items: Sequence[dict[str, Any]]


UNANNOUNCED_PREFIX = "tmp/unannounced"
"""Where, under the payload root, messages a topic refused are kept."""


class Announcer:
    """Sends announcements for published items and workflow events.

    Args:
        log_path: NDJSON file to append items to; None or "" turns the log off.
        webhook: URL receiving each item announcement by POST; None turns it off.
        publish_topic: SNS topic receiving each item (ARN or ``sns://<name>``), or None.
        workflow_event_topic: SNS topic receiving each workflow event, or None.
        dead_letters: store keeping what a topic refused (under ``tmp/unannounced/``);
            None only logs it.
        base_workflow_arn: ``CIRRUS_BASE_WORKFLOW_ARN`` on AWS: events name their
            execution by ARN (its console URL, as upstream) instead of by name.

    Raises:
        ConfigError: a topic is not an SNS topic ARN or ``sns://`` URL.
    """

    def __init__(
        self,
        log_path: str | None,
        webhook: str | None = None,
        *,
        publish_topic: str | None = None,
        workflow_event_topic: str | None = None,
        dead_letters: ObjectStore | None = None,
        base_workflow_arn: str = "",
    ) -> None:
        self.log_path = Path(log_path) if log_path else None
        self.webhook = webhook
        self.publish_topic = _topic(publish_topic, "publish_topic (CIRRUS_PUBLISH_TOPIC_ARN)")
        self.workflow_event_topic = _topic(
            workflow_event_topic, "workflow_event_topic (CIRRUS_WORKFLOW_EVENT_TOPIC_ARN)"
        )
        self.dead_letters = dead_letters
        self.base_workflow_arn = base_workflow_arn
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls,
        settings: RuntimeSettings,
        dead_letters: ObjectStore | None = None,
        base_workflow_arn: str = "",
    ) -> Announcer:
        """The announcer the settings describe (log, webhook, topics).

        Args:
            settings: the runtime settings.
            dead_letters: the payload store, where refused messages are kept.
            base_workflow_arn: the deployment's ``CIRRUS_BASE_WORKFLOW_ARN`` on AWS.
        """
        return cls(
            settings.publish_log,
            settings.publish_webhook,
            publish_topic=settings.publish_topic,
            workflow_event_topic=settings.workflow_event_topic,
            dead_letters=dead_letters,
            base_workflow_arn=base_workflow_arn,
        )

    def watch(self, db: StateDB) -> StateDB:
        """``db``, announcing every event recorded through it (``db`` itself without a topic).

        Give the result to every runtime step that records events, so none is missed.
        """
        if self.workflow_event_topic is None:
            return db
        from cirrus.runtime.events import AnnouncingStateDB

        return AnnouncingStateDB(db, self.announce_events)

    # -- items -----------------------------------------------------------------------------

    def announce_many(self, batch: Sequence[Published]) -> None:
        """Announce the items of several executions with one append to the log.

        A failing webhook or topic is logged, never raised.
        """
        if self.log_path is not None or self.webhook:  # built only for those who read them
            lines: list[bytes] = []
            posts: list[dict[str, Any]] = []  # sent once the log holds them
            for published in batch:
                for item in published.items:
                    # encoded one by one: without a webhook, the messages of a payload of
                    # many items are never all held at once
                    message = {
                        "id": item.get("id"),
                        "collection": item.get("collection"),
                        "workflow": published.workflow,
                        "execution": published.execution,
                        "attributes": sns_attributes(item),
                        "item": item,
                    }
                    if self.log_path is not None:
                        lines.append(json.dumps(message, separators=(",", ":")).encode())
                    if self.webhook:
                        posts.append(message)
            if lines:
                self._append(lines)
            for message in posts:
                self._post(message)
        if self.publish_topic is not None:
            items = [item for published in batch for item in published.items]
            if items:
                self._publish(self.publish_topic, [item_message(item) for item in items])

    def _append(self, lines: list[bytes]) -> None:
        """Append the lines (JSON, without their newline), all or none of them.

        Raises:
            PublishLogError: the log cannot be written (disk full, no permission); what
                was written of this append is taken back.
        """
        assert self.log_path is not None
        text = b"\n".join(lines) + b"\n"
        lines.clear()  # the text is all that is needed now
        try:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            # unbuffered: a failed write leaves nothing in a buffer to stand in the way of
            # taking back what got through
            with self._lock, self.log_path.open("a+b", buffering=0) as log:
                # other processes append too: hold the file lock so lines never interleave
                fcntl.flock(log, fcntl.LOCK_EX)
                try:
                    _append_whole(log, text)
                finally:
                    fcntl.flock(log, fcntl.LOCK_UN)
        except OSError as err:
            raise PublishLogError(
                f"cannot append to the publish log {self.log_path}: "
                f"{err.strerror or err}; free space (or point publish_log elsewhere) and "
                "rerun the payloads that failed"
            ) from err

    def _post(self, message: dict[str, Any]) -> None:
        import urllib.request  # only a webhook needs it: every worker process would pay

        assert self.webhook is not None
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's own setting
            self.webhook,
            data=json.dumps(message).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                response.read()
        except OSError as err:
            logger.warning(
                "webhook %s refused item %s: %s", self.webhook, message["item"].get("id"), err
            )

    # -- workflow events -------------------------------------------------------------------

    def announce_events(self, events: Sequence[NewEvent]) -> None:
        """Send recorded workflow events to the workflow-event topic (if one is set).

        A failing topic is logged, never raised.
        """
        if self.workflow_event_topic is None or not events:
            return
        base = self.base_workflow_arn
        messages = [event_message(event, base) for event in events]
        self._publish(self.workflow_event_topic, messages)

    # -- SNS -------------------------------------------------------------------------------

    def _publish(self, topic: SNSTopic, messages: list[SNSMessage]) -> None:
        try:
            refused = topic.publish(messages)
        except CirrusError as err:  # the topic's name could not be made an ARN, say
            refused = [Refused(message, str(err)) for message in messages]
        if refused:
            self._refused(topic, refused)

    def _refused(self, topic: SNSTopic, refused: list[Refused]) -> None:
        """Log what a topic refused, and keep it to be sent again."""
        kept = self._keep(topic, refused)
        subjects = ", ".join(miss.message.subject for miss in refused[:3])
        more = f" and {len(refused) - 3} more" if len(refused) > 3 else ""
        reasons = sorted({miss.reason for miss in refused})
        logger.error(
            "SNS topic %s refused %d message(s) (%s%s): %s; %s",
            topic.topic,
            len(refused),
            subjects,
            more,
            "; ".join(reasons),
            f"kept at {', '.join(kept)}" if kept else "not kept (no payload store given)",
        )

    def _keep(self, topic: SNSTopic, refused: list[Refused]) -> list[str]:
        """Store refused messages as PublishBatch requests; returns their URLs."""
        if self.dead_letters is None:
            return []
        writes = []
        for start in range(0, len(refused), MAX_ENTRIES):
            entries = [
                miss.message.entry(str(n))
                for n, miss in enumerate(refused[start : start + MAX_ENTRIES])
            ]
            request = {"TopicArn": topic.known_arn, "PublishBatchRequestEntries": entries}
            key = f"{UNANNOUNCED_PREFIX}/{uuid.uuid4().hex}.json"
            writes.append((key, json.dumps(request).encode()))
        try:
            self.dead_letters.put_many(writes, content_type="application/json")
        except CirrusError as err:
            logger.error("could not keep %d refused message(s): %s", len(refused), err)
            return []
        return [self.dead_letters.url_for(key) for key, _ in writes]


class PublishLogError(StorageError):
    """The publish log could not be written; the payloads concerned end FAILED."""


def _append_whole(log: BinaryIO, text: bytes) -> None:
    """Write ``text`` at the end of ``log`` (unbuffered) in full, or leave it as it was."""
    size = log.seek(0, os.SEEK_END)
    if size:
        # a line cut short by an earlier crash must not swallow the first new one
        log.seek(size - 1)
        if log.read(1) != b"\n":
            text = b"\n" + text
    view = memoryview(text)
    try:
        while view:
            written = log.write(view)
            view = view[written or 0 :]
    except OSError:
        log.truncate(size)
        raise


def _topic(value: str | None, setting: str) -> SNSTopic | None:
    if not value:
        return None
    return SNSTopic(value, setting=setting)
