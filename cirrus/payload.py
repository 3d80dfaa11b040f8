"""The process payload: a STAC ItemCollection plus the ``process`` block that drives it.

A payload is the unit cirrus tracks. It is validated once on the way in, its id is
derived from its items and workflow, and the same model serves tasks and the runtime::

    >>> payload = Payload.from_dict({
    ...     "type": "FeatureCollection",
    ...     "features": [{"id": "S2B_17HQD_20201103_0_L2A", "collection": "sentinel-s2-l2a"}],
    ...     "process": [{"workflow": "cog-archive"}],
    ... })
    >>> payload.id
    'sentinel-s2-l2a/workflow-cog-archive/S2B_17HQD_20201103_0_L2A'

Validation errors are :class:`~cirrus.errors.PayloadError` and name the JSON path of the
offending field (``$.process[0].workflow``) and what is expected there.
"""

from __future__ import annotations

import copy
import json
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Any, NoReturn

from cirrus.errors import PayloadError

__all__ = [
    "PAYLOAD_ID_PATTERN",
    "Payload",
    "ProcessDefinition",
    "make_payload_id",
    "parse_payload_id",
    "select_features",
]

PAYLOAD_ID_PATTERN = re.compile(r"(.+)/workflow-([^/]+)/(.+)")

# upload option -> (accepted types, what to write in an error)
_UPLOAD_OPTION_TYPES: dict[str, tuple[type | tuple[type, ...], str]] = {
    "path_template": (str, "a string"),
    "headers": (dict, "an object of header names"),
    "public_assets": ((bool, list, str), 'true, false, "ALL" or a list of asset keys'),
    "s3_urls": (bool, "true or false"),
    "collections": (dict, "an object of name: JSONPath"),
}
_MATCHER_TYPES = ("jsonpath", "catch_all")


def _require_type(value: Any, expected: type | tuple[type, ...], field: str, what: str) -> None:
    if not isinstance(value, expected):
        raise PayloadError(field, f"must be {what}, not {type(value).__name__}")


class ProcessDefinition:
    """One element of a payload's ``process`` array: what to run and how to store results.

    Built by :meth:`from_dict`, which validates every field; the original dict is kept in
    :attr:`raw` so unknown, forward-compatible fields survive a round trip.

    Args:
        raw: the process definition exactly as given.
        path: JSON path of this definition inside its payload, used in error messages.
    """

    # a plain class rather than a dataclass: importing dataclasses costs a task's start-up
    __slots__ = ("path", "raw")

    def __init__(self, raw: dict[str, Any], path: str = "$.process[0]") -> None:
        self.raw = raw
        self.path = path

    def __repr__(self) -> str:
        return f"ProcessDefinition({self.raw!r}, {self.path!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProcessDefinition):
            return NotImplemented
        return self.raw == other.raw and self.path == other.path

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def from_dict(
        cls, data: Any, path: str = "$.process[0]", *, require_workflow: bool = True
    ) -> ProcessDefinition:
        """Validate a process definition.

        Args:
            data: the definition as parsed JSON.
            path: its JSON path, for messages.
            require_workflow: False accepts a definition without ``workflow`` (a task run on
                its own needs none, as in stactask); a given workflow is still checked.

        Raises:
            PayloadError: naming the field and what is expected.
        """
        # Every task of every payload validates its input, so this is a hot path: only the
        # fields present are checked, and field paths for messages are built on failure.
        if not isinstance(data, dict):
            _type_error(data, path, "an object with at least a 'workflow' field")
        workflow = data.get("workflow")
        if (not isinstance(workflow, str) or not workflow or "/" in workflow) and (
            require_workflow or workflow is not None
        ):
            _workflow_error(workflow, path)
        upload_options = data.get("upload_options")
        if upload_options is not None:
            _check_upload_options(upload_options, path, "upload_options")
        for key, value in data.items():
            check = _OPTION_CHECKS.get(key)
            if check is not None:
                check(value, path, key)
        if upload_options and upload_options.get("collections") and data.get("collection_matchers"):
            raise PayloadError(
                f"{path}.collection_matchers",
                "cannot be combined with the legacy upload_options.collections",
                "keep only collection_matchers",
            )
        return cls(data, path)

    @property
    def workflow(self) -> str:
        """Name of the workflow to run."""
        return str(self.raw["workflow"])

    @property
    def replace(self) -> bool:
        """Whether a finished payload (SUCCEEDED or INVALID) is run again."""
        return bool(self.raw.get("replace", False))

    @property
    def upload_options(self) -> dict[str, Any]:
        """Global upload options (``path_template``, ``public_assets``, ``headers``, ...)."""
        return dict(self.raw.get("upload_options") or {})

    @property
    def input_collections(self) -> list[str] | None:
        """Collections named explicitly for the payload id, if any."""
        value = self.raw.get("input_collections", self.raw.get("collections"))
        if value is None:
            return None
        return [value] if isinstance(value, str) else list(value)

    @property
    def workflow_options(self) -> dict[str, Any]:
        """Options merged under every task's parameters."""
        return dict(self.raw.get("workflow_options", {}))

    @property
    def collection_matchers(self) -> list[dict[str, Any]]:
        """Rules assigning output collections, first match wins."""
        return list(self.raw.get("collection_matchers", []))

    @property
    def chain_filter(self) -> str | None:
        """JSONPath filter selecting which output features go on to the next link."""
        value = self.raw.get("chain_filter")
        return value if isinstance(value, str) else None

    def task_options(self) -> dict[str, dict[str, Any]]:
        """Per-task parameters keyed by task name (legacy list form accepted, with a warning)."""
        tasks = self.raw.get("tasks", {})
        if isinstance(tasks, list):
            warnings.warn(
                "'tasks' as a list is deprecated: use an object keyed by task name",
                DeprecationWarning,
                stacklevel=2,
            )
            return {entry["name"]: dict(entry.get("parameters", {})) for entry in tasks}
        return {name: dict(value) for name, value in tasks.items()}

    def task_options_for(self, task_name: str) -> dict[str, Any]:
        """One task's own parameters (a copy; empty when the task has none)."""
        tasks = self.raw.get("tasks")
        if tasks is None:
            return {}
        if isinstance(tasks, dict):
            # every task call asks for its parameters: copy only its own entry
            return dict(tasks.get(task_name, {}))
        return self.task_options().get(task_name, {})  # the legacy list, with its warning

    def task_parameters(self, task_name: str) -> dict[str, Any]:
        """Parameters for one task: ``workflow_options`` overlaid by the task's own values."""
        return {**self.workflow_options, **self.task_options_for(task_name)}

    def upload_options_for(self, collection: str | None) -> dict[str, Any]:
        """Upload options for items of ``collection``: its own options win over the global ones."""
        options = self.upload_options
        options.pop("collections", None)
        if collection is not None:
            specific = self.raw.get("collection_options", {}).get(collection, {})
            options.update(specific.get("upload_options") or {})
        return options

    def to_dict(self) -> dict[str, Any]:
        """A deep copy of the definition as a plain dict."""
        return copy.deepcopy(self.raw)


def _type_error(value: Any, field: str, what: str) -> NoReturn:
    raise PayloadError(field, f"must be {what}, not {type(value).__name__}")


def _workflow_error(workflow: Any, path: str) -> NoReturn:
    field = f"{path}.workflow"
    if workflow is None:
        raise PayloadError(field, "is required", "name the workflow to run")
    if not isinstance(workflow, str):
        _type_error(workflow, field, "a string")
    raise PayloadError(field, f"is {workflow!r}", "use a non-empty name without '/'")


def _check_upload_options(options: Any, parent: str, key: str) -> None:
    if not isinstance(options, dict):
        _type_error(options, f"{parent}.{key}", "an object")
    for name, value in options.items():
        if value is None:
            continue
        expected = _UPLOAD_OPTION_TYPES.get(name)
        if expected is not None and not isinstance(value, expected[0]):
            _type_error(value, f"{parent}.{key}.{name}", expected[1])
        if name == "public_assets" and isinstance(value, str) and value != "ALL":
            # stactask's and Cirrus's spelling for "every asset"; no other string means anything
            raise PayloadError(
                f"{parent}.{key}.{name}",
                f'must be true, false, "ALL" or a list of asset keys, not {value!r}',
            )


def _check_matchers(matchers: Any, parent: str, key: str) -> None:
    path = f"{parent}.{key}"
    _require_type(matchers, list, path, "a list of matchers")
    for index, matcher in enumerate(matchers):
        field = f"{path}[{index}]"
        _require_type(matcher, dict, field, "an object")
        kind = matcher.get("type", "jsonpath")
        if kind not in _MATCHER_TYPES:
            raise PayloadError(
                f"{field}.type", f"is {kind!r}", f"use one of {', '.join(_MATCHER_TYPES)}"
            )
        if not isinstance(matcher.get("collection_name"), str):
            raise PayloadError(
                f"{field}.collection_name", "is required", "give the collection to assign"
            )
        if kind == "jsonpath" and not isinstance(matcher.get("pattern"), str):
            raise PayloadError(
                f"{field}.pattern", "is required", "give a JSONPath filter for the item"
            )


def _check_collection_options(options: Any, parent: str, key: str) -> None:
    path = f"{parent}.{key}"
    _require_type(options, dict, path, "an object keyed by collection")
    for name, value in options.items():
        field = f"{path}.{name}"
        _require_type(value, dict, field, "an object")
        uploads = value.get("upload_options")
        if uploads is not None:
            _check_upload_options(uploads, field, "upload_options")


def _check_tasks(tasks: Any, parent: str, key: str) -> None:
    if isinstance(tasks, dict):
        for name, value in tasks.items():
            if not isinstance(value, dict):
                _type_error(value, f"{parent}.{key}.{name}", "an object of parameters")
        return
    path = f"{parent}.{key}"
    if not isinstance(tasks, list):
        _type_error(tasks, path, "an object keyed by task name")
    for index, entry in enumerate(tasks):
        field = f"{path}[{index}]"
        _require_type(entry, dict, field, "an object with 'name' and 'parameters'")
        if not isinstance(entry.get("name"), str):
            raise PayloadError(f"{field}.name", "is required", "name the task")


def _check_workflow_options(value: Any, parent: str, key: str) -> None:
    if not isinstance(value, dict):
        _type_error(value, f"{parent}.{key}", "an object")


def _check_replace(value: Any, parent: str, key: str) -> None:
    if not isinstance(value, bool):
        _type_error(value, f"{parent}.{key}", "true or false")


def _check_chain_filter(value: Any, parent: str, key: str) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        _type_error(value, f"{parent}.{key}", "a JSONPath filter string")
    _chain_filter_expression(value, f"{parent}.{key}")  # a bad filter is refused on the way in


def _check_collections(collections: Any, parent: str, key: str) -> None:
    if isinstance(collections, str):
        return
    if not (isinstance(collections, list) and all(isinstance(c, str) for c in collections)):
        raise PayloadError(f"{parent}.{key}", "must be a list of collection names")


# process definition field -> check(value, parent path, field name); upload_options has its
# own place, first, and fields not named here are not checked
_OPTION_CHECKS: dict[str, Callable[[Any, str, str], None]] = {
    "collection_matchers": _check_matchers,
    "collection_options": _check_collection_options,
    "tasks": _check_tasks,
    "workflow_options": _check_workflow_options,
    "replace": _check_replace,
    "chain_filter": _check_chain_filter,
    "input_collections": _check_collections,
    "collections": _check_collections,
}


def _feature_error(feature: Any, index: int) -> NoReturn:
    if not isinstance(feature, dict):
        _type_error(feature, f"$.features[{index}]", "a STAC Item object")
    raise PayloadError(f"$.features[{index}].id", "is required", "every item needs a string id")


def _check_chain(process: list[Any]) -> None:
    """Validate the later links of a process array (each one definition or a list of them)."""
    for index, link in enumerate(process[1:], start=1):
        if isinstance(link, list):
            for branch_index, branch in enumerate(link):
                ProcessDefinition.from_dict(branch, f"$.process[{index}][{branch_index}]")
        else:
            ProcessDefinition.from_dict(link, f"$.process[{index}]")


def make_payload_id(
    features: list[dict[str, Any]], workflow: str, input_collections: list[str] | None = None
) -> str:
    """Derive a payload id: ``<collections>/workflow-<workflow>/<sorted item ids>``.

    Collections come from ``input_collections`` when given, else the sorted set of the items'
    ``collection`` values, else ``none``.
    """
    if input_collections:
        collections = "/".join(input_collections)
    else:
        names = sorted({str(f["collection"]) for f in features if f.get("collection")})
        collections = "/".join(names) if names else "none"
    item_ids = "/".join(sorted(str(f["id"]) for f in features))
    return f"{collections}/workflow-{workflow}/{item_ids}"


def parse_payload_id(payload_id: str) -> tuple[str, str, str]:
    """Split a payload id into ``(collections, workflow, item ids)``.

    Raises:
        PayloadError: the id does not follow ``<collections>/workflow-<name>/<items>``.
    """
    match = PAYLOAD_ID_PATTERN.fullmatch(payload_id)
    if match is None:
        raise PayloadError(
            "$.id",
            f"is {payload_id!r}",
            "payload ids look like '<collections>/workflow-<workflow>/<item ids>'",
        )
    return match.group(1), match.group(2), match.group(3)


class Payload(Mapping[str, Any]):
    """A validated process payload.

    It reads like the dict it came from (``payload["features"]``) and adds the derived
    pieces: :attr:`id`, :attr:`process_definition`, chaining. :meth:`to_dict` returns a
    copy, so serialising never changes the payload.
    """

    __slots__ = ("_data", "_definition", "_derived_id")

    def __init__(self, data: dict[str, Any], definition: ProcessDefinition) -> None:
        self._data = data
        self._definition = definition
        self._derived_id: str | None = None

    @classmethod
    def from_dict(
        cls, data: Any, *, copy_data: bool = True, require_workflow: bool = True
    ) -> Payload:
        """Validate a payload dict.

        A single ``process`` object (the old form) is wrapped in a list with a
        :class:`DeprecationWarning`.

        Args:
            data: the payload as parsed JSON.
            copy_data: copy the input so later changes to it do not leak in.
            require_workflow: False accepts ``process[0]`` without a ``workflow``, as a task
                built on its own does (stactask's behaviour); the pipeline always requires it.

        Raises:
            PayloadError: naming the field and what is expected.
        """
        if not isinstance(data, dict):
            _type_error(data, "$", "a JSON object (a FeatureCollection with 'process')")
        if "url" in data and "features" not in data and "process" not in data:
            raise PayloadError(
                "$.url", "is a reference", "load it first with cirrus.storage.load_payload()"
            )
        if copy_data:
            data = copy.deepcopy(data)
        kind = data.get("type", "FeatureCollection")
        if kind != "FeatureCollection":
            raise PayloadError("$.type", f"is {kind!r}", "a payload is a 'FeatureCollection'")
        data["type"] = "FeatureCollection"
        features = data.get("features", [])
        if not isinstance(features, list):
            _type_error(features, "$.features", "a list of STAC Items")
        for index, feature in enumerate(features):
            if (
                not isinstance(feature, dict)
                or not feature.get("id")
                or not isinstance(feature["id"], str)
            ):
                _feature_error(feature, index)
        data["features"] = features
        process = data.get("process")
        if process is None:
            raise PayloadError(
                "$.process", "is required", "add a list of process definitions with a workflow"
            )
        if isinstance(process, dict):
            warnings.warn(
                "'process' as a single object is deprecated: wrap it in a list",
                DeprecationWarning,
                stacklevel=2,
            )
            process = [process]
            data["process"] = process
        if not isinstance(process, list):
            _type_error(process, "$.process", "a list of process definitions")
        if not process:
            raise PayloadError(
                "$.process", "is empty", "give at least one process definition with a workflow"
            )
        definition = ProcessDefinition.from_dict(
            process[0], "$.process[0]", require_workflow=require_workflow
        )
        if len(process) > 1:
            _check_chain(process)
        payload_id = data.get("id")
        if payload_id is not None and not isinstance(payload_id, str):
            _type_error(payload_id, "$.id", "a string")
        return cls(data, definition)

    # Mapping protocol: read-only access to the payload dict
    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"<Payload {self.id}>"

    @property
    def process_definition(self) -> ProcessDefinition:
        """The current process definition (``process[0]``)."""
        return self._definition

    @property
    def features(self) -> list[dict[str, Any]]:
        """The payload's STAC Items as dicts (the live list, not a copy)."""
        features: list[dict[str, Any]] = self._data["features"]
        return features

    @property
    def id(self) -> str:
        """The explicit ``id`` if present, else the id derived from items and workflow."""
        explicit = self._data.get("id")
        if explicit:
            return str(explicit)
        derived = self._derived_id
        if derived is None:  # asked for several times per payload on the worker's path
            definition = self._definition
            if not self.features:
                raise PayloadError("$.features", "is empty", "give at least one item, or an 'id'")
            derived = make_payload_id(
                self.features, definition.workflow, definition.input_collections
            )
            self._derived_id = derived
        return derived

    @property
    def workflow(self) -> str:
        """The workflow of the current process definition."""
        return self._definition.workflow

    def to_dict(self) -> dict[str, Any]:
        """A deep copy of the payload as a plain dict."""
        return copy.deepcopy(self._data)

    def as_dict(self) -> dict[str, Any]:
        """The underlying dict, without copying: for hot paths that only read it."""
        return self._data

    def next_payloads(self) -> list[dict[str, Any]]:
        """The payloads of the next chain link, built from this (output) payload.

        ``process[1]`` may be one definition or a list of branches; each gets the output
        features (filtered by that branch's ``chain_filter``), no ``id``, and the rest of
        the process array. Branches whose filter selects nothing are left out.
        """
        process = self._data["process"]
        if len(process) < 2:
            return []
        link = process[1]
        rest = process[2:]
        branches = link if isinstance(link, list) else [link]
        payloads = []
        for branch in branches:
            features = self.features
            chain_filter = branch.get("chain_filter")
            if chain_filter:
                features = select_features(features, chain_filter)
                if not features:
                    continue
            payload = {
                key: value
                for key, value in self._data.items()
                if key not in ("id", "features", "process")
            }
            payload["features"] = copy.deepcopy(features)
            payload["process"] = [copy.deepcopy(branch), *copy.deepcopy(rest)]
            payloads.append(payload)
        return payloads

    def dumps(self) -> str:
        """The payload as compact JSON."""
        return json.dumps(self._data, separators=(",", ":"))


@lru_cache(maxsize=256)
def _chain_filter_expression(chain_filter: str, field: str = "chain_filter") -> Any:
    """The compiled JSONPath ``$.features[?(<chain_filter>)]`` (compiled once per filter)."""
    from jsonpath_ng.ext.parser import parse

    try:
        return parse(f"$.features[?({chain_filter})]")
    except Exception as err:
        raise PayloadError(
            field, f"is not a valid JSONPath filter ({err})", "e.g. @.id =~ 'S2.*'"
        ) from err


def select_features(features: list[dict[str, Any]], chain_filter: str) -> list[dict[str, Any]]:
    """Features matching ``$.features[?(<chain_filter>)]``.

    Raises:
        PayloadError: the filter is not a valid JSONPath filter expression.
    """
    expression = _chain_filter_expression(chain_filter)
    selected_ids = {id(match.value) for match in expression.find({"features": features})}
    return [feature for feature in features if id(feature) in selected_ids]
