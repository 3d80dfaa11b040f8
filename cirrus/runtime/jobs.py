"""What a worker carries through a batch: one job per payload, and what the batch decided.

A :class:`Batch` gathers the state changes, events, stored objects, announcements and next
links that update-state writes out together; the results it reports stay with it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cirrus.errors import PayloadError
from cirrus.storage.paths import check_key

if TYPE_CHECKING:
    from cirrus.payload import Payload
    from cirrus.queue import Message
    from cirrus.runtime.executor import ExecutionOutcome
    from cirrus.runtime.outcomes import PayloadResult
    from cirrus.runtime.publish import Published
    from cirrus.state import FinishUpdate, NewEvent, StateRecord

__all__ = ["S3_MAX_KEY_BYTES", "Batch", "Job", "check_key_room", "execution_key", "execution_name"]


def execution_name(payload_id: str, number: int) -> str:
    """The name of a payload's ``number``-th execution: the same inputs give the same name."""
    digest = hashlib.sha256(payload_id.encode()).hexdigest()[:24]
    return f"{digest}-{number:04d}"


def execution_key(payload_id: str, execution: str, name: str) -> str:
    """Key of an execution's file under the payload root (checked: ids cannot climb out)."""
    return check_key(f"executions/{payload_id}/{execution}/{name}")


S3_MAX_KEY_BYTES = 1024
"""The longest key S3 stores."""
# what follows the payload id in the longest key: "/<24 hex>-0001/history.json"
_EXECUTION_FILE_BYTES = len("/" + "0" * 24 + "-0001/history.json")


def check_key_room(payload_root: str, payload_id: str) -> None:
    """Refuse a payload whose execution files would have keys too long for an S3 root.

    Raises:
        PayloadError: the keys would be longer than S3's 1,024 bytes.
    """
    if not payload_root.startswith("s3://"):
        return  # files, SQLite and memory take any length the id checks allowed
    prefix = payload_root[len("s3://") :].partition("/")[2].strip("/")
    key = f"{prefix}/executions/{payload_id}" if prefix else f"executions/{payload_id}"
    length = len(key.encode("utf-8")) + _EXECUTION_FILE_BYTES
    if length > S3_MAX_KEY_BYTES:
        raise PayloadError(
            "$.features",
            f"give keys of {length:,} bytes under {payload_root} (the payload id holds every "
            f"item id), more than the {S3_MAX_KEY_BYTES:,} S3 stores",
            "split the payload into payloads of fewer items",
        )


@dataclass
class Job:
    """One payload of a batch, from its message to its execution's outcome."""

    message: Message | None
    """The queue message that brought the payload (None for an update-state event)."""
    payload: Payload
    payload_id: str
    record: StateRecord | None = None
    resumed: bool = False
    """The claim took over from a worker that died: its last execution may have finished."""
    started_with_claim: bool = False
    """The claim also started the execution (a new payload whose input was stored first)."""
    execution: str = ""
    input_url: str = ""
    input: dict[str, Any] = field(default_factory=dict)
    """The execution's input: the payload with its id (set when the execution starts)."""
    input_text: str = ""
    """``input`` as stored, in JSON."""
    outcome: ExecutionOutcome | None = None
    aborted_elsewhere: bool = False
    """Someone else (``cirrus abort``) ended the payload ABORTED while it ran: its end is
    already written, and only the message is left to delete."""
    snapshot: dict[str, Any] | None = None
    """The engine's snapshot of the execution this job resumes (it waited for a task token
    when its worker died); None for a new execution."""

    @property
    def delivery(self) -> Message:
        """The message that brought the payload (jobs read from a queue always have one)."""
        assert self.message is not None, "a job read from a queue has its message"
        return self.message


@dataclass
class Batch:
    """What a batch decided and has yet to write out, and the results it reported.

    Args:
        report: called with every result once it is written out (counts, progress).
    """

    report: Callable[[PayloadResult], None] = lambda result: None
    started: list[NewEvent] = field(default_factory=list)
    """Claims and starts, logged as soon as the executions start."""
    events: list[NewEvent] = field(default_factory=list)
    """Everything else, logged with the commit that deletes the messages concerned (so that a
    message delivered again after a crash does not log its skip twice)."""
    finishes: list[FinishUpdate] = field(default_factory=list)
    done: list[Message] = field(default_factory=list)
    """Messages to delete once everything else is written."""
    chained: list[str] = field(default_factory=list)
    chain_keys: list[str] = field(default_factory=list)
    writes: list[tuple[str, bytes]] = field(default_factory=list)
    announcements: list[Published] = field(default_factory=list)
    results: list[PayloadResult] = field(default_factory=list)
    unreported: list[PayloadResult] = field(default_factory=list)
    """Results decided but not written out yet."""

    def add_result(self, result: PayloadResult) -> None:
        """Keep one payload's result; it is reported once the batch's decisions are written."""
        self.results.append(result)
        self.unreported.append(result)

    def fail_announced(self, error: str) -> None:
        """End FAILED, with ``error``, the payloads whose items could not be announced.

        Their next links are not sent; their outputs stay stored (a rerun makes new ones).
        """
        from cirrus.engine import ExecutionStatus
        from cirrus.runtime.outcomes import ending
        from cirrus.state import FinishUpdate, NewEvent

        failed = ending(ExecutionStatus.FAILED, "PublishLogError")
        ids = {published.payload_id for published in self.announcements}
        prefixes = tuple(f"{p.payload_id}/{p.execution}/" for p in self.announcements)
        self.finishes[:] = [
            FinishUpdate(f.payload_id, failed.state, owner=f.owner, error=error)
            if f.payload_id in ids
            else f
            for f in self.finishes
        ]
        self.events[:] = [
            NewEvent(e.payload_id, failed.event, e.execution, error, e.input_url, time=e.time)
            if e.payload_id in ids and e.output_url is not None
            else e
            for e in self.events
        ]
        links = [
            (body, key)
            for body, key in zip(self.chained, self.chain_keys, strict=True)
            if not key.startswith(prefixes)
        ]
        self.chained[:] = [body for body, _ in links]
        self.chain_keys[:] = [key for _, key in links]
        for result in self.unreported:
            if result.payload_id in ids:
                result.outcome, result.error, result.output = failed.outcome, error, None
        self.announcements.clear()

    def drop_lost(self, lost: set[str]) -> None:
        """Leave out the ends of payloads whose claim was lost (aborted, taken over).

        Whoever took the payload wrote its end: this batch announces none of its items,
        sends none of its next links, records no end for it and reports it ABORTED. What
        its execution stored (output, log, history) stays stored.
        """
        from cirrus.runtime.outcomes import END_EVENTS, END_OUTCOMES, Outcome

        ended = {f.payload_id for f in self.finishes if f.payload_id in lost}
        self.finishes[:] = [f for f in self.finishes if f.payload_id not in lost]
        self.events[:] = [
            e for e in self.events if e.payload_id not in lost or e.event_type not in END_EVENTS
        ]
        self.announcements[:] = [a for a in self.announcements if a.payload_id not in lost]
        # a key is "<payload id>/<execution>/<n>", and payload ids hold "/" themselves: the
        # id is what is left of the last two parts ("a" must not take "a/b"'s links)
        links = [
            (body, key)
            for body, key in zip(self.chained, self.chain_keys, strict=True)
            if key.rsplit("/", 2)[0] not in lost
        ]
        self.chained[:] = [body for body, _ in links]
        self.chain_keys[:] = [key for _, key in links]
        # the result of the execution that ended each one (a skipped duplicate keeps its own)
        for result in reversed(self.unreported):
            if result.payload_id in ended and result.outcome in END_OUTCOMES:
                ended.discard(result.payload_id)
                result.outcome, result.error, result.output = Outcome.ABORTED, "Aborted", None

    def committed(self) -> None:
        """Report what was written out, and forget it (the results stay, for the caller)."""
        unreported, self.unreported = self.unreported, []
        for result in unreported:
            self.report(result)
        for pending in (
            self.started,
            self.events,
            self.finishes,
            self.done,
            self.chained,
            self.chain_keys,
            self.writes,
            self.announcements,
        ):
            pending.clear()
