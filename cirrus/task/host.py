"""A task's own process: ``python -m cirrus.task.host SPEC`` runs calls of one task.

The process that starts it (:mod:`cirrus.task.isolation`) talks to it through three pipes:

- stdin: one JSON request per line, ``{"event", "options", "level"}``;
- stdout: one JSON line when the task is loaded (``{"ready": true}`` or an error), then one
  reply per request, ``{"output": ...}`` or ``{"error", "cause"}``;
- stderr: the task's log: a record per line (:data:`RECORD` then JSON ``[level, text,
  time]``), anything else written to stdout or stderr as it comes, and :data:`END` when a
  call's lines are all out.

File descriptor 1 is moved to stderr, so whatever the task (or a library, or a child
process of it) prints becomes log lines and never mixes with the replies. Everything a task
raises — ``SystemExit`` and ``KeyboardInterrupt`` included — is a failed call; only the
process dying ends the host. Ctrl-C on the terminal is ignored: the pipeline decides.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import signal
import sys
from typing import IO, Any

__all__ = ["END", "READY", "RECORD", "main"]

RECORD = "\x1e"
"""Starts a log record line on stderr."""
END = "\x1d"
"""Ends the lines of one call on stderr."""
READY = "ready"

_logger = logging.getLogger("cirrus.task")


class _RecordHandler(logging.Handler):
    def __init__(self, stream: IO[str]) -> None:
        super().__init__(logging.NOTSET)
        self.stream = stream
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # noqa: BLE001 - a bad format string must not fail the task
            text = f"{record.msg!r} {record.args!r}"
        line = json.dumps([record.levelname, text, record.created])
        self.stream.write(f"{RECORD}{line}\n")
        self.stream.flush()


def _reply(stream: IO[str], value: dict[str, Any]) -> None:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError) as err:
        text = json.dumps({"error": type(err).__name__, "cause": f"output is not JSON: {err}"})
    stream.write(text + "\n")
    stream.flush()


def main(spec: str) -> None:
    """Load the task ``spec`` names and run the calls read from stdin until it closes."""
    from cirrus.task.children import die_with_parent

    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = io.TextIOWrapper(io.FileIO(os.dup(1), "w"), encoding="utf-8")
    os.dup2(2, 1)
    log = sys.stderr
    root = logging.getLogger()
    root.handlers[:] = [_RecordHandler(log)]
    logging.captureWarnings(True)

    from cirrus.task.invoke import describe_error, describe_exit, invoke_task

    task_class: Any = None
    try:
        from cirrus.task.registry import resolve_task

        task_class = resolve_task(spec)
    except BaseException as err:
        name, cause = describe_error(err)
        _logger.error("%s: %s", name, cause, exc_info=err)
        _flush(log)
        _reply(replies, {READY: False, "error": name, "cause": cause})
        return
    _flush(log)
    _reply(replies, {READY: True})
    for line in sys.stdin:
        request = json.loads(line)
        root.setLevel(request.get("level", logging.INFO))
        try:
            output = invoke_task(task_class, request["event"], **request.get("options", {}))
            reply: dict[str, Any] = {"output": output}
        except BaseException as err:
            if isinstance(err, SystemExit | KeyboardInterrupt):
                name, cause = describe_exit(err)
            else:
                name, cause = describe_error(err)
            _logger.error("%s: %s", name, cause, exc_info=err)
            reply = {"error": name, "cause": cause}
        _flush(log)
        log.write(END + "\n")
        log.flush()
        _reply(replies, reply)


def _flush(log: IO[str]) -> None:
    for stream in (sys.stdout, sys.stderr, log):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()


if __name__ == "__main__":
    main(sys.argv[1])
