"""Reading a batch's messages into jobs: one per payload that can run.

Every message passes the pipeline's one validator (:mod:`cirrus.runtime.admission`). A
message whose payload is unreadable or refused is rejected: kept under
``<payload root>/tmp/invalid/`` with the reason, and its message deleted. Whatever a message
holds, it costs only itself: any error reading it (a ``RecursionError``, a
``UnicodeEncodeError``, ...) rejects that message, never the batch. A payload referenced by
URL that cannot be read just now is tried again later, until the queue's receive limit. A
second message with the same payload id in one batch is dropped as a duplicate.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cirrus.errors import ConfigError, NotFound, PathEscapeError, StorageError
from cirrus.queue import DEFAULT_MAX_RECEIVES
from cirrus.runtime.admission import Admission, refusal_text
from cirrus.runtime.intake import keep_invalid
from cirrus.runtime.jobs import Batch, Job, check_key_room
from cirrus.runtime.limits import strict_json_loads
from cirrus.runtime.outcomes import Outcome, PayloadResult
from cirrus.state import EventType, NewEvent

if TYPE_CHECKING:
    from cirrus.queue import Message, WorkQueue
    from cirrus.state import StateDB

__all__ = ["Reader"]

logger = logging.getLogger(__name__)

RETRY_UNREADABLE_SECONDS = 30.0
"""How long a payload reference that could not be read stays hidden before the next try."""


class Reader:
    """Turns messages into jobs, rejecting what cannot run.

    Args:
        db: the state database (for the time of duplicate events).
        queue: the work queue (unreadable references are hidden there for a while).
        payload_root: where rejected input is kept.
        admission: what is accepted (default: the limits' defaults, any workflow).
    """

    def __init__(
        self,
        db: StateDB,
        queue: WorkQueue,
        payload_root: str,
        admission: Admission | None = None,
    ) -> None:
        self.db = db
        self.queue = queue
        self.payload_root = payload_root
        self.admission = admission or Admission()
        # the last delivery an unreadable reference gets before it is rejected
        self.max_attempts = queue.max_receives or DEFAULT_MAX_RECEIVES
        # a backend written before StateDB.check_payload_id keeps any id, as it did
        self._check_id = getattr(db, "check_payload_id", None) or _any_id

    def read(self, messages: Sequence[Message], batch: Batch) -> list[Job]:
        """The jobs of the payloads in ``messages``; the batch gathers what was turned away."""
        jobs: list[Job] = []
        seen: set[str] = set()
        for message in messages:
            try:
                payload = self.admission.admit_text(message.body, "message")
                payload_id = payload.id
                # refused alone here, or every claim of the batch would fail with it
                self._check_id(payload_id)
                check_key_room(self.payload_root, payload_id)
            except StorageError as err:
                permanent = isinstance(err, NotFound | PathEscapeError | ConfigError)
                if permanent or message.receive_count >= self.max_attempts:
                    self._reject(message, err, batch)
                else:
                    # a referenced payload could not be read just now: try it again later
                    logger.warning("cannot read a submitted payload yet: %s", err)
                    self.queue.hide([message], RETRY_UNREADABLE_SECONDS)
                continue
            except Exception as err:  # noqa: BLE001 - whatever a message holds costs only itself
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
        reason = refusal_text(error)
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


def _any_id(payload_id: str) -> None:
    """Keeps any payload id."""


def _lacks_process(body: str) -> bool:
    """Whether ``body`` is a JSON object without ``process`` (nor a ``url`` reference)."""
    try:
        data = strict_json_loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(data, dict) and "process" not in data and "url" not in data
