"""The state transition rules, as pure functions shared by every backend.

A backend loads the current record, asks one of these functions what the new
record is, and writes it back in the same atomic step. Keeping the rules here
means SQLite, memory and any later backend cannot drift apart.

Claim rules (``decide_claim``):

=================================  ==========================  =================
current record                     ``replace=False``           ``replace=True``
=================================  ==========================  =================
none, FAILED, ABORTED              CLAIMED                     CLAIMED
SUCCEEDED                          ALREADY_SUCCEEDED           CLAIMED
INVALID                            ALREADY_INVALID             CLAIMED
CLAIMED, lease live                ALREADY_CLAIMED             ALREADY_CLAIMED
PROCESSING, lease live             ALREADY_PROCESSING          ALREADY_PROCESSING
CLAIMED/PROCESSING, lease expired  RESUMED                     RESUMED
=================================  ==========================  =================

A claim held by the caller itself is still reported ``ALREADY_CLAIMED``: claiming
never hands the same payload out twice, even to one owner. A claim may also start a
payload that has no record yet (PROCESSING at once, with the execution whose input the
caller stored): one write instead of a claim and a start.

The batch methods apply the rules item by item through the steps at the end
(:func:`claim_step`, :func:`start_step`, :func:`finish_step`), whatever the backend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import ParamSpec, TypeVar

from cirrus.errors import AlreadyClaimed, StateError
from cirrus.state.models import (
    ACTIVE_STATES,
    TERMINAL_STATES,
    ClaimOutcome,
    ClaimResult,
    FinishUpdate,
    State,
    StateRecord,
)

__all__ = [
    "Held",
    "Step",
    "apply_finish",
    "apply_release",
    "apply_renew",
    "apply_start",
    "check_lease",
    "check_terminal",
    "claim_step",
    "decide_claim",
    "finish_step",
    "start_step",
]

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")
_P = ParamSpec("_P")

Held = StateRecord | AlreadyClaimed
"""Per item of a start or finish batch: the new record, or why the owner may not write it."""

Step = Callable[[_Item, StateRecord | None, datetime], tuple[_Result, StateRecord | None]]
"""One batch item's decision: ``step(item, current, now)`` returns the item's result
and the record to store (``None``: nothing changes)."""

_BLOCKED = {
    State.SUCCEEDED: ClaimOutcome.ALREADY_SUCCEEDED,
    State.INVALID: ClaimOutcome.ALREADY_INVALID,
    State.CLAIMED: ClaimOutcome.ALREADY_CLAIMED,
    State.PROCESSING: ClaimOutcome.ALREADY_PROCESSING,
}


def check_lease(lease_seconds: float) -> timedelta:
    """Validate a lease length and return it as a timedelta.

    Raises:
        StateError: the lease is not a positive number of seconds.
    """
    if not lease_seconds > 0:
        raise StateError(f"lease_seconds must be a positive number of seconds, not {lease_seconds}")
    return timedelta(seconds=lease_seconds)


def check_terminal(payload_id: str, state: State | str) -> State:
    """``state`` as a :class:`State`, checked to be one an execution can end in.

    Raises:
        StateError: ``state`` is not terminal (the message lists the terminal states).
        ValueError: ``state`` is not a state at all.
    """
    state = State(state)
    if state not in TERMINAL_STATES:
        raise StateError(
            f"cannot finish {payload_id!r} as {state.value}: use one of "
            + ", ".join(sorted(s.value for s in TERMINAL_STATES))
        )
    return state


def _lease_live(record: StateRecord, now: datetime) -> bool:
    # A claim without a lease cannot be renewed by anyone: treat it as lapsed.
    return record.lease_expires is not None and record.lease_expires > now


def decide_claim(
    current: StateRecord | None,
    payload_id: str,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    replace: bool,
    execution: str | None = None,
) -> ClaimResult:
    """Apply the claim rules; the result's record is what to store when ``claimed``.

    With ``execution``, a payload that has no record yet is started at once: its new
    record is PROCESSING with that execution (the caller stored its input first), as a
    claim followed by :func:`apply_start` would leave it.
    """
    if current is None:
        record = StateRecord(
            payload_id=payload_id,
            state=State.CLAIMED if execution is None else State.PROCESSING,
            created=now,
            updated=now,
            claimed_at=now,
            claim_owner=owner,
            lease_expires=now + lease,
            executions=() if execution is None else (execution,),
            started=None if execution is None else now,
        )
        return ClaimResult(ClaimOutcome.CLAIMED, record)
    state = current.state
    if state in ACTIVE_STATES:
        if _lease_live(current, now):
            return ClaimResult(_BLOCKED[state], current)
        resumed = current.evolve(
            state=State.CLAIMED,
            updated=now,
            claimed_at=now,
            claim_owner=owner,
            lease_expires=now + lease,
        )
        return ClaimResult(ClaimOutcome.RESUMED, resumed)
    if state in (State.SUCCEEDED, State.INVALID) and not replace:
        return ClaimResult(_BLOCKED[state], current)
    claimed = current.evolve(
        state=State.CLAIMED,
        updated=now,
        claimed_at=now,
        claim_owner=owner,
        lease_expires=now + lease,
        previous_state=state,
    )
    return ClaimResult(ClaimOutcome.CLAIMED, claimed)


def holds(current: StateRecord | None, owner: str) -> bool:
    """Whether ``owner`` holds the claim on the payload whose record is ``current``."""
    return current is not None and current.state in ACTIVE_STATES and current.claim_owner == owner


def _require_owner(current: StateRecord | None, payload_id: str, owner: str, action: str) -> None:
    if current is None:
        raise AlreadyClaimed(
            f"cannot {action} {payload_id!r}: it has no state record; claim it first"
        )
    if current.state not in ACTIVE_STATES or current.claim_owner != owner:
        holder = f"held by {current.claim_owner!r}" if current.claim_owner else "not claimed"
        raise AlreadyClaimed(
            f"cannot {action} {payload_id!r} as {owner!r}: it is {current.state.value} and "
            f"{holder}; the claim was lost (lease expired and taken over, or finished)"
        )


def apply_start(
    current: StateRecord | None,
    payload_id: str,
    execution: str,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
) -> StateRecord:
    """CLAIMED -> PROCESSING with ``execution`` appended and the lease renewed.

    Starting again with the execution already running is a no-op apart from the lease.

    Raises:
        AlreadyClaimed: ``owner`` does not hold the claim.
    """
    _require_owner(current, payload_id, owner, "start")
    assert current is not None
    if current.state is State.PROCESSING:
        if current.executions and current.executions[-1] == execution:
            return current.evolve(lease_expires=now + lease)
        raise AlreadyClaimed(
            f"cannot start {execution!r} for {payload_id!r}: execution "
            f"{current.executions[-1] if current.executions else None!r} is already running"
        )
    if current.executions and current.executions[-1] == execution:
        # a resumed claim going on with the execution it had (one that waited for a task
        # token when its worker died): the execution is not a new one
        executions = current.executions
    else:
        executions = (*current.executions, execution)
    return current.evolve(
        state=State.PROCESSING,
        updated=now,
        executions=executions,
        lease_expires=now + lease,
        started=now,
    )


def apply_renew(
    current: StateRecord | None, *, owner: str, now: datetime, lease: timedelta
) -> StateRecord | None:
    """The record with its lease extended, or ``None`` if ``owner`` no longer holds it."""
    if current is None or current.state not in ACTIVE_STATES or current.claim_owner != owner:
        return None
    return current.evolve(lease_expires=now + lease)


def apply_finish(
    current: StateRecord | None,
    payload_id: str,
    state: State,
    *,
    owner: str | None,
    error: str | None,
    output_url: str | None,
    now: datetime,
    ended: datetime | None = None,
) -> StateRecord:
    """The record in terminal ``state`` with the claim cleared.

    With ``owner`` set, the owner must hold the claim. With ``owner=None`` the
    finish is unconditional (operators, update-state without a claim) and creates
    the record if there is none. ``last_error`` takes ``error`` when given and is
    otherwise kept; ``output_url`` likewise. Finishing a PROCESSING record sets
    ``duration``: from its ``started`` to ``ended`` (default ``now``).

    Raises:
        StateError: ``state`` is not terminal.
        AlreadyClaimed: ``owner`` is set and does not hold the claim.
    """
    state = check_terminal(payload_id, state)
    if owner is not None:
        _require_owner(current, payload_id, owner, "finish")
    if current is None:
        return StateRecord(
            payload_id=payload_id,
            state=state,
            created=now,
            updated=now,
            last_error=error,
            output_url=output_url,
        )
    duration = current.duration
    if current.state is State.PROCESSING and current.started is not None:
        duration = max(((ended or now) - current.started).total_seconds(), 0.0)
    return current.evolve(
        state=state,
        updated=now,
        duration=duration,
        last_error=error if error is not None else current.last_error,
        output_url=output_url if output_url is not None else current.output_url,
        claim_owner=None,
        lease_expires=None,
        previous_state=None,
    )


def apply_release(
    current: StateRecord | None, *, owner: str, now: datetime
) -> tuple[bool, StateRecord | None]:
    """Drop a claim that never started.

    Returns:
        ``(released, record)``: ``released`` is False when ``owner`` holds no
        CLAIMED record (nothing to do); ``record`` is the restored record, or
        ``None`` when the record should be deleted (it did not exist before the claim).
        A resumed claim on a run that died keeps its history: its lease simply
        lapses now, so the next claim resumes it.
    """
    if current is None or current.state is not State.CLAIMED or current.claim_owner != owner:
        return False, current
    if current.previous_state is None:
        if not current.executions:
            return True, None
        return True, current.evolve(lease_expires=now)
    return True, current.evolve(
        state=current.previous_state,
        updated=now,
        claim_owner=None,
        lease_expires=None,
        previous_state=None,
    )


# ---------------------------------------------------------------- batch item steps


def _held(
    rule: Callable[_P, StateRecord], *args: _P.args, **kwargs: _P.kwargs
) -> tuple[Held, StateRecord | None]:
    """Run a rule that needs the claim: its record twice (result, to store), or the error."""
    try:
        record = rule(*args, **kwargs)
    except AlreadyClaimed as exc:
        return exc, None
    return record, record


def claim_step(
    *, owner: str, lease: timedelta, start: Mapping[str, str] | None = None
) -> Step[tuple[str, bool], ClaimResult]:
    """The step of ``claim_many``: ``(payload_id, replace)`` to its claim result.

    ``start`` maps payload ids to the execution a new record starts with (see
    :func:`decide_claim`).
    """
    starts = start or {}

    def claim(
        item: tuple[str, bool], current: StateRecord | None, now: datetime
    ) -> tuple[ClaimResult, StateRecord | None]:
        payload_id, replace = item
        result = decide_claim(
            current,
            payload_id,
            owner=owner,
            now=now,
            lease=lease,
            replace=replace,
            execution=starts.get(payload_id),
        )
        return result, result.record if result.claimed else None

    return claim


def start_step(*, owner: str, lease: timedelta) -> Step[tuple[str, str], Held]:
    """The step of ``start_many``: ``(payload_id, execution)`` to the PROCESSING record."""

    def start(
        item: tuple[str, str], current: StateRecord | None, now: datetime
    ) -> tuple[Held, StateRecord | None]:
        payload_id, execution = item
        return _held(apply_start, current, payload_id, execution, owner=owner, now=now, lease=lease)

    return start


def finish_step() -> Step[FinishUpdate, Held]:
    """The step of ``finish_many``: a :class:`FinishUpdate` to the finished record."""

    def finish(
        update: FinishUpdate, current: StateRecord | None, now: datetime
    ) -> tuple[Held, StateRecord | None]:
        return _held(
            apply_finish,
            current,
            update.payload_id,
            update.state,
            owner=update.owner,
            error=update.error,
            output_url=update.output_url,
            now=now,
            ended=update.ended,
        )

    return finish
