"""The DynamoDB client as the state backend uses it: errors, request counts, batching.

Every request goes through :meth:`TableClient.call`, which counts it in
:class:`DynamoDBOps` and translates botocore errors with :func:`dynamodb_errors`.
Batch reads and writes retry what DynamoDB leaves unprocessed.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from cirrus.errors import ConfigError, StateError

__all__ = ["ConditionFailed", "DynamoDBOps", "TableClient", "TableMissing", "dynamodb_errors"]

READ_OPERATIONS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "DescribeTable"})
WRITE_OPERATIONS = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
)
_GET_BATCH = 100  # BatchGetItem's limit
_WRITE_BATCH = 25  # BatchWriteItem's limit
_UNPROCESSED_TRIES = 10
_THROTTLED = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
    }
)
_DENIED = frozenset({"AccessDeniedException", "UnrecognizedClientException"})


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


@contextmanager
def dynamodb_errors(table: str, operation: str) -> Iterator[None]:
    """Turn botocore errors into cirrus errors naming the table and the fix.

    A failed condition becomes :class:`ConditionFailed` carrying the current item.
    """
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
    )

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", ""), error.get("Message", "")
        where = f"DynamoDB table {table!r}"
        if code == "ConditionalCheckFailedException":
            raise ConditionFailed(exc.response.get("Item")) from exc
        if code == "ResourceNotFoundException":
            raise TableMissing(
                f"{where} does not exist in this region/endpoint: create it with "
                "cirrus.state.dynamodb.ensure_table(), or check AWS_REGION and "
                "AWS_ENDPOINT_URL"
            ) from exc
        if code in _THROTTLED:
            raise StateError(
                f"{operation} on {where} was throttled ({code}) after retries: "
                "retry later, or raise AWS_MAX_ATTEMPTS"
            ) from exc
        if code in _DENIED:
            raise StateError(
                f"{operation} on {where} was refused ({code}: {message}): grant "
                f"dynamodb:{operation} on the table and its indexes, or check the credentials"
            ) from exc
        raise StateError(f"{operation} on {where} failed: {code}: {message}") from exc
    except NoCredentialsError as exc:
        raise StateError(
            f"no AWS credentials for DynamoDB table {table!r}: set AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        ) from exc
    except NoRegionError as exc:
        raise ConfigError(
            f"no AWS region for DynamoDB table {table!r}: set AWS_DEFAULT_REGION "
            "(Lambda sets it) or a region in the AWS profile"
        ) from exc
    except EndpointConnectionError as exc:
        raise StateError(
            f"cannot reach DynamoDB for table {table!r} ({exc}): check the network and "
            "AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_DYNAMODB"
        ) from exc
    except BotoCoreError as exc:
        raise StateError(f"{operation} on DynamoDB table {table!r} failed: {exc}") from exc


class DynamoDBOps:
    """Requests a state backend sent, for benchmarks and cost estimates.

    ``requests`` counts API calls by operation name; ``items_read`` and
    ``items_written`` count the items those calls returned or wrote (on-demand
    pricing is per item); ``conditional_failures`` counts writes refused by their
    condition (each one is retried after a fresh decision). Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.items_read = 0
        self.items_written = 0
        self.conditional_failures = 0

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

    def snapshot(self) -> dict[str, Any]:
        """The counts as a plain dict."""
        with self._lock:
            return {
                "requests": dict(sorted(self.requests.items())),
                "reads": self.reads,
                "writes": self.writes,
                "items_read": self.items_read,
                "items_written": self.items_written,
                "conditional_failures": self.conditional_failures,
            }

    def reset(self) -> None:
        """Start counting from zero."""
        with self._lock:
            self.requests.clear()
            self.items_read = self.items_written = self.conditional_failures = 0


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
        method = getattr(self.client, _snake(operation))
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


def _snake(operation: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")


def _back_off(attempt: int) -> None:
    time.sleep(min(0.05 * 2**attempt, 1.0))
