"""State records in upstream Cirrus's shape, for ``cirrus mgmt <deployment> get-state``.

Upstream's management command prints a record as its state database item reads
(``StateDB.dbitem_to_item`` and the DynamoDB attributes): ``items`` for the item ids,
``state_updated`` as ``<STATE>_<time>``, and where the last execution's input and output
payloads are. ``cirrus get-state`` keeps the richer shape of
:meth:`~cirrus.state.StateRecord.to_dict`.
"""

from __future__ import annotations

from typing import Any

from cirrus.runtime.jobs import execution_key
from cirrus.state import State, StateRecord
from cirrus.state.models import format_time
from cirrus.storage import join_url

__all__ = ["upstream_state_item"]


def upstream_state_item(record: StateRecord, payload_root: str) -> dict[str, Any]:
    """``record`` as upstream Cirrus's ``get-state`` prints it.

    Args:
        record: the state record.
        payload_root: the URL payloads are stored under, for the payload URLs.
    """
    updated = format_time(record.updated)
    last = record.executions[-1] if record.executions else None

    def url(name: str) -> str:
        assert last is not None
        return join_url(payload_root, execution_key(record.payload_id, last, name))

    item: dict[str, Any] = {
        "payload_id": record.payload_id,
        "collections": record.collections,
        "workflow": record.workflow,
        "items": record.itemids,
        "state": record.state.value,
        "created": format_time(record.created),
        "updated": updated,
        "state_updated": f"{record.state.value}_{updated}",
        "input_payload_url": url("input.json") if last else None,
        "output_payload_url": (
            record.output_url or url("output.json")
            if last and record.state is State.SUCCEEDED
            else None
        ),
        "executions": list(record.executions),
    }
    if record.output_url:
        item["outputs"] = [record.output_url]
    if record.last_error is not None:
        item["last_error"] = record.last_error
    if record.claimed_at is not None:
        item["claimed_at"] = format_time(record.claimed_at)
    return item
