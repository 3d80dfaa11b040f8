"""Retry and Catch: which rule matches an error, and how long to wait before a retry.

Pure functions over the parsed rules; the runner does the waiting::

    >>> r = Retrier(("States.ALL",), interval=3, max_attempts=3, backoff_rate=2, max_delay=10)
    >>> backoff_sequence(r)
    [3.0, 6.0, 10.0]
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cirrus.engine.errors import ALL, DATA_LIMIT_EXCEEDED, RUNTIME, TASK_FAILED, TIMEOUT

__all__ = [
    "Catcher",
    "Retrier",
    "backoff_delay",
    "backoff_sequence",
    "error_matches",
    "find_catcher",
    "find_retrier",
    "jitter_bounds",
]

# Errors no Retry or Catch can handle: they always end the execution.
UNCATCHABLE = frozenset({RUNTIME, DATA_LIMIT_EXCEEDED})


@dataclass(frozen=True, slots=True)
class Retrier:
    """One element of a state's ``Retry`` array.

    Attributes:
        error_equals: error names this retrier handles.
        interval: ``IntervalSeconds`` before the first retry.
        max_attempts: ``MaxAttempts``; 0 means never retry.
        backoff_rate: ``BackoffRate`` multiplying the interval on each retry.
        max_delay: ``MaxDelaySeconds`` capping every interval, or None.
        jitter: ``JitterStrategy``: ``FULL`` or ``NONE``.
    """

    error_equals: tuple[str, ...]
    interval: float = 1.0
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay: float | None = None
    jitter: str = "NONE"


@dataclass(frozen=True, slots=True)
class Catcher:
    """One element of a state's ``Catch`` array.

    Attributes:
        error_equals: error names this catcher handles.
        next: the state to go to.
        result_path: ResultPath steps for the error output (None discards it), JSONPath only.
        result_path_text: the ResultPath as written, for error messages.
        assign: the compiled ``Assign`` block, or None.
        output: the compiled JSONata ``Output``, or None.
    """

    error_equals: tuple[str, ...]
    next: str
    result_path: tuple[str | int, ...] | None = ()
    result_path_text: str = "$"
    assign: Any = None
    output: Any = None


def error_matches(error_equals: Sequence[str], error: str) -> bool:
    """Whether an ``ErrorEquals`` list handles ``error``.

    ``States.ALL`` matches every error and ``States.TaskFailed`` every error except
    ``States.Timeout``; nothing matches ``States.Runtime``, and only its own name
    ``States.DataLimitExceeded`` (a terminal error, as AWS treats it).
    """
    if error in UNCATCHABLE:
        return error == DATA_LIMIT_EXCEEDED and error in error_equals
    for name in error_equals:
        if name in (error, ALL):
            return True
        if name == TASK_FAILED and error != TIMEOUT:
            return True
    return False


def find_retrier(retriers: Sequence[Retrier], error: str) -> int | None:
    """Index of the first retrier that handles ``error``, or None."""
    for index, retrier in enumerate(retriers):
        if error_matches(retrier.error_equals, error):
            return index
    return None


def find_catcher(catchers: Sequence[Catcher], error: str) -> Catcher | None:
    """The first catcher that handles ``error``, or None."""
    for catcher in catchers:
        if error_matches(catcher.error_equals, error):
            return catcher
    return None


def _nominal(retrier: Retrier, attempt: int) -> float:
    delay = float(retrier.interval) * float(retrier.backoff_rate) ** attempt
    if retrier.max_delay is not None:
        delay = min(delay, float(retrier.max_delay))
    return delay


def backoff_delay(retrier: Retrier, attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempt + 1`` (``attempt`` counts from 0).

    The interval grows by ``BackoffRate`` each time and never exceeds
    ``MaxDelaySeconds``; with ``JitterStrategy: FULL`` the wait is a random value
    between 0 and that interval.
    """
    delay = _nominal(retrier, attempt)
    if retrier.jitter == "FULL":
        return (rng or random).uniform(0.0, delay)
    return delay


def backoff_sequence(retrier: Retrier) -> list[float]:
    """The waits before each retry, without jitter: one per allowed attempt."""
    return [_nominal(retrier, attempt) for attempt in range(retrier.max_attempts)]


def jitter_bounds(retrier: Retrier, attempt: int) -> tuple[float, float]:
    """The range a wait before retry ``attempt + 1`` falls in."""
    nominal = _nominal(retrier, attempt)
    return (0.0, nominal) if retrier.jitter == "FULL" else (nominal, nominal)
