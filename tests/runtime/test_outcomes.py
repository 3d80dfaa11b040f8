"""What happened to a payload: the outcome enum and the tables that lead to it."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from cirrus.engine import ExecutionStatus
from cirrus.runtime import Outcome
from cirrus.runtime.outcomes import already_decided, ending, skipped
from cirrus.state import TERMINAL_STATES, ClaimOutcome, EventType, State


def test_outcomes_keep_the_text_users_see() -> None:
    counts = Counter({Outcome.SUCCEEDED: 2, Outcome.TIMED_OUT: 1})
    assert counts["succeeded"] == 2
    assert json.dumps(counts) == '{"succeeded": 2, "timed_out": 1}'
    assert f"{Outcome.ALREADY_PROCESSING}" == "already_processing"
    assert [outcome.value for outcome in Outcome] == [
        "succeeded",
        "failed",
        "invalid",
        "aborted",
        "timed_out",
        "already_succeeded",
        "already_failed",
        "already_invalid",
        "already_aborted",
        "already_processing",
        "duplicate",
        "rejected",
        "dead_lettered",
    ]


def test_failures_are_the_payloads_that_did_not_get_through() -> None:
    failures = {outcome.value for outcome in Outcome if outcome.is_failure}
    assert failures == {"failed", "invalid", "aborted", "timed_out", "rejected", "dead_lettered"}


@pytest.mark.parametrize(
    ("status", "error", "state", "event", "outcome"),
    [
        pytest.param(
            ExecutionStatus.SUCCEEDED, None, State.SUCCEEDED, EventType.SUCCEEDED,
            Outcome.SUCCEEDED, id="succeeded",
        ),
        pytest.param(
            ExecutionStatus.FAILED, "RuntimeError", State.FAILED, EventType.FAILED,
            Outcome.FAILED, id="failed",
        ),
        pytest.param(
            ExecutionStatus.FAILED, "InvalidInput", State.INVALID, EventType.INVALID,
            Outcome.INVALID, id="invalid-input",
        ),
        pytest.param(
            ExecutionStatus.FAILED, "stactask.exceptions.FailedValidation", State.FAILED,
            EventType.FAILED, Outcome.FAILED, id="stactask-failed-validation",
        ),
        pytest.param(
            ExecutionStatus.TIMED_OUT, "States.Timeout", State.FAILED, EventType.TIMED_OUT,
            Outcome.TIMED_OUT, id="timed-out",
        ),
        pytest.param(
            ExecutionStatus.TIMED_OUT, "InvalidInput", State.FAILED, EventType.TIMED_OUT,
            Outcome.TIMED_OUT, id="timed-out-is-never-invalid",
        ),
        pytest.param(
            ExecutionStatus.ABORTED, None, State.ABORTED, EventType.ABORTED,
            Outcome.ABORTED, id="aborted",
        ),
    ],
)  # fmt: skip
def test_how_an_execution_ends_its_payload(
    status: ExecutionStatus, error: str | None, state: State, event: EventType, outcome: Outcome
) -> None:
    end = ending(status, error)
    assert (end.state, end.event, end.outcome) == (state, event, outcome)


def test_every_ending_is_terminal() -> None:
    for status in ExecutionStatus:
        for error in (None, "InvalidInput"):
            assert ending(status, error).state in TERMINAL_STATES


def test_every_refused_claim_is_skipped_with_its_event() -> None:
    refused = [claim for claim in ClaimOutcome if not claim.claimed]
    assert {claim: skipped(claim) for claim in refused} == {
        ClaimOutcome.ALREADY_SUCCEEDED: (EventType.ALREADY_SUCCEEDED, Outcome.ALREADY_SUCCEEDED),
        ClaimOutcome.ALREADY_INVALID: (EventType.ALREADY_INVALID, Outcome.ALREADY_INVALID),
        ClaimOutcome.ALREADY_PROCESSING: (
            EventType.ALREADY_PROCESSING,
            Outcome.ALREADY_PROCESSING,
        ),
        ClaimOutcome.ALREADY_CLAIMED: (EventType.ALREADY_CLAIMED, Outcome.ALREADY_PROCESSING),
    }


def test_every_terminal_state_has_its_already_outcome() -> None:
    assert {state: already_decided(state).value for state in TERMINAL_STATES} == {
        State.SUCCEEDED: "already_succeeded",
        State.FAILED: "already_failed",
        State.INVALID: "already_invalid",
        State.ABORTED: "already_aborted",
    }
    with pytest.raises(KeyError):
        already_decided(State.PROCESSING)
