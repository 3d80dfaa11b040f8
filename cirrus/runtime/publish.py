"""Announcing published items: an NDJSON log by default, a webhook optionally.

Each output item becomes one announcement carrying the attributes subscribers filter on
(the same ones the SNS publish topic carries on AWS): collection, bbox corners, datetime,
start/end, cloud cover, and whether the item was created or updated.
"""

from __future__ import annotations

import fcntl
import json
import logging
import threading
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["Announcer", "item_attributes"]

logger = logging.getLogger(__name__)


def item_attributes(item: dict[str, Any]) -> dict[str, Any]:
    """Attributes a subscriber can filter on."""
    properties = item.get("properties") or {}
    attributes: dict[str, Any] = {"collection": item.get("collection")}
    bbox = item.get("bbox")
    if isinstance(bbox, list) and len(bbox) >= 4:
        half = len(bbox) // 2
        attributes.update(
            bbox_ll_lon=bbox[0],
            bbox_ll_lat=bbox[1],
            bbox_ur_lon=bbox[half],
            bbox_ur_lat=bbox[half + 1],
        )
    for key in ("datetime", "start_datetime", "end_datetime"):
        if properties.get(key):
            attributes[key] = properties[key]
    if "eo:cloud_cover" in properties:
        attributes["cloud_cover"] = properties["eo:cloud_cover"]
    created, updated = properties.get("created"), properties.get("updated")
    attributes["status"] = "created" if not updated or created == updated else "updated"
    return {key: value for key, value in attributes.items() if value is not None}


class Announcer:
    """Sends announcements for published items.

    Args:
        log_path: NDJSON file to append to; None or "" turns the log off.
        webhook: URL receiving each announcement by POST; None turns it off.
    """

    def __init__(self, log_path: str | None, webhook: str | None = None) -> None:
        self.log_path = Path(log_path) if log_path else None
        self.webhook = webhook
        self._lock = threading.Lock()

    def announce_many(self, batch: Sequence[tuple[str, Sequence[dict[str, Any]]]]) -> None:
        """Announce the items of several payloads with one append to the log.

        A failing webhook is logged, never raised.
        """
        messages = [
            {"payload_id": payload_id, "attributes": item_attributes(item), "item": item}
            for payload_id, items in batch
            for item in items
        ]
        if self.log_path is not None and messages:
            self._append(messages)
        if self.webhook:
            for message in messages:
                self._post(message)

    def _append(self, messages: list[dict[str, Any]]) -> None:
        assert self.log_path is not None
        text = "".join(json.dumps(message, separators=(",", ":")) + "\n" for message in messages)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.log_path.open("a") as log:
            # other processes append too: hold the file lock so lines never interleave
            fcntl.flock(log, fcntl.LOCK_EX)
            try:
                log.write(text)
            finally:
                fcntl.flock(log, fcntl.LOCK_UN)

    def _post(self, message: dict[str, Any]) -> None:
        assert self.webhook is not None
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's own setting
            self.webhook,
            data=json.dumps(message).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                response.read()
        except OSError as err:
            logger.warning(
                "webhook %s refused item %s: %s", self.webhook, message["item"].get("id"), err
            )
