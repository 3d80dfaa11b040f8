"""The DynamoDB client as the state backend uses it: errors, request counts, batching.

Every request goes through :meth:`TableClient.call`, which counts it in
:class:`DynamoDBOps` and translates botocore errors with :func:`dynamodb_errors`.
Batch reads and writes retry what DynamoDB leaves unprocessed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from cirrus._aws import (
    DENIED,
    THROTTLED,
    AWSService,
    Refusal,
    RequestCounts,
    aws_errors,
    method_name,
)
from cirrus.errors import StateError

__all__ = ["ConditionFailed", "DynamoDBOps", "TableClient", "TableMissing", "dynamodb_errors"]

READ_OPERATIONS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "DescribeTable"})
WRITE_OPERATIONS = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
)
_GET_BATCH = 100  # BatchGetItem's limit
_WRITE_BATCH = 25  # BatchWriteItem's limit
_UNPROCESSED_TRIES = 10
_THROTTLED = THROTTLED | {"ProvisionedThroughputExceededException", "RequestLimitExceeded"}


class ConditionFailed(StateError):
    """A conditional write found the item changed (internal: the backend retries).

    Attributes:
        item: the item as it is now (``ALL_OLD``), or ``None`` if there is none.
    """

    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("the item changed since it was read")
        self.item = item


class TableMissing(StateError):
    """The table does not exist (in this region, at this endpoint)."""


DYNAMODB = AWSService(
    "DynamoDB",
    "table",
    StateError,
    "AWS_ENDPOINT_URL_DYNAMODB",
    region_fix="set AWS_DEFAULT_REGION (Lambda sets it) or a region in the AWS profile",
)


def dynamodb_errors(table: str, operation: str) -> AbstractContextManager[None]:
    """Turn botocore errors into cirrus errors naming the table and the fix.

    A failed condition becomes :class:`ConditionFailed` carrying the current item.
    """
    return aws_errors(DYNAMODB, table, operation, _refusal_error)


def _refusal_error(refusal: Refusal) -> Exception:
    """DynamoDB's error for a request it refused."""
    if refusal.code == "ConditionalCheckFailedException":
        return ConditionFailed(refusal.response.get("Item"))
    if refusal.code == "ResourceNotFoundException":
        return TableMissing(
            f"{refusal.where} does not exist in this region/endpoint: create it with "
            "cirrus.state.dynamodb.ensure_table(), or check AWS_REGION and "
            "AWS_ENDPOINT_URL"
        )
    if refusal.code in _THROTTLED:
        return StateError(refusal.throttled())
    if refusal.code in DENIED:
        grant = f"dynamodb:{refusal.operation} on the table and its indexes"
        return StateError(refusal.denied(grant))
    return StateError(refusal.failed())


class DynamoDBOps(RequestCounts):
    """Requests a state backend sent, for benchmarks and cost estimates.

    ``requests`` counts API calls by operation name; ``items_read`` and
    ``items_written`` count the items those calls returned or wrote (on-demand
    pricing is per item); ``conditional_failures`` counts writes refused by their
    condition (each one is retried after a fresh decision). Thread-safe.
    """

    COUNTS = ("items_read", "items_written", "conditional_failures")
    items_read: int
    items_written: int
    conditional_failures: int

    @property
    def reads(self) -> int:
        """Read requests (GetItem, BatchGetItem, Query, Scan, DescribeTable)."""
        return sum(n for op, n in self.requests.items() if op in READ_OPERATIONS)

    @property
    def writes(self) -> int:
        """Write requests (PutItem, UpdateItem, DeleteItem, BatchWriteItem, ...)."""
        return sum(n for op, n in self.requests.items() if op in WRITE_OPERATIONS)

    def add(self, operation: str, *, read: int = 0, written: int = 0, failed: int = 0) -> None:
        """Count one request and its items."""
        with self._lock:
            self.requests[operation] += 1
            self.items_read += read
            self.items_written += written
            self.conditional_failures += failed

    def _totals(self) -> dict[str, int]:
        return {"reads": self.reads, "writes": self.writes}


class TableClient:
    """One table's requests: counted, translated, batched.

    Args:
        client: a boto3 DynamoDB client (thread-safe once made).
        table: the table name.
        ops: where requests are counted.
    """

    def __init__(self, client: Any, table: str, ops: DynamoDBOps) -> None:
        self.client = client
        self.table = table
        self.ops = ops

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        """Send one request; count it and its items, and translate its errors."""
        method = getattr(self.client, method_name(operation))
        try:
            with dynamodb_errors(self.table, operation):
                response: dict[str, Any] = method(**params)
        except ConditionFailed:
            self.ops.add(operation, failed=1)
            raise
        except StateError:
            self.ops.add(operation)
            raise
        read, written = self._items(operation, params, response)
        self.ops.add(operation, read=read, written=written)
        return response

    def _items(
        self, operation: str, params: dict[str, Any], response: dict[str, Any]
    ) -> tuple[int, int]:
        """Items read and written by one successful request."""
        if operation == "BatchGetItem":
            return len(response.get("Responses", {}).get(self.table, ())), 0
        if operation == "BatchWriteItem":
            sent = len(params["RequestItems"].get(self.table, ()))
            return 0, sent - len(response.get("UnprocessedItems", {}).get(self.table, ()))
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            return 0, 1
        return len(response.get("Items", ())) + (1 if "Item" in response else 0), 0

    def batch_get(self, keys: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Strongly consistent BatchGetItem, 100 keys a call, retrying unprocessed keys."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), _GET_BATCH):
            request = {
                self.table: {"Keys": list(keys[start : start + _GET_BATCH]), "ConsistentRead": True}
            }
            for attempt in range(_UNPROCESSED_TRIES):
                response = self.call("BatchGetItem", RequestItems=request)
                found.extend(response.get("Responses", {}).get(self.table, []))
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                _back_off(attempt)
            else:
                raise StateError(
                    f"BatchGetItem on DynamoDB table {self.table!r} left keys unprocessed "
                    f"{_UNPROCESSED_TRIES} times: the table is throttled; retry later"
                )
        return found

    def batch_write(self, puts: Sequence[dict[str, Any]]) -> None:
        """Unconditional puts, 25 a BatchWriteItem call, retrying unprocessed items."""
        for start in range(0, len(puts), _WRITE_BATCH):
            requests = [
                {"PutRequest": {"Item": item}} for item in puts[start : start + _WRITE_BATCH]
            ]
            pending: dict[str, Any] = {self.table: requests}
            for attempt in range(_UNPROCESSED_TRIES):
                response = self.call("BatchWriteItem", RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break
                _back_off(attempt)
            else:
                raise StateError(
                    f"BatchWriteItem on DynamoDB table {self.table!r} left items unprocessed "
                    f"{_UNPROCESSED_TRIES} times: the table is throttled; retry later"
                )

    def query(self, **params: Any) -> Iterator[dict[str, Any]]:
        """Items of a Query, page after page (lazily: stop iterating to stop reading)."""
        params["TableName"] = self.table
        while True:
            page = self.call("Query", **params)
            yield from page.get("Items", ())
            last = page.get("LastEvaluatedKey")
            if not last:
                return
            params["ExclusiveStartKey"] = last


def _back_off(attempt: int) -> None:
    time.sleep(min(0.05 * 2**attempt, 1.0))
