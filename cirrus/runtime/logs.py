"""Reading the logs kept per execution (``executions/<payload id>/<execution>/log.txt``).

An execution's log is written with its outcome, beside its input and output, when its tasks
wrote anything; see :mod:`cirrus.task.tasklog` for what it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from cirrus.errors import NotFound
from cirrus.runtime.jobs import execution_key

if TYPE_CHECKING:
    from cirrus.state import StateDB, StateRecord

__all__ = ["LOG_FILE", "execution_log", "follow_log", "pick_execution"]

LOG_FILE = "log.txt"
_RUNNING = frozenset({"PROCESSING", "CLAIMED"})


def pick_execution(record: StateRecord, execution: str | None) -> str:
    """The execution to show: ``execution`` (checked), else the payload's last.

    Raises:
        NotFound: the payload has no execution, or none of that name.
    """
    if not record.executions:
        raise NotFound(f"payload {record.payload_id!r} has no execution yet")
    if execution is None:
        return record.executions[-1]
    if execution not in record.executions:
        known = ", ".join(record.executions)
        raise NotFound(
            f"payload {record.payload_id!r} has no execution {execution!r}; its executions: {known}"
        )
    return execution


def execution_log(payload_root: str, payload_id: str, execution: str) -> str | None:
    """The text of an execution's log, or None when none was kept (its tasks wrote nothing)."""
    from cirrus.storage import join_url, read_bytes

    url = join_url(payload_root, execution_key(payload_id, execution, LOG_FILE))
    try:
        return read_bytes(url).decode("utf-8", errors="replace")
    except NotFound:
        return None


def follow_log(
    db: StateDB,
    payload_root: str,
    payload_id: str,
    execution: str | None,
    *,
    wait: Callable[[float], object],
    interval: float = 1.0,
) -> Iterator[str]:
    """The log's text as it appears, until the execution has ended and its log is read.

    A running execution's log is written when it ends; this waits for that (and for the next
    execution, while the payload is queued again).
    """
    shown = 0
    while True:
        record = db.get(payload_id)
        if record is None:
            raise NotFound(f"no state record for payload {payload_id!r}")
        running = str(record.state) in _RUNNING
        name = pick_execution(record, execution) if record.executions else None
        text = execution_log(payload_root, payload_id, name) if name else None
        if text is not None and len(text) > shown:
            yield text[shown:]
            shown = len(text)
        if not running:
            return
        wait(interval)
