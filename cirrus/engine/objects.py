"""A Map's ``ItemReader`` and ``ResultWriter``: items and results in object storage.

:func:`read_items` reads the items a Map iterates over (a JSON, JSONL or CSV object, or a
bucket listing) and :func:`write_results` writes its iterations' results and manifest, as
AWS does. Objects are addressed as bucket + key, and the engine reads and writes them only
through :class:`ObjectIO`: the pipeline runtime plugs in its own store
(:mod:`cirrus.engine.storage_io` serves cirrus storage URLs), and :class:`MemoryObjectIO`
keeps objects in a dict.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from cirrus.engine.errors import ITEM_READER_FAILED, RESULT_WRITER_FAILED, StatesError
from cirrus.engine.paths import compile_template, dumps

if TYPE_CHECKING:
    from cirrus.engine.runner import Execution, Lane
    from cirrus.engine.states import MapState

__all__ = ["MemoryObjectIO", "ObjectIO", "read_items", "write_results"]


class ObjectIO(Protocol):
    """Reads, writes and lists objects by bucket and key."""

    def get(self, bucket: str, key: str) -> bytes:
        """The object's bytes; raises ``KeyError`` when there is none."""
        ...

    def put(self, bucket: str, key: str, data: bytes) -> None:
        """Write an object."""
        ...

    def list(self, bucket: str, prefix: str) -> list[tuple[str, int]]:
        """Keys under ``prefix`` with their sizes, sorted by key."""
        ...


class MemoryObjectIO:
    """Objects kept in a dict: ``objects[(bucket, key)] = bytes``."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}

    def get(self, bucket: str, key: str) -> bytes:
        """The object's bytes."""
        return self.objects[(bucket, key)]

    def put(self, bucket: str, key: str, data: bytes) -> None:
        """Store an object."""
        self.objects[(bucket, key)] = bytes(data)

    def list(self, bucket: str, prefix: str) -> list[tuple[str, int]]:
        """Keys under ``prefix``."""
        return sorted(
            (key, len(data))
            for (name, key), data in self.objects.items()
            if name == bucket and key.startswith(prefix)
        )


def _bucket_key(
    execution: Execution, spec: dict[str, Any], effective: Any, lane: Lane, failure: str
) -> dict[str, Any]:
    if execution.object_io is None:
        raise StatesError(
            failure, "No object storage is configured for this execution: pass object_io"
        )
    parameters = spec.get("Parameters", spec.get("Arguments", {}))
    evaluated = compile_template(parameters, field="Parameters").evaluate(effective, lane)
    if not isinstance(evaluated, dict) or not isinstance(evaluated.get("Bucket"), str):
        raise StatesError(failure, "Parameters.Bucket must be a string")
    return evaluated


def read_items(execution: Execution, state: MapState, effective: Any, lane: Lane) -> list[Any]:
    """The items a Map's ``ItemReader`` names: a JSON, JSONL or CSV object, or a listing.

    Raises:
        StatesError: ``States.ItemReaderFailed`` when there is no object storage, the object
            is missing, or its content cannot be read as items.
    """
    reader = state.item_reader
    assert reader is not None
    params = _bucket_key(execution, reader, effective, lane, ITEM_READER_FAILED)
    io_ = execution.object_io
    assert io_ is not None
    config = reader.get("ReaderConfig", {}) or {}
    max_items = config.get("MaxItems")
    bucket = params["Bucket"]
    if reader["Resource"].endswith("listObjectsV2"):
        prefix = str(params.get("Prefix", ""))
        items: list[Any] = [
            {"Key": key, "Size": size, "Etag": "", "LastModified": "", "StorageClass": "STANDARD"}
            for key, size in io_.list(bucket, prefix)
        ]
    else:
        key = params.get("Key")
        if not isinstance(key, str):
            raise StatesError(ITEM_READER_FAILED, "Parameters.Key must be a string")
        try:
            body = io_.get(bucket, key).decode("utf-8")
        except KeyError:
            raise StatesError(
                ITEM_READER_FAILED, f"The specified key does not exist: s3://{bucket}/{key}"
            ) from None
        items = _parse_items(body, config)
    if isinstance(max_items, int) and max_items > 0:
        items = items[:max_items]
    return items


def _parse_items(body: str, config: dict[str, Any]) -> list[Any]:
    input_type = config.get("InputType", "JSON")
    if input_type == "JSON":
        try:
            items = json.loads(body)
        except ValueError as err:
            raise StatesError(ITEM_READER_FAILED, f"The object is not valid JSON: {err}") from None
        if not isinstance(items, list):
            raise StatesError(ITEM_READER_FAILED, "Attempting to map over non-iterable node.")
        return items
    if input_type == "JSONL":
        try:
            return [json.loads(line) for line in body.splitlines() if line.strip()]
        except ValueError as err:
            raise StatesError(ITEM_READER_FAILED, f"A line is not valid JSON: {err}") from None
    rows = list(
        csv.reader(
            io.StringIO(body),
            delimiter=(config.get("CSVDelimiter", "COMMA") == "COMMA" and ",") or "\t",
        )
    )
    if config.get("CSVHeaderLocation", "FIRST_ROW") == "GIVEN":
        headers = config.get("CSVHeaders")
        if not isinstance(headers, list):
            raise StatesError(
                ITEM_READER_FAILED, "CSVHeaders must be given when CSVHeaderLocation is GIVEN"
            )
    else:
        if not rows:
            return []
        headers, rows = rows[0], rows[1:]
    if len(set(headers)) != len(headers):
        raise StatesError(ITEM_READER_FAILED, "CSV headers cannot contain duplicates.")
    return [dict(zip(headers, row, strict=False)) for row in rows if row]


def write_results(
    execution: Execution,
    state: MapState,
    runs: Sequence[tuple[Any, Any, StatesError | None]],
    effective: Any,
    lane: Lane,
) -> dict[str, Any]:
    """Write a Map's iterations as a ``ResultWriter`` does: result files and a manifest.

    Args:
        execution: the running execution (its ``object_io`` and state machine ARN).
        state: the Map state.
        runs: ``(input, output, error)`` of every iteration, in item order.
        effective: the Map state's input, for the writer's parameters.
        lane: where the Map runs.

    Returns:
        The Map state's result: the map run ARN and where the manifest is.

    Raises:
        StatesError: ``States.ResultWriterFailed`` when there is no object storage or a
            write fails.
    """
    writer = state.result_writer
    assert writer is not None
    params = _bucket_key(execution, writer, effective, lane, RESULT_WRITER_FAILED)
    io_ = execution.object_io
    assert io_ is not None
    bucket = params["Bucket"]
    run_id = str(uuid.uuid4())
    prefix = str(params.get("Prefix", "")).strip("/")
    base = f"{prefix}/{run_id}" if prefix else run_id
    map_run_arn = (
        f"{execution.machine_arn.replace(':stateMachine:', ':mapRun:')}/{state.name}:{run_id}"
    )
    succeeded, failed = [], []
    for child_input, output, error in runs:
        record = {
            "ExecutionArn": f"{map_run_arn}:{uuid.uuid4()}",
            "Input": dumps(child_input),
            "InputDetails": {"Included": True},
            "Name": str(uuid.uuid4()),
            "RedriveCount": 0,
            "RedriveStatus": "NOT_REDRIVABLE",
            "StateMachineArn": execution.machine_arn,
            "Status": "SUCCEEDED" if error is None else "FAILED",
        }
        if error is None:
            record["Output"] = dumps(output)
            record["OutputDetails"] = {"Included": True}
            succeeded.append(record)
        else:
            record["Error"] = error.error
            record["Cause"] = error.cause
            failed.append(record)
    files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    try:
        for status, records in (("SUCCEEDED", succeeded), ("FAILED", failed)):
            if records:
                key = f"{base}/{status}_0.json"
                data = json.dumps(records).encode("utf-8")
                io_.put(bucket, key, data)
                files[status].append({"Key": key, "Size": len(data)})
        manifest = {"DestinationBucket": bucket, "MapRunArn": map_run_arn, "ResultFiles": files}
        io_.put(bucket, f"{base}/manifest.json", json.dumps(manifest).encode("utf-8"))
    except (OSError, KeyError) as err:
        raise StatesError(RESULT_WRITER_FAILED, f"Writing the results failed: {err}") from None
    return {
        "MapRunArn": map_run_arn,
        "ResultWriterDetails": {"Bucket": bucket, "Key": f"{base}/manifest.json"},
    }
