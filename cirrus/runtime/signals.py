"""SIGTERM stops a worker the way Ctrl-C does: what finished is written out first.

Python's default for SIGTERM ends the process on the spot, throwing away executions that
finished but were not committed yet; while :func:`terminate_as_interrupt` is active, SIGTERM
raises :class:`Terminated` (a :class:`KeyboardInterrupt`) in the main thread instead, and
the worker's handling of Ctrl-C applies::

    with terminate_as_interrupt():
        worker.run()
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from cirrus.task.interrupts import raise_interrupt

__all__ = ["Terminated", "terminate_as_interrupt"]


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: the program stops as on Ctrl-C."""


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt for the duration.

    Only in the main thread (the only one that can set a handler), and only over the
    default handler: a program that handles SIGTERM itself keeps its own way.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise_interrupt(Terminated(f"stopped by signal {signal.Signals(signum).name}"))
