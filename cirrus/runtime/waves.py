"""Run a batch's executions on a few threads and hand back the finished ones in waves.

A wave is what finished in the last second or so: quick executions are written out together
(one transaction for many), and a slow one does not hold back the results of the others::

    for finished in run_in_waves(jobs, execute, pool, threads=4):
        commit(finished)
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["WAVE_SECONDS", "run_in_waves"]

WAVE_SECONDS = 1.0
"""Executions finished within this long of the first of a wave are handed back together."""

T = TypeVar("T")


def run_in_waves(
    items: list[T],
    run: Callable[[T], None],
    pool: ThreadPoolExecutor | None,
    *,
    threads: int,
    wave_seconds: float = WAVE_SECONDS,
) -> Generator[list[T], None, None]:
    """Call ``run`` on every item (``threads`` at a time on ``pool``), yielding finished ones.

    Without a pool (or with one item) the items run in this thread, in order. Closing the
    generator early (``close()``, or an error in the caller's loop with ``closing``)
    starts no further items and waits for the ones already running.
    """
    if pool is None or len(items) < 2 or threads < 2:
        yield from _inline(items, run, wave_seconds)
        return
    pending = deque(items)
    finished: queue.SimpleQueue[T] = queue.SimpleQueue()
    all_done = threading.Event()
    count = min(threads, len(items))
    running = [count]
    lock = threading.Lock()

    def take_until_done() -> None:
        # each thread takes the next item until none is left: one future per thread, not
        # per item, keeps the hand-overs between threads few
        try:
            while True:
                try:
                    item = pending.popleft()
                except IndexError:
                    return
                run(item)
                finished.put(item)
        finally:
            with lock:
                running[0] -= 1
                if not running[0]:
                    all_done.set()

    futures = [pool.submit(take_until_done) for _ in range(count)]
    try:
        # this thread wakes once a wave (or when all is done), not once an item: every
        # wake-up would take the interpreter lock from the threads doing the work
        while True:
            over = all_done.wait(wave_seconds)
            wave = _take_all(finished)
            if wave:
                yield wave
            if over:
                break
    finally:
        pending.clear()  # nothing more starts; what runs finishes
        concurrent.futures.wait(futures)
    for future in futures:
        future.result()  # a failure of the loop itself (not of an item) surfaces here


def _take_all(finished: queue.SimpleQueue[T]) -> list[T]:
    taken: list[T] = []
    while True:
        try:
            taken.append(finished.get_nowait())
        except queue.Empty:
            return taken


def _inline(
    items: list[T], run: Callable[[T], None], wave_seconds: float
) -> Generator[list[T], None, None]:
    wave: list[T] = []
    due = 0.0
    for item in items:
        run(item)
        if not wave:
            due = time.monotonic() + wave_seconds
        wave.append(item)
        if time.monotonic() >= due:
            yield wave
            wave = []
    if wave:
        yield wave
