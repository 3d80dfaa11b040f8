"""How cirrus state sits in upstream Cirrus's DynamoDB table: keys, items, schema.

The table is upstream Cirrus 2.0's, unchanged::

    hash  collections_workflow (S)  "<collections>_<workflow>"
    range itemids (S)               "<item ids>"
    GSI state_updated               hash collections_workflow, range "<STATE>_<time>"
    GSI updated                     hash collections_workflow, range "<time>"

A state item carries upstream's attributes (``state_updated``, ``created``,
``updated``, ``claimed_at``, ``executions``, ``last_error``; ``outputs`` is
upstream's and never touched) plus cirrus's own: ``claim_owner``,
``lease_expires``, ``previous_state``, ``output_url``, ``started`` and ``duration``.
Times are written the way upstream writes them (``2024-05-01T12:00:00.000000+00:00``)
and read in any
ISO form.

cirrus's bookkeeping (the event log, its id counter, the list of partitions)
lives in the same table under hash keys starting ``cirrus#``. Those items have
neither ``state_updated`` nor ``updated``, so they never appear in the two
indexes upstream queries, and no payload id can produce such a key (see
:func:`check_payload_id`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cirrus.errors import PayloadError, StateError
from cirrus.state.models import (
    ACTIVE_STATES,
    EventType,
    State,
    StateRecord,
    WorkflowEvent,
    parse_time,
    split_payload_id,
)

__all__ = [
    "EVENT_COUNTER",
    "EVENT_LOG",
    "HASH_KEY",
    "HELD_BY_EXECUTION",
    "MANAGED",
    "PARTITIONS",
    "RANGE_KEY",
    "RESERVED",
    "STATE_INDEX",
    "UPDATED_INDEX",
    "Expr",
    "Item",
    "check_payload_id",
    "event_from_item",
    "event_id_key",
    "event_item",
    "item_key",
    "payload_events",
    "payload_id_of",
    "record_from_item",
    "record_item",
    "second_of",
    "table_definition",
    "time_text",
]

HASH_KEY = "collections_workflow"
RANGE_KEY = "itemids"
STATE_INDEX = "state_updated"
UPDATED_INDEX = "updated"

Item = dict[str, Any]
"""One DynamoDB item in the low-level form (``{"name": {"S": "text"}}``)."""

RESERVED = "cirrus#"
"""Hash key prefix of cirrus's bookkeeping items."""
EVENT_LOG = "cirrus#events"
"""Hash key of the workflow event log; the range key is the zero-padded event id."""
EVENT_COUNTER = {HASH_KEY: {"S": "cirrus#counters"}, RANGE_KEY: {"S": "event_id"}}
"""Key of the item whose ``last_id`` numbers the events."""
PARTITIONS = "cirrus#partitions"
"""Hash key of the list of ``collections_workflow`` values; range key: the value."""

HELD_BY_EXECUTION = datetime.max.replace(tzinfo=UTC)
"""The lease of a CLAIMED/PROCESSING item written without one (by upstream Cirrus).

Such a payload is held by its Step Functions execution until update-state
finishes it: it is never resumed, whatever the time.
"""

_LEGACY_STATES = {"COMPLETED": State.SUCCEEDED}  # Cirrus 1.x wrote COMPLETED
_ID_WIDTH = 20


def table_definition(table: str) -> dict[str, Any]:
    """``CreateTable`` arguments for upstream Cirrus's state table layout."""

    def index(name: str) -> dict[str, Any]:
        return {
            "IndexName": name,
            "KeySchema": [
                {"AttributeName": HASH_KEY, "KeyType": "HASH"},
                {"AttributeName": name, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }

    return {
        "TableName": table,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"}
            for name in (HASH_KEY, RANGE_KEY, STATE_INDEX, UPDATED_INDEX)
        ],
        "KeySchema": [
            {"AttributeName": HASH_KEY, "KeyType": "HASH"},
            {"AttributeName": RANGE_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [index(STATE_INDEX), index(UPDATED_INDEX)],
    }


# ---------------------------------------------------------------- keys


MAX_SORT_KEY_BYTES = 1024
"""DynamoDB's limit on a sort key (here the joined item ids)."""
MAX_PARTITION_KEY_BYTES = 2048
"""DynamoDB's limit on a partition key (here ``<collections>_<workflow>``)."""


def check_payload_id(payload_id: str) -> None:
    """Raise unless ``payload_id`` maps to a state item key and back.

    Raises:
        PayloadError: the id is malformed, longer than a DynamoDB key holds, its
            workflow name has ``_`` (upstream splits ``collections_workflow`` on its last
            ``_``), or its collections start with the reserved ``cirrus#``.
    """
    collections, workflow, itemids = split_payload_id(payload_id)
    sort_key_bytes = len(itemids.encode("utf-8"))
    if sort_key_bytes > MAX_SORT_KEY_BYTES:
        raise PayloadError(
            "$.features",
            f"give a payload id whose item part is {sort_key_bytes:,} bytes, more "
            f"than the {MAX_SORT_KEY_BYTES:,} a DynamoDB sort key holds (the item ids, joined)",
            "split the payload into payloads of fewer items",
        )
    partition_key_bytes = len(f"{collections}_{workflow}".encode())
    if partition_key_bytes > MAX_PARTITION_KEY_BYTES:
        raise PayloadError(
            "$.process[0].input_collections",
            f"give a key <collections>_<workflow> of {partition_key_bytes:,} bytes, "
            f"more than the {MAX_PARTITION_KEY_BYTES:,} a DynamoDB partition key holds",
            "name fewer or shorter collections (input_collections)",
        )
    if "_" in workflow:
        raise PayloadError(
            "$.process[0].workflow",
            f"{workflow!r} has '_', which the DynamoDB state table cannot store",
            "rename the workflow without '_' (upstream Cirrus splits the key "
            "<collections>_<workflow> on its last '_')",
        )
    if collections.startswith(RESERVED):
        raise PayloadError(
            "$.process[0].input_collections",
            f"{collections!r} starts with {RESERVED!r}, reserved for cirrus's own items",
            "use other collection names",
        )


def item_key(payload_id: str) -> Item:
    """The table key of a payload's state item."""
    collections, workflow, itemids = split_payload_id(payload_id)
    return {HASH_KEY: {"S": f"{collections}_{workflow}"}, RANGE_KEY: {"S": itemids}}


def payload_id_of(collections_workflow: str, itemids: str) -> str:
    """The payload id of a state item key (the inverse of :func:`item_key`)."""
    collections, _, workflow = collections_workflow.rpartition("_")
    return f"{collections}/workflow-{workflow}/{itemids}"


def payload_events(payload_id: str) -> str:
    """Hash key of the copy of one payload's events."""
    return f"{EVENT_LOG}#{payload_id}"


def event_id_key(event_id: int) -> str:
    """Range key of an event: zero-padded, so text order is id order."""
    return f"{max(event_id, 0):0{_ID_WIDTH}d}"


# ---------------------------------------------------------------- values


def time_text(value: datetime) -> str:
    """A time as upstream writes it: ISO UTC with microseconds and ``+00:00``."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def second_of(text: str) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` of ISO time text: sorts the same in every ISO form."""
    return text[:19]


def _plain(value: Mapping[str, Any]) -> Any:
    """A low-level attribute value as Python (strings, ints, lists, dicts)."""
    ((kind, data),) = value.items()
    if kind == "S":
        return data
    if kind == "N":
        return int(data) if data.lstrip("-").isdigit() else float(data)
    if kind == "L":
        return [_plain(element) for element in data]
    if kind == "SS":
        return list(data)
    if kind == "M":
        return {name: _plain(element) for name, element in data.items()}
    if kind == "NULL":
        return None
    return data  # BOOL, binary


def _text(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    if value is None:
        return None
    plain = _plain(value)
    return None if plain is None else str(plain)


def _state(text: str, item: Mapping[str, Any]) -> State:
    try:
        return _LEGACY_STATES.get(text) or State(text)
    except ValueError:
        raise StateError(
            f"state item {_describe(item)} has state {text!r}, which cirrus does not know: "
            "fix or delete the item"
        ) from None


def _describe(item: Mapping[str, Any]) -> str:
    return f"({_text(item, HASH_KEY)!r}, {_text(item, RANGE_KEY)!r})"


def _opt_time(item: Mapping[str, Any], name: str) -> datetime | None:
    text = _text(item, name)
    if text is None:
        return None
    try:
        return parse_time(text)
    except ValueError:
        raise StateError(
            f"state item {_describe(item)} has {name} {text!r}, not an ISO time: fix the item"
        ) from None


def record_from_item(item: Mapping[str, Any], payload_id: str | None = None) -> StateRecord:
    """Read a state item, written by cirrus or by upstream Cirrus.

    Args:
        item: the item in the low-level form.
        payload_id: the id the item was read for (else derived from its key).

    Raises:
        StateError: the item lacks ``state_updated`` or holds a value cirrus cannot read.
    """
    state_updated = _text(item, STATE_INDEX)
    if state_updated is None:
        raise StateError(f"item {_describe(item)} has no state_updated: it is not a state item")
    state_text, _, stamp = state_updated.partition("_")
    state = _state(state_text, item)
    updated = _opt_time(item, UPDATED_INDEX) or parse_time(stamp)
    lease = _opt_time(item, "lease_expires")
    if lease is None and state in ACTIVE_STATES:
        lease = HELD_BY_EXECUTION
    previous = _text(item, "previous_state")
    executions = _plain(item["executions"]) if "executions" in item else []
    if payload_id is None:
        payload_id = payload_id_of(str(_text(item, HASH_KEY)), str(_text(item, RANGE_KEY)))
    return StateRecord(
        payload_id=payload_id,
        state=state,
        created=_opt_time(item, "created") or updated,
        updated=updated,
        executions=tuple(str(execution) for execution in executions or ()),
        last_error=_text(item, "last_error"),
        output_url=_text(item, "output_url"),
        claimed_at=_opt_time(item, "claimed_at"),
        claim_owner=_text(item, "claim_owner"),
        lease_expires=lease,
        previous_state=None if previous is None else _state(previous, item),
        started=_opt_time(item, "started"),
        duration=_opt_number(item, "duration"),
    )


def _opt_number(item: Mapping[str, Any], name: str) -> float | None:
    value = item.get(name)
    if value is None:
        return None
    try:
        return float(_plain(value))
    except (TypeError, ValueError):
        raise StateError(
            f"state item {_describe(item)} has {name} {value!r}, not a number: fix the item"
        ) from None


def record_item(record: StateRecord) -> Item:
    """Every attribute cirrus manages, as stored (``None`` values are left out)."""
    item: Item = {
        **item_key(record.payload_id),
        STATE_INDEX: {"S": f"{record.state.value}_{time_text(record.updated)}"},
        UPDATED_INDEX: {"S": time_text(record.updated)},
        "created": {"S": time_text(record.created)},
        "executions": {"L": [{"S": execution} for execution in record.executions]},
    }
    optional = {
        "claimed_at": None if record.claimed_at is None else time_text(record.claimed_at),
        "claim_owner": record.claim_owner,
        "lease_expires": (
            None
            if record.lease_expires in (None, HELD_BY_EXECUTION)
            else time_text(record.lease_expires)
        ),
        "previous_state": None if record.previous_state is None else record.previous_state.value,
        "last_error": record.last_error,
        "output_url": record.output_url,
        "started": None if record.started is None else time_text(record.started),
    }
    item.update({name: {"S": value} for name, value in optional.items() if value is not None})
    if record.duration is not None:
        item["duration"] = {"N": repr(round(record.duration, 6))}
    return item


MANAGED = (
    STATE_INDEX,
    UPDATED_INDEX,
    "created",
    "executions",
    "claimed_at",
    "claim_owner",
    "lease_expires",
    "previous_state",
    "last_error",
    "output_url",
    "started",
    "duration",
)
"""The attributes a state write sets or removes; any other attribute is kept."""


def event_item(event: WorkflowEvent, hash_key: str) -> Item:
    """An event stored under ``hash_key`` (the log, or one payload's copy)."""
    item: Item = {
        HASH_KEY: {"S": hash_key},
        RANGE_KEY: {"S": event_id_key(event.id)},
        "id": {"N": str(event.id)},
        "payload_id": {"S": event.payload_id},
        "event_type": {"S": event.event_type.value},
        "time": {"S": time_text(event.time)},
    }
    optional = {
        "execution": event.execution,
        "error": event.error,
        "input_url": event.input_url,
        "output_url": event.output_url,
    }
    item.update({name: {"S": value} for name, value in optional.items() if value is not None})
    return item


def event_from_item(item: Mapping[str, Any]) -> WorkflowEvent:
    """Read an event item."""
    return WorkflowEvent(
        id=int(_plain(item["id"])),
        payload_id=str(_text(item, "payload_id")),
        event_type=EventType(str(_text(item, "event_type"))),
        time=parse_time(str(_text(item, "time"))),
        execution=_text(item, "execution"),
        error=_text(item, "error"),
        input_url=_text(item, "input_url"),
        output_url=_text(item, "output_url"),
    )


# ---------------------------------------------------------------- expressions


class Expr:
    """Placeholders for one request's expressions: ``#name`` and ``:v<n>``.

    DynamoDB refuses placeholders a request does not use, so they are made on demand.
    """

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def n(self, attribute: str) -> str:
        """The placeholder of an attribute name (avoids DynamoDB's reserved words)."""
        placeholder = "#" + attribute
        self.names[placeholder] = attribute
        return placeholder

    def v(self, text: str) -> str:
        """The placeholder of a string value."""
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = {"S": text}
        return placeholder

    def raw(self, value: dict[str, Any]) -> str:
        """The placeholder of a value already in the low-level form."""
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = value
        return placeholder

    def params(self) -> dict[str, Any]:
        """``ExpressionAttributeNames``/``Values`` for the request (empty ones left out)."""
        params: dict[str, Any] = {}
        if self.names:
            params["ExpressionAttributeNames"] = self.names
        if self.values:
            params["ExpressionAttributeValues"] = self.values
        return params
