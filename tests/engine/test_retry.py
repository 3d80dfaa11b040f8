"""Retry and Catch: matching, back-off sequences with MaxDelaySeconds and jitter bounds."""

from __future__ import annotations

import random
from typing import Any

import pytest

from cirrus.engine import ManualClock, Retrier, backoff_delay, backoff_sequence, jitter_bounds
from cirrus.engine.retry import error_matches
from tests.engine.fakes import FakeTaskRunner, run


def test_documented_backoff_example() -> None:
    # "IntervalSeconds": 3, "MaxAttempts": 2, "BackoffRate": 1.5: retries after 3 and 4.5 s.
    assert backoff_sequence(Retrier(("States.Timeout",), 3, 2, 1.5)) == [3.0, 4.5]


def test_default_backoff() -> None:
    assert backoff_sequence(Retrier(("States.ALL",))) == [1.0, 2.0, 4.0]


def test_max_delay_caps_every_interval() -> None:
    retrier = Retrier(("States.ALL",), interval=2, max_attempts=6, backoff_rate=3, max_delay=30)
    assert backoff_sequence(retrier) == [2.0, 6.0, 18.0, 30.0, 30.0, 30.0]


def test_full_jitter_stays_within_bounds() -> None:
    retrier = Retrier(
        ("States.ALL",), interval=2, max_attempts=5, backoff_rate=2, max_delay=10, jitter="FULL"
    )
    rng = random.Random(1)
    for attempt in range(5):
        low, high = jitter_bounds(retrier, attempt)
        assert (low, high) == (0.0, min(2.0 * 2**attempt, 10.0))
        delays = [backoff_delay(retrier, attempt, rng) for _ in range(200)]
        assert all(low <= d <= high for d in delays)
        assert len(set(delays)) > 1


@pytest.mark.parametrize(
    ("names", "error", "expected"),
    [
        (["States.ALL"], "MyError", True),
        (["States.ALL"], "States.Runtime", False),
        (["States.TaskFailed"], "ValueError", True),
        (["States.TaskFailed"], "States.Timeout", False),
        (["States.Timeout"], "States.Timeout", True),
        (["A", "B"], "B", True),
        (["A"], "B", False),
    ],
)
def test_error_matching(names: list[str], error: str, expected: bool) -> None:
    assert error_matches(names, error) is expected


def flaky(failures: int, error: type[Exception] = RuntimeError) -> Any:
    calls = {"n": 0}

    def task(event: Any) -> Any:
        calls["n"] += 1
        if calls["n"] <= failures:
            raise error(f"failure {calls['n']}")
        return {"attempts": calls["n"]}

    return task


def task_machine(
    retry: list[dict[str, Any]], catch: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": "work",
        "Retry": retry,
        "End": True,
    }
    states: dict[str, Any] = {"Work": state}
    if catch:
        state["Catch"] = catch
        states["Handle"] = {"Type": "Pass", "End": True}
    return {"StartAt": "Work", "States": states}


def test_retries_wait_the_computed_intervals() -> None:
    clock = ManualClock()
    runner = FakeTaskRunner({"work": flaky(3)})
    retry = [
        {
            "ErrorEquals": ["RuntimeError"],
            "IntervalSeconds": 2,
            "BackoffRate": 3,
            "MaxDelaySeconds": 10,
        }
    ]
    result = run(task_machine(retry), {}, runner, clock=clock, time_scale=1)
    assert result.output == {"attempts": 4}
    assert clock.sleeps == [2.0, 6.0, 10.0]


def test_time_scale_zero_makes_retries_instant_but_history_keeps_time() -> None:
    clock = ManualClock()
    runner = FakeTaskRunner({"work": flaky(2)})
    result = run(
        task_machine([{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 5}]),
        {},
        runner,
        clock=clock,
    )
    assert result.succeeded
    assert clock.sleeps == [0.0, 0.0]
    assert result.stop_time - result.start_time == pytest.approx(15.0)


def test_exhausted_retries_fall_to_catch_with_result_path() -> None:
    runner = FakeTaskRunner({"work": flaky(10, ValueError)})
    retry = [{"ErrorEquals": ["ValueError"], "MaxAttempts": 2}]
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handle"}]
    result = run(task_machine(retry, catch), {"in": 1}, runner)
    assert result.output == {"in": 1, "error": {"Error": "ValueError", "Cause": "failure 3"}}
    assert len(runner.calls) == 3


def test_first_matching_retrier_is_the_only_one_used() -> None:
    runner = FakeTaskRunner({"work": flaky(10, ValueError)})
    retry = [
        {"ErrorEquals": ["ValueError"], "MaxAttempts": 1},
        {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5},
    ]
    result = run(task_machine(retry), {}, runner)
    assert result.error == "ValueError"
    assert len(runner.calls) == 2


def test_max_attempts_zero_never_retries() -> None:
    runner = FakeTaskRunner({"work": flaky(1)})
    result = run(task_machine([{"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}]), {}, runner)
    assert (result.error, result.cause) == ("RuntimeError", "failure 1")


def test_runtime_errors_are_not_retried_or_caught() -> None:
    runner = FakeTaskRunner({"work": lambda e: e})
    machine = task_machine(
        [{"ErrorEquals": ["States.ALL"]}], [{"ErrorEquals": ["States.ALL"], "Next": "Handle"}]
    )
    machine["States"]["Work"]["InputPath"] = "$.missing"
    result = run(machine, {}, runner)
    assert result.error == "States.Runtime"
    assert runner.calls == []


def test_retry_count_in_context() -> None:
    runner = FakeTaskRunner({"work": flaky(2)})
    machine = task_machine([{"ErrorEquals": ["States.ALL"]}])
    machine["States"]["Work"]["Parameters"] = {"retry.$": "$$.State.RetryCount"}
    run(machine, {}, runner)
    assert [payload["retry"] for _, _, payload in runner.calls] == [0, 1, 2]
