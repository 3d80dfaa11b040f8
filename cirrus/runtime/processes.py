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
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

from cirrus.runtime.outcomes import Outcome, PayloadResult
from cirrus.runtime.settings import RuntimeSettings
from cirrus.runtime.worker import Worker

if TYPE_CHECKING:
    from cirrus.project import Project

__all__ = ["run_in_processes"]


def run_in_processes(
    settings: RuntimeSettings,
    project: Project | None,
    worker: Worker,
    on_result: Callable[[PayloadResult], None] | None = None,
    more_coming: Callable[[], bool] | None = None,
) -> Counter[Outcome]:
    """Drain the queue with ``settings.processes`` processes, this one included.

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
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "cirrus.runtime.processes", encoded, root, marker],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(max(0, settings.processes - 1))
    ]
    counts: Counter[Outcome] = Counter()
    lock = threading.Lock()

    def record(result: PayloadResult, *, count: bool) -> None:
        with lock:
            if count:
                counts[result.outcome] += 1
            if on_result is not None:
                on_result(result)

    def relay(stream: IO[str]) -> None:
        for line in stream:
            payload_id, outcome, error = json.loads(line)
            record(PayloadResult(payload_id, Outcome(outcome), error), count=True)

    relays = [threading.Thread(target=relay, args=(child.stdout,)) for child in children]
    for thread in relays:
        thread.start()
    worker.on_result = lambda result: record(result, count=False)
    try:
        own = worker.run(until_empty=True, more_coming=more_coming)
    finally:
        if marker:
            Path(marker).unlink(missing_ok=True)
    for child in children:
        child.wait()
    for thread in relays:
        thread.join()
    return counts + own


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
    finally:
        worker.close()


if __name__ == "__main__":
    _main(*sys.argv[1:4])
