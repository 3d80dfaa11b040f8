"""Run a batch's executions on a few threads and hand back the finished ones at once.

A wave is everything that finished since the caller last asked: the caller commits it, and
what finishes meanwhile makes the next wave (a group commit). Under load a wave holds many
executions (one transaction for many); when executions are slow each is handed back as soon
as it ends, so a process killed at any moment has only its running executions to redo::

    waves = run_in_waves(jobs, execute, pool, threads=4)
    try:
        for finished in waves:
            commit(finished)
    except BaseException:
        commit(waves.stop())  # Ctrl-C: what finished is still written out
        raise
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

__all__ = ["Waves", "run_in_waves"]

T = TypeVar("T")

_POLL_SECONDS = 0.5
"""How often a caller waiting for the next wave looks up (a wait that signals can end)."""


def run_in_waves(
    items: list[T],
    run: Callable[[T], None],
    pool: ThreadPoolExecutor | None,
    *,
    threads: int,
) -> Waves[T]:
    """Call ``run`` on every item (``threads`` at a time on ``pool``); iterate for the waves.

    Without a pool (or with one item) the items run in the caller's thread, in order, and
    each is handed back as it ends. With one thread they run in order too, on the pool, so
    that the caller commits one wave while the next runs.
    """
    return Waves(items, run, pool, threads=threads)


class Waves(Generic[T]):
    """Items being run, handed back in waves as they finish (see the module docstring)."""

    def __init__(
        self,
        items: list[T],
        run: Callable[[T], None],
        pool: ThreadPoolExecutor | None,
        *,
        threads: int,
    ) -> None:
        self._run = run
        self._pending = deque(items)
        # finished items, each in a 1-tuple; None wakes a waiting caller when all is done
        self._finished: queue.SimpleQueue[tuple[T] | None] = queue.SimpleQueue()
        self._futures: list[concurrent.futures.Future[None]] = []
        self._inline = pool is None or len(items) < 2
        self._lock = threading.Lock()
        self._running = 0
        self._all_done = threading.Event()
        if self._inline or pool is None:
            return
        self._running = min(threads, len(items))
        self._futures = [pool.submit(self._take_until_done) for _ in range(self._running)]

    def __iter__(self) -> Iterator[list[T]]:
        if self._inline:
            while self._pending:
                item = self._pending.popleft()
                self._run(item)
                self._finished.put((item,))
                yield self._take()
            return
        while True:
            over = self._all_done.is_set()  # read before taking: nothing is missed
            wave = self._take(wait=not over)
            if wave:
                yield wave
            elif over:
                break
        self._raise_failures()

    def stop(self) -> list[T]:
        """Start nothing more, wait for what runs, and return what finished but was not
        handed back yet."""
        self._pending.clear()
        concurrent.futures.wait(self._futures)
        return self._take()

    # -- the threads -----------------------------------------------------------------------

    def _take_until_done(self) -> None:
        # each thread takes the next item until none is left: one future per thread, not
        # per item, keeps the hand-overs between threads few
        try:
            while True:
                try:
                    item = self._pending.popleft()
                except IndexError:
                    return
                self._run(item)
                self._finished.put((item,))
        finally:
            with self._lock:
                self._running -= 1
                if not self._running:
                    self._all_done.set()
                    self._finished.put(None)

    # -- the caller ------------------------------------------------------------------------

    def _take(self, *, wait: bool = False) -> list[T]:
        """Everything finished so far; with ``wait``, the first one is waited for a while.

        One wake-up per wave, not per item: every wake-up takes the interpreter lock from
        the threads doing the work.
        """
        taken: list[tuple[T] | None] = []
        if wait:
            try:
                taken.append(self._finished.get(timeout=_POLL_SECONDS))
            except queue.Empty:
                return []
        while True:
            try:
                taken.append(self._finished.get_nowait())
            except queue.Empty:
                return [entry[0] for entry in taken if entry is not None]

    def _raise_failures(self) -> None:
        for future in self._futures:
            future.result()  # a failure of the loop itself (not of an item) surfaces here
