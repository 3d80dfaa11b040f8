"""What announcements say, whichever way they travel (NDJSON log, webhook, SNS).

:func:`item_attributes` is what a subscriber filters published items on, and
:func:`event_document` the JSON of a workflow event; both follow upstream Cirrus, so a
subscriber written for it reads ours::

    >>> item_attributes({"collection": "s2", "bbox": [1, 2, 3, 4], "properties": {
    ...     "datetime": "2024-01-01T00:00:00Z", "created": "t", "updated": "t"}})["status"]
    'created'
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cirrus.state import NewEvent

__all__ = ["event_document", "item_attributes", "sns_attributes"]

_WORKFLOW = re.compile(r".+/workflow-([^/]+)/.+", re.DOTALL)  # the payload id's workflow


def item_attributes(item: dict[str, Any]) -> dict[str, Any]:
    """Attributes a subscriber can filter on, as upstream Cirrus gives them (at most 10).

    ``collection``; the bbox corners ``bbox_ll_lon``, ``bbox_ll_lat``, ``bbox_ur_lon``,
    ``bbox_ur_lat``; ``datetime``; ``start_datetime`` and ``end_datetime`` (each falling
    back to ``datetime``); ``cloud_cover`` (``eo:cloud_cover``); and ``status``:
    ``created`` when the item's ``created`` and ``updated`` are equal, ``updated`` when
    they differ (left out unless both are set; the ``publish`` task sets both).

    Missing, empty and non-finite values are left out (SNS refuses them). The upper corner
    of a 3D bbox is ``bbox[3], bbox[4]`` (upstream takes ``bbox[2], bbox[3]``, the lower
    elevation and upper longitude, for a 3D bbox).
    """
    properties = item.get("properties") or {}
    attributes: dict[str, Any] = {"collection": item.get("collection")}
    bbox = item.get("bbox")
    if isinstance(bbox, list) and len(bbox) in (4, 6):
        half = len(bbox) // 2
        attributes.update(
            bbox_ll_lon=bbox[0],
            bbox_ll_lat=bbox[1],
            bbox_ur_lon=bbox[half],
            bbox_ur_lat=bbox[half + 1],
        )
    when = properties.get("datetime")
    attributes["datetime"] = when
    attributes["start_datetime"] = properties.get("start_datetime") or when
    attributes["end_datetime"] = properties.get("end_datetime") or when
    attributes["cloud_cover"] = properties.get("eo:cloud_cover")
    created, updated = properties.get("created"), properties.get("updated")
    if created and updated:
        attributes["status"] = "created" if created == updated else "updated"
    return {key: value for key, value in attributes.items() if _kept(key, value)}


_NUMBERS = frozenset({"bbox_ll_lon", "bbox_ll_lat", "bbox_ur_lon", "bbox_ur_lat", "cloud_cover"})


def sns_attributes(item: dict[str, Any]) -> dict[str, dict[str, str]]:
    """:func:`item_attributes` in SNS's own form, as upstream Cirrus sends them.

    ``{"bbox.ll_lon": {"DataType": "Number", "StringValue": "1.5"}, "collection":
    {"DataType": "String", "StringValue": "s2"}, ...}``: the corners are named with a dot,
    numbers are ``Number`` attributes written as text. Every announcement carries this form
    (the NDJSON log, the webhook and SNS), so one subscriber filter reads them all.
    """
    attributes: dict[str, dict[str, str]] = {}
    for key, value in item_attributes(item).items():
        kind = "Number" if key in _NUMBERS else "String"
        attributes[key.replace("bbox_", "bbox.")] = {"DataType": kind, "StringValue": str(value)}
    return attributes


def _kept(key: str, value: Any) -> bool:
    if key in _NUMBERS:
        return (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        )
    return isinstance(value, str) and value != ""


def event_document(event: NewEvent, base_workflow_arn: str = "") -> dict[str, str]:
    """A workflow event as upstream Cirrus announces it.

    ``event_type``, ``payload_id``, ``isotimestamp`` (ISO UTC with ``+00:00``) and, when
    set, ``input_payload_url``, ``output_payload_url``, ``error`` and ``execution``: the
    Step Functions console URL of the execution's ARN, as upstream gives it, or the
    execution's name when its ARN is not known. No other keys: upstream's reader takes
    exactly these.

    Args:
        event: the event.
        base_workflow_arn: ``arn:aws:states:<region>:<account>:stateMachine:<prefix>-``
            (``CIRRUS_BASE_WORKFLOW_ARN``): an execution named without its ARN gets one
            (``...:execution:<prefix>-<workflow>:<name>``). Empty: names stay names.
    """
    moment = event.time or datetime.now(UTC)
    document = {
        "event_type": event.event_type.value,
        "payload_id": event.payload_id,
        "isotimestamp": moment.astimezone(UTC).isoformat(),
    }
    optional = {
        "input_payload_url": event.input_url,
        "output_payload_url": event.output_url,
        "error": event.error,
        "execution": _execution(event, base_workflow_arn),
    }
    document.update({key: value for key, value in optional.items() if value})
    return document


def _execution(event: NewEvent, base_workflow_arn: str) -> str | None:
    """Upstream's ``execution``: the console URL of the execution's ARN, else its name."""
    execution = event.execution
    if execution and not execution.startswith("arn:") and ":stateMachine:" in base_workflow_arn:
        match = _WORKFLOW.fullmatch(event.payload_id)
        if match is not None:
            machine = base_workflow_arn.replace(":stateMachine:", ":execution:", 1)
            execution = f"{machine}{match.group(1)}:{execution}"
    if not execution or not execution.startswith("arn:"):
        return execution
    region = execution.split(":")[3]
    return (
        f"https://{region}.console.aws.amazon.com/states/"
        f"home?region={region}#/v2/executions/details/{execution}"
    )
