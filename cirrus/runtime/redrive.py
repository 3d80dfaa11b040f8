"""``cirrus redrive PAYLOAD_ID``: run a failed payload's execution again from where it failed.

As AWS's ``RedriveExecution`` does for a Step Functions execution: the payload's last
execution starts again from the top-level state that failed, with the input that state had
and the variables as they were, and the states that succeeded are not run again (their
expensive tasks are not recomputed). The payload goes through the queue and the usual claim
rules; the worker that claims it finds the redrive request beside the execution's redrive
point (see :mod:`cirrus.runtime.snapshots`)::

    request = request_redrive(pipeline, "test/workflow-three/a1")
    pipeline.drain()
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cirrus.errors import ConfigError, NotFound, StateError
from cirrus.state import State

if TYPE_CHECKING:
    from cirrus.runtime.pipeline import Pipeline

__all__ = ["RedriveRequest", "request_redrive"]

REDRIVABLE = frozenset({State.FAILED, State.ABORTED})
"""What a record must be to be redriven (AWS: failed, timed out or aborted)."""


@dataclass(frozen=True)
class RedriveRequest:
    """A redrive that was asked for and queued.

    Attributes:
        payload_id: the payload.
        execution: its execution that runs again.
        state: the state it starts again from.
        redrive_count: how many times it will have been redriven.
    """

    payload_id: str
    execution: str
    state: str
    redrive_count: int

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {
            "payload_id": self.payload_id,
            "execution": self.execution,
            "redrive_from": self.state,
            "redrive_count": self.redrive_count,
            "queued": True,
        }


def request_redrive(pipeline: Pipeline, payload_id: str) -> RedriveRequest:
    """Ask for ``payload_id``'s last execution to be redriven, and queue the payload.

    Raises:
        NotFound: no record, or no execution, for that payload.
        StateError: the record is not FAILED or ABORTED, or its execution kept no redrive
            point (it failed before redrive points were kept, or the state database is
            not a SQLite file).
    """
    from cirrus.runtime.jobs import execution_key
    from cirrus.state.task_tokens import open_task_tokens
    from cirrus.storage import join_url, read_json

    record = pipeline.db.get(payload_id)
    if record is None:
        raise NotFound(
            f"no state record for payload {payload_id!r}; check the id with cirrus query"
        )
    if record.state not in REDRIVABLE:
        raise StateError(
            f"payload {payload_id!r} is {record.state.value} and cannot be redriven: only "
            "FAILED and ABORTED payloads can (rerun others with cirrus get-input-payload "
            "--rerun)"
        )
    if not record.executions:
        raise NotFound(f"payload {payload_id!r} has no execution to redrive")
    execution = record.executions[-1]
    store = open_task_tokens(pipeline.settings.state_db)
    if store is None:
        raise ConfigError(
            "redrive needs a SQLite state database (state_db in cirrus.yml), where failed "
            "executions keep their redrive points"
        )
    found = store.redrive_point(execution)
    if found is None or not store.request_redrive(execution):
        raise StateError(
            f"execution {execution!r} of {payload_id!r} kept no redrive point; rerun it "
            "from the start instead (cirrus get-input-payload --rerun PAYLOAD_ID | cirrus "
            "process -)"
        )
    point = found[0]
    key = execution_key(payload_id, execution, "input.json")
    payload = read_json(join_url(pipeline.settings.payload_root, key))
    pipeline.submit([payload])
    return RedriveRequest(
        payload_id, execution, str(point["state"]), int(point.get("redrive_count", 0)) + 1
    )
