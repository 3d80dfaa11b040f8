"""The DynamoDB state database, on upstream Cirrus 2.0's table layout.

An existing Cirrus table works unchanged (see :mod:`cirrus.state._dynamodb_items`
for the layout); a new one is made by :func:`ensure_table`::

    ensure_table("my-cirrus-state")          # PAY_PER_REQUEST, both indexes
    with open_state_db("dynamodb://my-cirrus-state") as db:
        db.claim_many([(pid, False) for pid in ids], owner="w1", lease_seconds=300)

The endpoint, region and credentials come from boto3's own settings
(``AWS_ENDPOINT_URL_DYNAMODB`` or ``AWS_ENDPOINT_URL``, ``AWS_REGION``, profiles);
nothing here overrides them.

How the interface maps onto DynamoDB:

- **Writes** read the records (BatchGetItem, strongly consistent), apply the shared
  rules of :mod:`cirrus.state.rules`, and write each changed record with one
  UpdateItem whose condition is "the item is as I read it" (same
  ``state_updated``, claim owner and lease). A claim of a record that is not
  CLAIMED/PROCESSING also carries upstream's condition, ``NOT (begins_with(
  state_updated, "PROCESSING") OR begins_with(state_updated, "CLAIMED"))``, so a
  claimed payload is never claimed twice. A refused write returns the item as it
  now is; the rules decide again on it. Distinct payloads of a batch are written
  in parallel threads; a batch is atomic per payload, not as a whole.
- **Queries** use Query on the ``state_updated`` index (a state filter) or the
  ``updated`` index (anything else), newest first, per ``collections_workflow``
  partition; without one, every partition cirrus has written (listed under the
  ``cirrus#partitions`` key) is queried and the results merged. No filtered query
  scans the table. Index reads are eventually consistent, as upstream's are.
- **The workflow event log** lives in the same table, as a single-table DynamoDB
  design puts it: each event is written twice in one BatchWriteItem, under hash
  key ``cirrus#events`` (the whole log, range key the zero-padded event id, for
  following it) and under ``cirrus#events#<payload id>`` (one payload's events).
  Ids come from an atomic counter item. Events are written before the state
  changes they go with, so no change is kept without its event.
"""

from __future__ import annotations

import heapq
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any, TypeVar

from cirrus.errors import ConfigError, PayloadError, StateError
from cirrus.state._dynamodb_client import (
    ConditionFailed,
    DynamoDBOps,
    TableClient,
    TableMissing,
    dynamodb_errors,
)
from cirrus.state._dynamodb_items import (
    EVENT_COUNTER,
    EVENT_LOG,
    HASH_KEY,
    MANAGED,
    PARTITIONS,
    RANGE_KEY,
    RESERVED,
    STATE_INDEX,
    UPDATED_INDEX,
    Expr,
    Item,
    check_payload_id,
    event_from_item,
    event_id_key,
    event_item,
    item_key,
    payload_events,
    record_from_item,
    record_item,
    second_of,
    table_definition,
    time_text,
)
from cirrus.state._transactional import number_events
from cirrus.state.base import Clock, GroupBy, QueryFilter, StateDB
from cirrus.state.models import (
    ACTIVE_STATES,
    ClaimResult,
    FinishUpdate,
    NewEvent,
    State,
    StateRecord,
    WorkflowEvent,
)
from cirrus.state.rules import (
    Held,
    Step,
    apply_release,
    apply_renew,
    claim_step,
    finish_step,
    start_step,
)

__all__ = ["DynamoDBOps", "DynamoDBStateDB", "create_table", "ensure_table", "table_definition"]

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")

_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_ATTEMPTS = 25  # decisions per payload before contention is reported


@dataclass(frozen=True, slots=True)
class _Seen:
    """A record and the item it was read from (the item's text is what conditions compare)."""

    record: StateRecord
    item: Item


@dataclass(frozen=True, slots=True)
class _Write:
    """What a decision stores: a whole record, its lease alone, or nothing left (delete)."""

    record: StateRecord | None
    lease_only: bool = False
    claim: bool = False


_Step = Callable[[_Item, StateRecord | None, datetime], tuple[_Result, _Write | None]]
"""A rule step whose outcome says how to write (see :class:`_Write`)."""


def _writes(step: Step[_Item, _Result], *, claim: bool = False) -> _Step[_Item, _Result]:
    """A shared rule step whose record to store becomes a whole-record write."""

    def write(
        item: _Item, current: StateRecord | None, now: datetime
    ) -> tuple[_Result, _Write | None]:
        result, record = step(item, current, now)
        return result, None if record is None else _Write(record, claim=claim)

    return write


def _client() -> Any:
    """A DynamoDB client configured by boto3 alone (endpoint, region, credentials)."""
    try:
        import boto3
    except ImportError as exc:
        raise ConfigError(
            "the DynamoDB state database needs boto3: pip install boto3 (cirrus's aws extra)"
        ) from exc
    with dynamodb_errors("(none yet)", "connect"):
        return boto3.session.Session().client("dynamodb")


class DynamoDBStateDB(StateDB):
    """State records and workflow events in one DynamoDB table.

    Args:
        table: the table name (see :func:`ensure_table`).
        clock: returns "now" as an aware UTC datetime.
        client: a boto3 DynamoDB client to use (default: a new one from boto3's
            own configuration).
        max_workers: threads writing the payloads of one batch in parallel.

    Attributes:
        ops: requests sent so far (:class:`DynamoDBOps`), for benchmarks.

    Raises:
        ConfigError: boto3 is missing, the table name is not valid, or no region is set.
    """

    def __init__(
        self,
        table: str,
        *,
        clock: Clock | None = None,
        client: Any = None,
        max_workers: int = 8,
    ) -> None:
        super().__init__(clock=clock)
        if not _TABLE_NAME.fullmatch(table):
            raise ConfigError(
                f"DynamoDB table name {table!r} is not valid: use 3-255 letters, digits, "
                "'_', '-' or '.'"
            )
        self.table = table
        self.ops = DynamoDBOps()
        self._db = TableClient(client if client is not None else _client(), table, self.ops)
        self._max_workers = max_workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._partition_lock = threading.Lock()
        self._partitions: set[str] | None = None  # known to be listed under PARTITIONS
        self._closed = False

    @classmethod
    def from_url(cls, url: str, *, clock: Clock | None = None) -> DynamoDBStateDB:
        """Open ``dynamodb://<table>``."""
        table = url.partition("://")[2].strip("/")
        if not table:
            raise ConfigError(f"state database {url!r} names no table: use dynamodb://<table>")
        return cls(table, clock=clock)

    def __repr__(self) -> str:
        return f"DynamoDBStateDB({self.table!r})"

    def _check_open(self) -> None:
        if self._closed:
            raise StateError(
                f"the DynamoDB state database {self.table!r} is closed: open a new one"
            )

    # ------------------------------------------------------------ reads

    def _load(self, payload_ids: Iterable[str]) -> dict[str, _Seen]:
        """The items of ``payload_ids`` that exist (one BatchGetItem per 100 ids)."""
        wanted: dict[tuple[str, str], str] = {}
        for payload_id in payload_ids:
            try:
                key = item_key(payload_id)
            except PayloadError:
                continue  # not a payload id: it has no record
            wanted[(key[HASH_KEY]["S"], key[RANGE_KEY]["S"])] = payload_id
        keys = [
            {HASH_KEY: {"S": hash_key}, RANGE_KEY: {"S": range_key}}
            for hash_key, range_key in wanted
        ]
        found: dict[str, _Seen] = {}
        for item in self._db.batch_get(keys):
            payload_id = wanted[(item[HASH_KEY]["S"], item[RANGE_KEY]["S"])]
            found[payload_id] = _Seen(record_from_item(item, payload_id), item)
        return found

    def get_many(self, payload_ids: Sequence[str]) -> dict[str, StateRecord]:
        self._check_open()
        return {pid: seen.record for pid, seen in self._load(payload_ids).items()}

    # ------------------------------------------------------------ writes

    def check_payload_id(self, payload_id: str) -> None:
        check_payload_id(payload_id)

    def _check_keys(self, payload_ids: Iterable[str]) -> None:
        for payload_id in payload_ids:
            check_payload_id(payload_id)

    def claim_many(
        self,
        items: Sequence[tuple[str, bool]],
        *,
        owner: str,
        lease_seconds: float,
        events: Sequence[NewEvent] = (),
        start: Mapping[str, str] | None = None,
    ) -> list[ClaimResult]:
        self._check_open()
        lease = self._lease(lease_seconds)
        payload_ids = [payload_id for payload_id, _ in items]
        self._check_keys(payload_ids)
        step = _writes(claim_step(owner=owner, lease=lease, start=start), claim=True)
        return self._apply(items, payload_ids, step, events)

    def start_many(
        self,
        items: Sequence[tuple[str, str]],
        *,
        owner: str,
        lease_seconds: float,
        events: Sequence[NewEvent] = (),
    ) -> list[Held]:
        self._check_open()
        step = _writes(start_step(owner=owner, lease=self._lease(lease_seconds)))
        return self._apply(items, [payload_id for payload_id, _ in items], step, events)

    def finish_many(
        self, updates: Sequence[FinishUpdate], *, events: Sequence[NewEvent] = ()
    ) -> list[Held]:
        self._check_open()
        self._check_updates(updates)
        payload_ids = [update.payload_id for update in updates]
        self._check_keys(payload_ids)
        return self._apply(updates, payload_ids, _writes(finish_step()), events)

    def renew(self, payload_ids: Sequence[str], *, owner: str, lease_seconds: float) -> list[str]:
        self._check_open()
        lease = self._lease(lease_seconds)
        unique = list(dict.fromkeys(payload_ids))

        def renew(
            payload_id: str, current: StateRecord | None, now: datetime
        ) -> tuple[bool, _Write | None]:
            record = apply_renew(current, owner=owner, now=now, lease=lease)
            return record is None, None if record is None else _Write(record, lease_only=True)

        lost = self._apply(unique, unique, renew, ())
        return [payload_id for payload_id, gone in zip(unique, lost, strict=True) if gone]

    def release(self, payload_id: str, owner: str) -> bool:
        self._check_open()

        def release(
            item: str, current: StateRecord | None, now: datetime
        ) -> tuple[bool, _Write | None]:
            released, record = apply_release(current, owner=owner, now=now)
            return released, _Write(record) if released else None

        return self._apply([payload_id], [payload_id], release, ())[0]

    def add_events(self, events: Sequence[NewEvent]) -> list[WorkflowEvent]:
        self._check_open()
        return self._record_events(events, self.now())

    def _apply(
        self,
        items: Sequence[_Item],
        payload_ids: Sequence[str],
        step: _Step[_Item, _Result],
        events: Sequence[NewEvent],
    ) -> list[_Result]:
        """Decide and write each item; ``events`` are recorded first.

        Items of one payload are decided in order (a repeated id sees the earlier
        outcome); distinct payloads are written in parallel.
        """
        now = self.now()
        self._record_events(events, now)
        seen = self._load(payload_ids)
        results: list[Any] = [None] * len(items)
        positions: dict[str, list[int]] = {}
        for index, payload_id in enumerate(payload_ids):
            positions.setdefault(payload_id, []).append(index)

        def run(payload_id: str) -> None:
            current = seen.get(payload_id)
            for index in positions[payload_id]:
                results[index], current = self._decide(items[index], current, step, now)

        self._each(run, list(positions))
        return results

    def _decide(
        self,
        item: _Item,
        current: _Seen | None,
        step: _Step[_Item, _Result],
        now: datetime,
    ) -> tuple[_Result, _Seen | None]:
        """Apply the rule and write its outcome; on a refused write, decide again."""
        for _ in range(_ATTEMPTS):
            result, write = step(item, None if current is None else current.record, now)
            if write is None:
                return result, current
            try:
                return result, self._write(current, write)
            except ConditionFailed as changed:
                current = (
                    None
                    if changed.item is None
                    else _Seen(record_from_item(changed.item), changed.item)
                )
                now = self.now()
        raise StateError(
            f"the state of {item!r} changed {_ATTEMPTS} times while deciding: heavy "
            "contention on one payload; retry"
        )

    def _write(self, current: _Seen | None, write: _Write) -> _Seen | None:
        """One conditional write: it applies only if the item is still ``current``."""
        expr = Expr()
        condition = self._condition(expr, current, claim=write.claim)
        record = write.record
        if record is None:
            assert current is not None
            self._db.call(
                "DeleteItem",
                TableName=self.table,
                Key=item_key(current.record.payload_id),
                ConditionExpression=condition,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **expr.params(),
            )
            return None
        item = record_item(record)
        if write.lease_only and current is not None:
            item = {**current.item, "lease_expires": item["lease_expires"]}
            update = f"SET {expr.n('lease_expires')} = {expr.raw(item['lease_expires'])}"
        else:
            if current is None:
                self._register_partition(item[HASH_KEY]["S"])
            sets = [f"{expr.n(name)} = {expr.raw(item[name])}" for name in MANAGED if name in item]
            removes = [expr.n(name) for name in MANAGED if name not in item]
            update = "SET " + ", ".join(sets)
            if removes:
                update += " REMOVE " + ", ".join(removes)
        self._db.call(
            "UpdateItem",
            TableName=self.table,
            Key=item_key(record.payload_id),
            UpdateExpression=update,
            ConditionExpression=condition,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            **expr.params(),
        )
        return _Seen(record, item)

    @staticmethod
    def _condition(expr: Expr, current: _Seen | None, *, claim: bool) -> str:
        """The item is as ``current`` was read (absent, or same state, owner and lease)."""
        if current is None:
            return f"attribute_not_exists({expr.n(HASH_KEY)})"
        terms = []
        for name in (STATE_INDEX, "claim_owner", "lease_expires"):
            value = current.item.get(name)
            if value is None:
                terms.append(f"attribute_not_exists({expr.n(name)})")
            else:
                terms.append(f"{expr.n(name)} = {expr.raw(value)}")
        if claim and current.record.state not in ACTIVE_STATES:
            # upstream's own claim condition: never claim a CLAIMED or PROCESSING payload
            state = expr.n(STATE_INDEX)
            terms.append(
                f"NOT (begins_with({state}, {expr.v(State.PROCESSING.value)})"
                f" OR begins_with({state}, {expr.v(State.CLAIMED.value)}))"
            )
        return " AND ".join(terms)

    def _each(self, run: Callable[[str], None], payload_ids: list[str]) -> None:
        if len(payload_ids) <= 1 or self._max_workers <= 1:
            for payload_id in payload_ids:
                run(payload_id)
            return
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    self._max_workers, thread_name_prefix=f"cirrus-dynamodb-{self.table}"
                )
            pool = self._pool
        for _ in pool.map(run, payload_ids):
            pass

    # ------------------------------------------------------------ partitions

    def _register_partition(self, collections_workflow: str) -> None:
        """List a partition under PARTITIONS before its first item is written.

        Once per partition and process: the list is read once, then kept up to date.
        """
        with self._partition_lock:  # parallel writers of one batch register it once
            if self._partitions is None:
                self._partitions = set(self._list_partitions())
            if collections_workflow in self._partitions:
                return
            self._db.call(
                "PutItem",
                TableName=self.table,
                Item={HASH_KEY: {"S": PARTITIONS}, RANGE_KEY: {"S": collections_workflow}},
            )
            self._partitions.add(collections_workflow)

    def _list_partitions(self) -> list[str]:
        expr = Expr()
        items = self._db.query(
            KeyConditionExpression=f"{expr.n(HASH_KEY)} = {expr.v(PARTITIONS)}",
            ConsistentRead=True,
            ProjectionExpression=expr.n(RANGE_KEY),
            **expr.params(),
        )
        return [item[RANGE_KEY]["S"] for item in items]

    def _partitions_for(self, where: QueryFilter) -> list[str]:
        if where.collections_workflow is not None:
            return [where.collections_workflow]
        partitions = self._list_partitions()
        if where.workflow is not None:
            suffix = f"_{where.workflow}"
            partitions = [p for p in partitions if p.endswith(suffix)]
        return partitions

    def index_partitions(self) -> list[str]:
        """List the partitions of a table written by upstream Cirrus (one Scan).

        cirrus lists every ``collections_workflow`` it writes, so queries without
        one need no scan. Run this once after pointing cirrus at a table that
        upstream Cirrus wrote; queries naming ``collections_workflow`` work without it.

        Returns:
            The partitions found and listed.
        """
        self._check_open()
        expr = Expr()
        params: dict[str, Any] = {"TableName": self.table, "ProjectionExpression": expr.n(HASH_KEY)}
        params.update(expr.params())
        found: set[str] = set()
        while True:
            page = self._db.call("Scan", **params)
            found.update(
                item[HASH_KEY]["S"]
                for item in page.get("Items", ())
                if not item[HASH_KEY]["S"].startswith(RESERVED)
            )
            if not page.get("LastEvaluatedKey"):
                break
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        self._db.batch_write(
            [{HASH_KEY: {"S": PARTITIONS}, RANGE_KEY: {"S": p}} for p in sorted(found)]
        )
        with self._partition_lock:
            self._partitions = None
        return sorted(found)

    # ------------------------------------------------------------ queries

    def _stream(
        self,
        collections_workflow: str,
        where: QueryFilter,
        after: tuple[datetime, str] | None,
        page: int | None,
    ) -> Iterator[tuple[str, StateRecord]]:
        """One partition's matching records, newest (or oldest) first, with their second.

        Key conditions are bounded to whole seconds, so items in any ISO time form
        are found; the exact filters run here.
        """
        expr = Expr()
        key = f"{expr.n(HASH_KEY)} = {expr.v(collections_workflow)}"
        since = None if where.updated_since is None else second_of(time_text(where.updated_since))
        until = None
        if after is not None:
            after_second = second_of(time_text(after[0]))
            if where.ascending:
                since = max(since or "", after_second) or None
            else:
                until = after_second + "~"
        if where.state is not None:
            index, prefix = STATE_INDEX, f"{where.state.value}_"
            key += (
                f" AND {expr.n(STATE_INDEX)} BETWEEN {expr.v(prefix + (since or ''))}"
                f" AND {expr.v(prefix + (until or '~'))}"
            )
        else:
            index, prefix = UPDATED_INDEX, ""
            if since or until:
                key += (
                    f" AND {expr.n(UPDATED_INDEX)} BETWEEN {expr.v(since or '0')}"
                    f" AND {expr.v(until or '~')}"
                )
        params: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": key,
            "ScanIndexForward": where.ascending,
        }
        if where.error_prefix is not None:
            params["FilterExpression"] = (
                f"begins_with({expr.n('last_error')}, {expr.v(where.error_prefix)})"
            )
        if page is not None:
            params["Limit"] = page
        for item in self._db.query(**params, **expr.params()):
            record = record_from_item(item)
            position = (record.updated, record.payload_id)
            if where.matches(record) and (
                after is None or (position > after if where.ascending else position < after)
            ):
                yield second_of(item[index]["S"][len(prefix) :]), record

    def _select(
        self, where: QueryFilter, after: tuple[datetime, str] | None, limit: int | None
    ) -> list[StateRecord]:
        self._check_open()
        # one item past the limit shows where the last second ends, without a second page
        page = None if limit is None else limit + 1
        streams = [self._stream(p, where, after, page) for p in self._partitions_for(where)]
        found: list[StateRecord] = []
        boundary: str | None = None
        descending = not where.ascending
        for second, record in heapq.merge(*streams, key=itemgetter(0), reverse=descending):
            # keep reading the last second: ties are ordered by payload id below
            if boundary is not None and (second < boundary if descending else second > boundary):
                break
            found.append(record)
            if limit is not None and boundary is None and len(found) >= limit:
                boundary = second
        found.sort(key=lambda record: (record.updated, record.payload_id), reverse=descending)
        return found if limit is None else found[:limit]

    def counts(
        self, *, since: timedelta | str | None = None, group_by: GroupBy = "workflow"
    ) -> dict[tuple[str, State], int]:
        self._check_open()
        updated_since = self._since(since)
        counts: dict[tuple[str, State], int] = {}
        for partition in self._partitions_for(QueryFilter()):
            expr = Expr()
            key = f"{expr.n(HASH_KEY)} = {expr.v(partition)}"
            if updated_since is not None:
                key += (
                    f" AND {expr.n(UPDATED_INDEX)} >= {expr.v(second_of(time_text(updated_since)))}"
                )
            projection = ", ".join(
                expr.n(name) for name in (HASH_KEY, RANGE_KEY, STATE_INDEX, UPDATED_INDEX)
            )
            items = self._db.query(
                IndexName=UPDATED_INDEX,
                KeyConditionExpression=key,
                ProjectionExpression=projection,
                **expr.params(),
            )
            for record in map(record_from_item, items):
                if updated_since is not None and record.updated < updated_since:
                    continue
                group = record.workflow if group_by == "workflow" else record.collections_workflow
                counts[(group, record.state)] = counts.get((group, record.state), 0) + 1
        return counts

    # ------------------------------------------------------------ events

    def _record_events(self, events: Sequence[NewEvent], now: datetime) -> list[WorkflowEvent]:
        """Number events from the counter and write each to the log and its payload's copy."""
        if not events:
            return []
        expr = Expr()
        response = self._db.call(
            "UpdateItem",
            TableName=self.table,
            Key=EVENT_COUNTER,
            UpdateExpression=f"ADD {expr.n('last_id')} {expr.raw({'N': str(len(events))})}",
            ReturnValues="UPDATED_NEW",
            **expr.params(),
        )
        last = int(response["Attributes"]["last_id"]["N"])
        added = number_events(events, last - len(events), now)
        items: list[Item] = []
        for event in added:
            items.append(event_item(event, EVENT_LOG))
            items.append(event_item(event, payload_events(event.payload_id)))
        self._db.batch_write(items)
        return added

    def events(
        self, payload_id: str | None = None, *, after_id: int = 0, limit: int | None = None
    ) -> list[WorkflowEvent]:
        self._check_open()
        if limit is not None and limit < 1:
            return []
        expr = Expr()
        hash_key = EVENT_LOG if payload_id is None else payload_events(payload_id)
        params: dict[str, Any] = {
            "KeyConditionExpression": (
                f"{expr.n(HASH_KEY)} = {expr.v(hash_key)}"
                f" AND {expr.n(RANGE_KEY)} > {expr.v(event_id_key(after_id))}"
            ),
            "ConsistentRead": True,
        }
        if limit is not None:
            params["Limit"] = limit
        found: list[WorkflowEvent] = []
        for item in self._db.query(**params, **expr.params()):
            found.append(event_from_item(item))
            if limit is not None and len(found) >= limit:
                break
        return found

    # ------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Stop the writer threads and the client; the object cannot be used afterwards."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        close = getattr(self._db.client, "close", None)
        if close is not None:
            close()


# ---------------------------------------------------------------- tables


def create_table(table: str, *, client: Any = None, wait: bool = True) -> None:
    """Create a state table in upstream Cirrus's layout (PAY_PER_REQUEST, two GSIs).

    Args:
        table: the table name.
        client: a boto3 DynamoDB client (default: one from boto3's configuration).
        wait: return only once the table is ACTIVE.

    Raises:
        StateError: the table exists already, or DynamoDB refused.
    """
    client = client if client is not None else _client()
    with dynamodb_errors(table, "CreateTable"):
        client.create_table(**table_definition(table))
        if wait:
            client.get_waiter("table_exists").wait(
                TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
            )


def ensure_table(table: str, *, client: Any = None) -> bool:
    """Create the state table unless it exists; returns whether it was created.

    An existing table is used as it is (its layout is not checked or changed).
    """
    client = client if client is not None else _client()
    try:
        with dynamodb_errors(table, "DescribeTable"):
            client.describe_table(TableName=table)
        return False
    except TableMissing:
        pass
    create_table(table, client=client)
    return True
