"""What happened to a payload: the :class:`Outcome` a worker reports, and the rules that
turn how an execution or a claim ended into the payload's state, event and outcome.

Outcomes are the lowercase words users see in ``cirrus process --wait`` summaries, progress
lines and :meth:`Pipeline.drain <cirrus.runtime.Pipeline.drain>` counts::

    >>> counts = pipeline.drain()
    >>> counts[Outcome.SUCCEEDED] == counts["succeeded"]
    True
    >>> timed_out = ending(ExecutionStatus.TIMED_OUT)
    >>> timed_out.state, timed_out.event, timed_out.outcome
    (<State.FAILED: 'FAILED'>, <EventType.TIMED_OUT: 'TIMED_OUT'>, <Outcome.TIMED_OUT: 'timed_out'>)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cirrus.engine import ExecutionStatus
from cirrus.errors import is_invalid_input_error
from cirrus.state import ClaimOutcome, EventType, State

__all__ = [
    "END_EVENTS",
    "END_OUTCOMES",
    "Ending",
    "Outcome",
    "PayloadResult",
    "already_decided",
    "ending",
    "skipped",
]


class Outcome(StrEnum):
    """What happened to one submitted payload, with the same text in JSON and on screen."""

    SUCCEEDED = "succeeded"
    """The workflow succeeded; its output is stored and its items announced."""
    FAILED = "failed"
    """The workflow failed (or its output was not a valid payload)."""
    INVALID = "invalid"
    """A task found the input invalid; the payload is not retried."""
    ABORTED = "aborted"
    """The execution was stopped."""
    TIMED_OUT = "timed_out"
    """The execution ran out of time; the payload is FAILED."""
    ALREADY_SUCCEEDED = "already_succeeded"
    """Skipped: the payload succeeded before (submit it with ``replace`` to run it again)."""
    ALREADY_FAILED = "already_failed"
    """Skipped: a message delivered again after an earlier delivery ended the payload FAILED."""
    ALREADY_INVALID = "already_invalid"
    """Skipped: the payload was found invalid before."""
    ALREADY_ABORTED = "already_aborted"
    """Skipped: a message delivered again after an earlier delivery ended the payload ABORTED."""
    ALREADY_PROCESSING = "already_processing"
    """Skipped: another worker holds the payload."""
    DUPLICATE = "duplicate"
    """Skipped: the same payload id came twice in one batch or submission."""
    REJECTED = "rejected"
    """The input could not be read as a payload; it is kept under ``tmp/invalid/``."""
    DEAD_LETTERED = "dead_lettered"
    """Handling the message failed on every delivery up to the receive limit; it is in the
    queue's dead-letter store with the reason (``cirrus query --dead-letters``)."""

    @property
    def is_failure(self) -> bool:
        """Whether the payload did not get through this time (``cirrus process`` exits 1)."""
        return self in _FAILURES


_FAILURES = frozenset(
    {
        Outcome.FAILED,
        Outcome.INVALID,
        Outcome.ABORTED,
        Outcome.TIMED_OUT,
        Outcome.REJECTED,
        Outcome.DEAD_LETTERED,
    }
)


@dataclass
class PayloadResult:
    """What happened to one submitted payload."""

    payload_id: str | None
    """The payload id; None for input that could not be read as a payload."""
    outcome: Outcome
    error: str | None = None
    """``"<Error>: <message>"`` of a failure, or why the input was rejected."""
    output: dict[str, Any] | None = None
    """The output payload of a success."""


@dataclass(frozen=True, slots=True)
class Ending:
    """How an execution ends its payload: the state recorded, the event logged, the outcome."""

    state: State
    event: EventType
    outcome: Outcome


_ENDINGS = {
    ExecutionStatus.SUCCEEDED: Ending(State.SUCCEEDED, EventType.SUCCEEDED, Outcome.SUCCEEDED),
    ExecutionStatus.FAILED: Ending(State.FAILED, EventType.FAILED, Outcome.FAILED),
    ExecutionStatus.TIMED_OUT: Ending(State.FAILED, EventType.TIMED_OUT, Outcome.TIMED_OUT),
    ExecutionStatus.ABORTED: Ending(State.ABORTED, EventType.ABORTED, Outcome.ABORTED),
}
_INVALID = Ending(State.INVALID, EventType.INVALID, Outcome.INVALID)
END_EVENTS = frozenset({end.event for end in (*_ENDINGS.values(), _INVALID)})
"""The events that record how an execution ended its payload."""
END_OUTCOMES = frozenset({end.outcome for end in (*_ENDINGS.values(), _INVALID)})
"""The outcomes reported for a payload an execution ended."""


def ending(status: ExecutionStatus, error: str | None = None) -> Ending:
    """How an execution that ended with ``status`` and ASL ``error`` ends its payload.

    A failure whose error names invalid input (``InvalidInput``, ``PayloadError``, also
    stactask's) makes the payload INVALID: it is not run again unless resubmitted with
    ``replace``. stactask's ``FailedValidation`` is FAILED, as upstream Cirrus records it.
    """
    if status is ExecutionStatus.FAILED and is_invalid_input_error(error):
        return _INVALID
    return _ENDINGS.get(status, _ENDINGS[ExecutionStatus.FAILED])


_SKIPS = {
    ClaimOutcome.ALREADY_SUCCEEDED: (EventType.ALREADY_SUCCEEDED, Outcome.ALREADY_SUCCEEDED),
    ClaimOutcome.ALREADY_INVALID: (EventType.ALREADY_INVALID, Outcome.ALREADY_INVALID),
    ClaimOutcome.ALREADY_PROCESSING: (EventType.ALREADY_PROCESSING, Outcome.ALREADY_PROCESSING),
    # users see one word for "someone holds it", whether it started yet or not
    ClaimOutcome.ALREADY_CLAIMED: (EventType.ALREADY_CLAIMED, Outcome.ALREADY_PROCESSING),
}


def skipped(claim: ClaimOutcome) -> tuple[EventType, Outcome]:
    """The event to log and the outcome to report for a claim that was refused.

    Raises:
        KeyError: ``claim`` is a successful claim (CLAIMED or RESUMED).
    """
    return _SKIPS[claim]


_ALREADY = {
    State.SUCCEEDED: Outcome.ALREADY_SUCCEEDED,
    State.FAILED: Outcome.ALREADY_FAILED,
    State.INVALID: Outcome.ALREADY_INVALID,
    State.ABORTED: Outcome.ALREADY_ABORTED,
}


def already_decided(state: State) -> Outcome:
    """The outcome of a payload found already ended in terminal ``state``.

    Raises:
        KeyError: ``state`` is not terminal.
    """
    return _ALREADY[state]
