"""``Task.payload``: the input payload as a dict with stactask 0.7's accessors.

stactask 0.7 moved a task's view of its input onto ``self.payload`` (a dict subclass with
properties), so tasks written to that API read::

    definition = self.payload.process_definition
    for item in self.payload.items_as_dicts:
        ...
    options = self.payload.get_collection_upload_options(item["collection"])

Every accessor reads the live dict, so a task that edits ``self.payload`` (or the older
``self._payload``) sees its own changes. :meth:`TaskPayload.validate` runs cirrus's payload
checks, which name the offending field.
"""

from __future__ import annotations

import warnings
from typing import Any

from cirrus.payload import Payload

__all__ = ["TaskPayload"]


class TaskPayload(dict[str, Any]):
    """A task's input payload: a plain dict plus stactask 0.7's accessors."""

    def validate(self) -> None:
        """Check the payload as cirrus does, except that a ``workflow`` is not required.

        Raises:
            PayloadError: naming the field and what is expected.
        """
        Payload.from_dict(self, copy_data=False, require_workflow=False)

    @property
    def process_definition(self) -> dict[str, Any]:
        """The current process definition (``process[0]``; ``{}`` when there is none)."""
        process = self.get("process", [])
        if type(process) is list:  # the usual case, first: every accessor comes through here
            return process[0] if process else {}
        if isinstance(process, dict):
            warnings.warn(
                "'process' as a single object is deprecated: wrap it in a list",
                DeprecationWarning,
                stacklevel=2,
            )
            return process
        if not process:
            return {}
        first: dict[str, Any] = process[0]
        return first

    @property
    def workflow_options(self) -> dict[str, Any]:
        """Options given to every task of the workflow."""
        options: dict[str, Any] = self.process_definition.get("workflow_options") or {}
        return options

    @property
    def task_options_dict(self) -> dict[str, dict[str, Any]]:
        """Per-task options keyed by task name (the legacy list form converted, with a warning)."""
        tasks = self.process_definition.get("tasks") or {}
        if isinstance(tasks, list):
            warnings.warn(
                "'tasks' as a list is deprecated: use an object keyed by task name",
                DeprecationWarning,
                stacklevel=2,
            )
            return {entry["name"]: dict(entry.get("parameters") or {}) for entry in tasks}
        options: dict[str, dict[str, Any]] = tasks
        return options

    @property
    def upload_options(self) -> dict[str, Any]:
        """The process definition's global ``upload_options``."""
        options: dict[str, Any] = self.process_definition.get("upload_options") or {}
        return options

    @property
    def collection_mapping(self) -> dict[str, str]:
        """Legacy ``upload_options.collections``: collection name -> JSONPath expression."""
        mapping: dict[str, str] = self.upload_options.get("collections") or {}
        return mapping

    @property
    def collection_matchers(self) -> list[dict[str, Any]]:
        """Rules assigning output collections, first match wins."""
        matchers: list[dict[str, Any]] = self.process_definition.get("collection_matchers") or []
        return matchers

    @property
    def collection_options(self) -> dict[str, dict[str, Any]]:
        """Per-collection options (``collection_options``)."""
        options: dict[str, dict[str, Any]] = self.process_definition.get("collection_options") or {}
        return options

    @property
    def items_as_dicts(self) -> list[dict[str, Any]]:
        """The payload's items as dicts (the live list)."""
        features: list[dict[str, Any]] = self.get("features", [])
        return features

    def get_collection_options(self, collection_name: str) -> dict[str, Any]:
        """The ``collection_options`` entry of one collection (``{}`` when it has none)."""
        return self.collection_options.get(collection_name) or {}

    def get_collection_upload_options(self, collection_name: str | None) -> dict[str, Any]:
        """Upload options for one collection's items.

        The collection's own ``upload_options`` are laid over the global ones key by key
        (stactask replaces the global ones whole; overlaying keeps a global
        ``path_template`` when a collection only changes ``headers``).
        """
        options = {key: value for key, value in self.upload_options.items() if key != "collections"}
        if collection_name is not None:
            specific = self.get_collection_options(collection_name).get("upload_options")
            options.update(specific or {})
        return options
