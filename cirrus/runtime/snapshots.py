"""Snapshots of executions that outlive their run: waiting ones, and failed ones to redrive.

- **Waiting.** When a workflow's top-level ``.waitForTaskToken`` Task state starts
  waiting, the engine hands over a snapshot of the execution, kept until the execution
  ends. A worker that dies meanwhile leaves it behind: the next worker to claim the payload
  resumes that execution where it waited (same name, same token) instead of running it
  again.
- **Failed.** An execution that did not succeed keeps its redrive point (the state that
  failed, its input, the variables, the history). ``cirrus redrive PAYLOAD_ID`` marks it
  requested and queues the payload; the worker that claims it runs the same execution again
  from that state (AWS's ``RedriveExecution``), so the states that succeeded are not
  recomputed.

Both live in the state database's file (:mod:`cirrus.state.task_tokens`); with another
state backend there are none (a dead worker's execution runs again; redrive is refused).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from cirrus.state.task_tokens import SQLiteTaskTokens, open_task_tokens

__all__ = ["ExecutionSnapshots"]


class ExecutionSnapshots:
    """The kept snapshots and redrive points, and the token store executions wait on.

    Args:
        state_db: the state database URL.
    """

    def __init__(self, state_db: str) -> None:
        self.store: SQLiteTaskTokens | None = open_task_tokens(state_db)
        self._kept: set[str] = set()  # executions with a snapshot to drop when they end
        self._redriving: set[str] = set()  # executions run again from a redrive point
        self._lock = threading.Lock()

    def resumable(self, execution: str) -> dict[str, Any] | None:
        """The snapshot ``execution`` left when it waited and never ended, or None."""
        if self.store is None:
            return None
        snapshot: dict[str, Any] | None = self.store.waiting(execution)
        if snapshot is not None:
            with self._lock:
                self._kept.add(execution)
        return snapshot

    def redrive(self, execution: str) -> dict[str, Any] | None:
        """The redrive point of ``execution`` when ``cirrus redrive`` asked for it, or None."""
        if self.store is None:
            return None
        found = self.store.redrive_point(execution)
        if found is None or not found[1]:
            return None
        point: dict[str, Any] = found[0]
        with self._lock:
            self._redriving.add(execution)
        return point

    def on_wait(self, payload_id: str, execution: str) -> Callable[[dict[str, Any]], None] | None:
        """What the engine calls when ``execution`` starts waiting (None: nothing kept)."""
        store = self.store
        if store is None:
            return None

        def keep(snapshot: dict[str, Any]) -> None:
            store.save_waiting(execution, payload_id, snapshot)
            with self._lock:
                self._kept.add(execution)

        return keep

    def ended(self, execution: str, payload_id: str, redrive_point: dict[str, Any] | None) -> None:
        """``execution`` ended: it will not be resumed; keep where a redrive would start
        (``redrive_point``, None when it succeeded)."""
        store = self.store
        if store is None:
            return
        with self._lock:
            waited = execution in self._kept
            redriven = execution in self._redriving
            self._kept.discard(execution)
            self._redriving.discard(execution)
        if waited:
            store.drop_waiting(execution)
        if redrive_point is not None:
            store.save_redrive_point(execution, payload_id, redrive_point)
        elif redriven:  # it succeeded this time: nothing left to redrive
            store.drop_redrive_point(execution)
