"""The state database: one record per payload id, atomic claims and an event log.

Open a backend by URL and use it as a context manager::

    from cirrus.state import State, open_state_db

    with open_state_db("sqlite:///project/.cirrus/state.db") as db:
        result = db.claim(payload_id, owner="worker-1", lease_seconds=300)
        if result.claimed:
            db.start(payload_id, "exec-1", owner="worker-1", lease_seconds=300)
            db.finish(payload_id, State.SUCCEEDED, owner="worker-1", output_url=url)
        page = db.query(state=State.FAILED, since="7d", limit=100)

Backends: :class:`SQLiteStateDB` (the embedded default), :class:`MemoryStateDB`,
:class:`DynamoDBStateDB` (``dynamodb://<table>``, on upstream Cirrus's table), and
any :class:`StateDB` subclass named by URL scheme or ``module:Class``. The claim
rules live in :mod:`cirrus.state.rules`.
"""

from __future__ import annotations

import typing

from cirrus._lazy import lazy_exports as _lazy_exports
from cirrus.state.base import EventCount, QueryFilter, StateDB
from cirrus.state.executions import ExecutionTimes, execution_times
from cirrus.state.memory import MemoryStateDB
from cirrus.state.models import (
    ACTIVE_STATES,
    TERMINAL_STATES,
    ClaimOutcome,
    ClaimResult,
    EventType,
    FinishUpdate,
    NewEvent,
    QueryPage,
    State,
    StateRecord,
    WorkflowEvent,
    parse_since,
    split_payload_id,
)
from cirrus.state.resolve import open_state_db
from cirrus.state.sqlite import SQLiteStateDB
from cirrus.state.task_tokens import SQLiteTaskTokens, open_task_tokens

if typing.TYPE_CHECKING:
    from cirrus.state.dynamodb import DynamoDBStateDB

__all__ = [
    "ACTIVE_STATES",
    "TERMINAL_STATES",
    "ClaimOutcome",
    "ClaimResult",
    "DynamoDBStateDB",
    "EventCount",
    "EventType",
    "ExecutionTimes",
    "FinishUpdate",
    "MemoryStateDB",
    "NewEvent",
    "QueryFilter",
    "QueryPage",
    "SQLiteStateDB",
    "SQLiteTaskTokens",
    "State",
    "StateDB",
    "StateRecord",
    "WorkflowEvent",
    "execution_times",
    "open_state_db",
    "open_task_tokens",
    "parse_since",
    "split_payload_id",
]

# the DynamoDB backend is imported when first asked for: an embedded worker never needs
# it, and every process would pay for importing it at start-up
__getattr__, __dir__ = _lazy_exports(__name__, {"DynamoDBStateDB": "cirrus.state.dynamodb"})
