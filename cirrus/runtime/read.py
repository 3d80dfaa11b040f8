"""Reading a batch's messages into jobs: one per payload that can run.

A message whose payload is unreadable or invalid is rejected: kept under
``<payload root>/tmp/invalid/`` with the reason, and its message deleted. A payload
referenced by URL that cannot be read just now is tried again later, a few times. A second
message with the same payload id in one batch is dropped as a duplicate.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cirrus.errors import CirrusError, ConfigError, NotFound, PathEscapeError, StorageError
from cirrus.payload import Payload, parse_payload_id
from cirrus.runtime.intake import keep_invalid
from cirrus.runtime.jobs import Batch, Job, execution_key
from cirrus.runtime.outcomes import Outcome, PayloadResult
from cirrus.state import EventType, NewEvent
from cirrus.storage import load_payload

if TYPE_CHECKING:
    from cirrus.queue import Message, WorkQueue
    from cirrus.state import StateDB

__all__ = ["Reader"]

logger = logging.getLogger(__name__)

RETRY_UNREADABLE_SECONDS = 30.0
"""How long a payload reference that could not be read stays hidden before the next try."""
MAX_READ_ATTEMPTS = 5
"""Deliveries before an unreadable reference is rejected, like an SQS ``maxReceiveCount``."""


class Reader:
    """Turns messages into jobs, rejecting what cannot run.

    Args:
        db: the state database (for the time of duplicate events).
        queue: the work queue (unreadable references are hidden there for a while).
        payload_root: where rejected input is kept.
    """

    def __init__(self, db: StateDB, queue: WorkQueue, payload_root: str) -> None:
        self.db = db
        self.queue = queue
        self.payload_root = payload_root

    def read(self, messages: Sequence[Message], batch: Batch) -> list[Job]:
        """The jobs of the payloads in ``messages``; the batch gathers what was turned away."""
        jobs: list[Job] = []
        seen: set[str] = set()
        for message in messages:
            try:
                data = load_payload(json.loads(message.body))
                payload = Payload.from_dict(data, copy_data=False)
                payload_id = payload.id
                parse_payload_id(payload_id)  # an explicit id must have the id's shape
                # every file of the payload lives under this key: ids must not climb out
                execution_key(payload_id, "x", "input.json")
            except StorageError as err:
                permanent = isinstance(err, NotFound | PathEscapeError | ConfigError)
                if permanent or message.receive_count >= MAX_READ_ATTEMPTS:
                    self._reject(message, err, batch)
                else:
                    # a referenced payload could not be read just now: try it again later
                    logger.warning("cannot read a submitted payload yet: %s", err)
                    self.queue.hide([message], RETRY_UNREADABLE_SECONDS)
                continue
            except (CirrusError, ValueError) as err:
                self._reject(message, err, batch)
                continue
            if payload_id in seen:
                batch.events.append(
                    NewEvent(payload_id, EventType.DUPLICATE_ID_ENCOUNTERED, time=self.db.now())
                )
                batch.done.append(message)
                batch.add_result(PayloadResult(payload_id, Outcome.DUPLICATE))
                continue
            seen.add(payload_id)
            jobs.append(Job(message, payload, payload_id))
        return jobs

    def _reject(self, message: Message, error: Exception, batch: Batch) -> None:
        """Keep an unreadable or invalid payload under tmp/invalid/ with the reason.

        The workflow event log says so, as upstream's does: ``NOT_A_PROCESS_PAYLOAD`` for
        JSON that has no ``process``, ``RECORD_EXTRACT_FAILED`` for anything else (text
        that is not JSON, a reference that cannot be read, a payload that is not valid).
        Neither has a payload id.
        """
        reason = str(error)
        url = keep_invalid(self.payload_root, reason, message.body)
        logger.warning("invalid payload stored at %s: %s", url, reason)
        kind = (
            EventType.NOT_A_PROCESS_PAYLOAD
            if _lacks_process(message.body)
            else EventType.RECORD_EXTRACT_FAILED
        )
        batch.events.append(NewEvent("", kind, error=reason, input_url=url, time=self.db.now()))
        batch.done.append(message)
        batch.add_result(PayloadResult(None, Outcome.REJECTED, f"{reason} (kept at {url})"))


def _lacks_process(body: str) -> bool:
    """Whether ``body`` is a JSON object without ``process`` (nor a ``url`` reference)."""
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and "process" not in data and "url" not in data
