"""Running workers in several processes, so CPU-bound tasks use every core.

Threads (``workers``) overlap waiting; processes (``processes``) add cores. Each extra
process is ``python -m cirrus.runtime.processes`` running its own
:class:`~cirrus.runtime.worker.Worker` on the same queue and state database (the claims keep
them from ever running the same payload twice) and reporting each decision as one JSON line
on its stdout. Plain subprocesses, not multiprocessing, so that the caller's main module is
never imported again in the children.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cirrus.errors import CirrusError
from cirrus.runtime.outcomes import Outcome, PayloadResult
from cirrus.runtime.running_marks import take_over
from cirrus.runtime.settings import RuntimeSettings
from cirrus.runtime.signals import Terminated
from cirrus.runtime.worker import Worker

if TYPE_CHECKING:
    from cirrus.project import Project

__all__ = ["MAX_REPLACEMENTS", "run_in_processes"]

logger = logging.getLogger(__name__)


def run_in_processes(
    settings: RuntimeSettings,
    project: Project | None,
    worker: Worker,
    on_result: Callable[[PayloadResult], None] | None = None,
    more_coming: Callable[[], bool] | None = None,
) -> Counter[Outcome]:
    """Drain the queue with ``settings.processes`` processes, this one included.

    A child that dies before its work is done (killed, crashed) is reaped at once, the
    messages it held are made visible again, and a new child takes its place (at most
    :data:`MAX_REPLACEMENTS` times in a run); the claims it held are taken over by whoever
    receives those messages (see :mod:`cirrus.runtime.owners`).

    Args:
        settings: the runtime settings every process uses.
        project: the project (its folder is handed to the other processes).
        worker: this process's worker.
        on_result: called here for every payload decided in any process.
        more_coming: while True, this process's worker waits on an empty queue (the
            others may leave early; this one sees the rest through).

    Returns:
        Outcome counts over all processes.
    """
    has_config = project is not None and project.config.source is not None
    root = str(project.root) if project is not None and has_config else ""
    encoded = json.dumps(dataclasses.asdict(settings))
    # while input is still coming, a file says so to the other processes
    marker = _submission_marker(more_coming) if more_coming is not None else ""
    counts: Counter[Outcome] = Counter()
    lock = threading.Lock()

    def record(result: PayloadResult, *, count: bool) -> None:
        with lock:
            if count:
                counts[result.outcome] += 1
            if on_result is not None:
                on_result(result)

    children = _Children(
        [sys.executable, "-m", "cirrus.runtime.processes", encoded, root, marker],
        worker,
        lambda result: record(result, count=True),
    )
    for _ in range(max(0, settings.processes - 1)):
        children.start()
    worker.on_result = lambda result: record(result, count=False)
    try:
        own = worker.run(until_empty=True, more_coming=more_coming)
    except Terminated:
        children.terminate()  # a SIGTERM to this process stops them too (Ctrl-C reaches all)
        raise
    finally:
        children.stopping.set()
        if marker:
            Path(marker).unlink(missing_ok=True)
    children.wait()
    return counts + own


MAX_REPLACEMENTS = 10
"""How many dead children one run replaces; past it the processes left finish the work."""


class _Children:
    """The worker processes a run started, each watched by a thread of its own.

    The thread relays the child's results; when the child's output ends, it reaps the
    child at once (no zombie left to look alive) and, if the child died before the run
    was over, frees what it held and starts another.
    """

    def __init__(
        self, command: list[str], worker: Worker, report: Callable[[PayloadResult], None]
    ) -> None:
        self.command = command
        self.worker = worker
        self.report = report
        self.stopping = threading.Event()
        self.replaced = 0
        self._lock = threading.Lock()
        self._running: list[subprocess.Popen[str]] = []
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        child = subprocess.Popen(self.command, stdout=subprocess.PIPE, text=True)
        thread = threading.Thread(target=self._watch, args=(child,), name="cirrus-child")
        with self._lock:
            self._running.append(child)
            self._threads.append(thread)
        thread.start()

    def terminate(self) -> None:
        with self._lock:
            running = list(self._running)
        for child in running:
            if child.poll() is None:
                child.terminate()

    def wait(self) -> None:
        """Wait for every child, replacements included."""
        while True:
            with self._lock:
                threads = [thread for thread in self._threads if thread.is_alive()]
            if not threads:
                return
            for thread in threads:
                thread.join()

    def _watch(self, child: subprocess.Popen[str]) -> None:
        assert child.stdout is not None
        for line in child.stdout:
            try:
                payload_id, outcome, error = json.loads(line)
            except ValueError:
                continue  # a line cut short by the child's death
            self.report(PayloadResult(payload_id, Outcome(outcome), error))
        code = child.wait()
        with self._lock:
            self._running.remove(child)
        if code == 0 or self.stopping.is_set():
            return
        # stopped on purpose (Ctrl-C, SIGTERM: it wrote out what finished), or died
        stopped = code in _STOPPED
        try:
            released = self._release(child.pid)
        except CirrusError as err:
            released = 0
            logger.warning("could not free the messages of worker process %d: %s", child.pid, err)
        with self._lock:
            replace = not stopped and self.replaced < MAX_REPLACEMENTS
            replace = replace and not self.stopping.is_set()
            self.replaced += replace
        logger.warning(
            "worker process %d %s holding %d message(s); %s",
            child.pid,
            "stopped" if stopped else f"died ({_how(code)})",
            released,
            "another takes its place" if replace else "the other processes take its work over",
        )
        if replace:
            self.start()

    def _release(self, pid: int) -> int:
        """Make the messages held by worker process ``pid`` visible again."""
        queue = self.worker.queue
        return sum(take_over(queue, owner) for owner in queue.receivers() if _pid_of(owner) == pid)


_STOPPED = frozenset({130, -signal.SIGINT, -signal.SIGTERM})
"""Exit codes of a worker process stopped on purpose: it is not replaced."""


def _how(code: int) -> str:
    if code > 0:
        return f"exit code {code}"
    try:
        return f"signal {signal.Signals(-code).name}"
    except ValueError:
        return f"signal {-code}"


def _pid_of(owner: str) -> int | None:
    parts = owner.rsplit(":", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def _submission_marker(more_coming: Callable[[], bool]) -> str:
    """A file that exists while ``more_coming()`` answers True; returns its path."""
    handle, path = tempfile.mkstemp(prefix="cirrus-submitting-")
    os.close(handle)

    def watch() -> None:
        while more_coming():
            time.sleep(0.05)
        Path(path).unlink(missing_ok=True)

    threading.Thread(target=watch, name="cirrus-submitting", daemon=True).start()
    return path


def _main(encoded: str, root: str, marker: str = "") -> None:
    from cirrus.project import Project, find_project
    from cirrus.task.machine_output import guard_stdout

    settings = RuntimeSettings(**json.loads(encoded))
    project = find_project(explicit=root) if root else Project.embedded()
    # the reports travel on stdout: nothing a task writes may land between them
    reports = guard_stdout()

    def report(result: PayloadResult) -> None:
        reports.write(json.dumps([result.payload_id, result.outcome, result.error]) + "\n")
        reports.flush()

    worker = Worker(settings, project, on_result=report)
    more_coming = (lambda: os.path.exists(marker)) if marker else None  # noqa: PTH110
    try:
        worker.run(until_empty=True, more_coming=more_coming)
    except KeyboardInterrupt:
        sys.exit(130)  # Ctrl-C or SIGTERM: what finished was written out; the parent reports
    finally:
        worker.close()


if __name__ == "__main__":
    _main(*sys.argv[1:4])
