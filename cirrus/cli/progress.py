"""What long commands show while they work: a progress bar on a terminal, plain lines off it.

On a terminal, ``cirrus process --wait`` draws a bar whose total is the number of payloads
read (unknown while the input is still being read), with the rate and the time left; each
failure is printed above it on one line. Off a terminal (CI, ``nohup``, ``2> log``) nothing is
drawn: every failure is one plain line, never wrapped and without markup, and a progress line
follows every few seconds (``CIRRUS_PROGRESS_SECONDS``, default 5)::

    failed c/workflow-w/a RuntimeError: asked to fail a
    progress: 1200/2200 done (failed=3 succeeded=1197), 412.0/s, about 2s left
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from cirrus.runtime import Outcome, PayloadResult, SubmitReport

__all__ = ["ProgressReporter", "progress_interval"]

_RATE_WINDOW = 10.0  # seconds of results the rate is measured over


def progress_interval() -> float:
    """Seconds between progress lines off a terminal (``CIRRUS_PROGRESS_SECONDS``)."""
    try:
        return max(float(os.environ.get("CIRRUS_PROGRESS_SECONDS", "5")), 0.1)
    except ValueError:
        return 5.0


def _one_line(text: str) -> str:
    """``text`` on one line: newlines and tabs become spaces."""
    return " ".join(text.split())


class ProgressReporter:
    """Counts results and shows them, on a terminal or as plain lines.

    Args:
        stream: where to write (stderr).
        every_success: also print a line per succeeded payload (``cirrus worker``).
        bar: draw a progress bar (only on a terminal; ``cirrus worker`` runs without one).
    """

    def __init__(
        self,
        stream: IO[str] | None = None,
        *,
        every_success: bool = False,
        bar: bool = True,
    ) -> None:
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty()
        self.every_success = every_success
        self.counts: Counter[Outcome] = Counter()
        self.total: int | None = None
        """Payloads read (None while reading)."""
        self._lock = threading.Lock()
        self._times: list[float] = []
        self._started = time.monotonic()
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._bar = bar and self.terminal
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> ProgressReporter:
        if self._bar:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]processing"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[summary]}"),
                console=Console(file=self.stream),
            )
            self._progress.start()
            self._task = self._progress.add_task("payloads", total=None, rate="", summary="")
        elif not self.terminal:
            self._ticker = threading.Thread(target=self._tick, name="cirrus-progress", daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop drawing (the bar stays on screen with its last figures)."""
        self._stop.set()
        if self._progress is not None:
            self._update()
            self._progress.stop()
            self._progress = None
        if self._ticker is not None:
            self._ticker.join(timeout=1)
            self._ticker = None

    # -- events ---------------------------------------------------------------------------

    def result(self, result: PayloadResult) -> None:
        """Count one payload's outcome and print its line (failures always)."""
        with self._lock:
            self.counts[result.outcome] += 1
            self._times.append(time.monotonic())
        if result.outcome.is_failure or self.every_success:
            self.line(_result_line(result))
        self._update()

    def read(self, report: SubmitReport) -> None:
        """The input is read: the bar's total is now known."""
        with self._lock:
            self.total = report.queued + len(report.rejected)
        self._update()

    def line(self, text: str) -> None:
        """Print one plain line (above the bar on a terminal)."""
        text = _one_line(text)
        if self._progress is not None:
            from rich.text import Text

            self._progress.console.print(Text(text), soft_wrap=True)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    # -- figures --------------------------------------------------------------------------

    @property
    def done(self) -> int:
        """Payloads that reached an outcome."""
        return sum(self.counts.values())

    def rate(self) -> float:
        """Payloads per second over the last few seconds (since the start at first)."""
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._times if t >= now - _RATE_WINDOW]
            self._times = recent
        span = min(_RATE_WINDOW, now - self._started)
        return len(recent) / span if span > 0 else 0.0

    def summary(self) -> str:
        """``failed=1 succeeded=9`` (outcomes in name order)."""
        with self._lock:
            items = sorted(self.counts.items())
        return " ".join(f"{outcome}={count}" for outcome, count in items)

    def progress_line(self) -> str:
        """The line printed every few seconds off a terminal."""
        done, total, rate = self.done, self.total, self.rate()
        of = f"{done}/{total}" if total is not None and total >= done else f"{done}/?"
        text = f"progress: {of} done ({self.summary() or 'nothing yet'}), {rate:.1f}/s"
        if total is not None and total > done and rate > 0:
            text += f", about {_duration((total - done) / rate)} left"
        return text

    def _update(self) -> None:
        if self._progress is None or self._task is None:
            return
        done, total = self.done, self.total
        # chained links can make more results than were read: the total then grows with them
        shown_total = None if total is None else max(total, done)
        self._progress.update(
            self._task,
            completed=done,
            total=shown_total,
            rate=f"{self.rate():.1f}/s",
            summary=self.summary(),
        )

    def _tick(self) -> None:
        interval = progress_interval()
        while not self._stop.wait(interval):
            self.line(self.progress_line())


def _result_line(result: PayloadResult) -> str:
    parts: list[Any] = [str(result.outcome), result.payload_id or "(no id)"]
    if result.error:
        parts.append(result.error)
    return " ".join(str(part) for part in parts)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"
