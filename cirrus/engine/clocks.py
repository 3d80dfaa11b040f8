"""Clocks an execution reads and sleeps on: the system's, or one a test moves by hand."""

from __future__ import annotations

import threading
import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    """Where an execution gets the time and how it sleeps."""

    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    def sleep(self, seconds: float, interrupt: threading.Event) -> None:
        """Sleep, returning early when ``interrupt`` is set."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    def sleep(self, seconds: float, interrupt: threading.Event) -> None:
        """Sleep on the interrupt event."""
        if seconds > 0:
            interrupt.wait(seconds)


class ManualClock:
    """A clock that only moves when slept on: deterministic tests of Wait and Retry.

    Attributes:
        time: the current time (seconds since the epoch).
        sleeps: every sleep requested, in order.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.time = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def now(self) -> float:
        """The current time."""
        return self.time

    def sleep(self, seconds: float, interrupt: threading.Event) -> None:
        """Record the sleep and move the time on."""
        with self._lock:
            self.sleeps.append(seconds)
            self.time += max(seconds, 0.0)
