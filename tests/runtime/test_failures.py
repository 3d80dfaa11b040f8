"""``last_error`` as upstream Cirrus writes it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cirrus.engine import ExecutionStatus
from cirrus.runtime.failures import NO_CAUSE_HINT, failure_of

LAMBDA_CAUSE = json.dumps(
    {
        "errorMessage": "/usr/local/bin/python: No module named x",
        "errorType": "UnknownError",
        "stackTrace": ["  File ...", "  line 1"],
    }
)


def _failed(kind: str, error: str, cause: str) -> dict[str, Any]:
    key = kind[0].lower() + kind[1:] + "EventDetails"
    return {"type": kind, key: {"error": error, "cause": cause}}


def test_a_lambda_style_json_cause_is_reduced_to_its_message() -> None:
    assert failure_of(ExecutionStatus.FAILED, "UnknownError", LAMBDA_CAUSE) == (
        "UnknownError",
        "/usr/local/bin/python: No module named x",
    )


def test_other_causes_are_kept_as_they_are() -> None:
    assert failure_of(ExecutionStatus.FAILED, "E", '{"no": "message"}') == (
        "E",
        '{"no": "message"}',
    )
    assert failure_of(ExecutionStatus.FAILED, "E", "plain") == ("E", "plain")


def test_no_error_and_no_cause_is_unknown_with_the_hint() -> None:
    error, cause = failure_of(ExecutionStatus.FAILED, None, None)
    assert (error, cause) == ("Unknown", NO_CAUSE_HINT)
    assert "'ErrorPath' and 'CausePath'" in NO_CAUSE_HINT


def test_a_bare_fail_state_takes_the_last_failed_task_from_the_history() -> None:
    history = [
        {"type": "ExecutionStarted"},
        _failed("TaskFailed", "States.TaskFailed", '{"Attempts": []}'),
        _failed("LambdaFunctionFailed", "ValueError", LAMBDA_CAUSE),
        {"type": "FailStateEntered"},
        {"type": "ExecutionFailed", "executionFailedEventDetails": {}},
    ]
    assert failure_of(ExecutionStatus.FAILED, None, None, history) == (
        "ValueError",
        "/usr/local/bin/python: No module named x",
    )


@pytest.mark.parametrize("error", [None, "States.Timeout"])
def test_a_timed_out_execution_has_upstreams_text(error: str | None) -> None:
    assert failure_of(ExecutionStatus.TIMED_OUT, error, None) == (
        "TimedOutError",
        "The step function execution timed out.",
    )


def test_an_aborted_execution_that_names_nothing_records_nothing() -> None:
    assert failure_of(ExecutionStatus.ABORTED, None, None) == (None, None)
