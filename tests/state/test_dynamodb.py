"""DynamoDB-only behaviour: upstream's table layout, races, index use, errors, counts.

The contract suite (``test_contract.py``) runs over this backend too; these tests
check what only DynamoDB has. All of them talk to the run's moto server.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from cirrus.errors import ConfigError, PayloadError, StateError
from cirrus.state import (
    ClaimOutcome,
    DynamoDBStateDB,
    EventType,
    NewEvent,
    State,
    open_state_db,
)
from cirrus.state.dynamodb import create_table, ensure_table
from tests.aws_server import LocalAWS
from tests.state.conftest import FakeClock, new_table

LEASE = 60
CW = "sentinel-2-l2a_cog"
PID = "sentinel-2-l2a/workflow-cog/S2A_1"


def pid(n: int) -> str:
    return f"sentinel-2-l2a/workflow-cog/item-{n:04d}"


@pytest.fixture
def table(aws: LocalAWS) -> str:
    return new_table(aws)


@pytest.fixture
def client(aws: LocalAWS) -> Any:
    return aws.client("dynamodb")


@pytest.fixture
def db(table: str, clock: FakeClock) -> Iterator[DynamoDBStateDB]:
    with DynamoDBStateDB(table, clock=clock) as database:
        yield database


def put_upstream_item(client: Any, table: str, state_updated: str, **attributes: Any) -> None:
    """Write PID's item as upstream Cirrus writes it: its attributes only, ``+00:00`` times."""
    stamp = state_updated.partition("_")[2]
    client.put_item(
        TableName=table,
        Item={
            "collections_workflow": {"S": CW},
            "itemids": {"S": "S2A_1"},
            "created": {"S": stamp},
            "updated": {"S": stamp},
            "state_updated": {"S": state_updated},
            **attributes,
        },
    )


def raw(client: Any, table: str, collections_workflow: str, itemids: str) -> dict[str, Any]:
    """An item as stored, with plain values."""
    item = client.get_item(
        TableName=table,
        Key={"collections_workflow": {"S": collections_workflow}, "itemids": {"S": itemids}},
    )["Item"]
    return {name: next(iter(value.values())) for name, value in item.items()}


# ---------------------------------------------------------------- the table


def test_create_table_makes_upstreams_layout(aws: LocalAWS, client: Any) -> None:
    assert ensure_table("cirrus-layout-check", client=client) is True
    assert ensure_table("cirrus-layout-check", client=client) is False

    described = client.describe_table(TableName="cirrus-layout-check")["Table"]

    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert {(k["AttributeName"], k["KeyType"]) for k in described["KeySchema"]} == {
        ("collections_workflow", "HASH"),
        ("itemids", "RANGE"),
    }
    indexes = {
        index["IndexName"]: (
            [(k["AttributeName"], k["KeyType"]) for k in index["KeySchema"]],
            index["Projection"]["ProjectionType"],
        )
        for index in described["GlobalSecondaryIndexes"]
    }
    assert indexes == {
        "state_updated": ([("collections_workflow", "HASH"), ("state_updated", "RANGE")], "ALL"),
        "updated": ([("collections_workflow", "HASH"), ("updated", "RANGE")], "ALL"),
    }
    with pytest.raises(StateError, match="CreateTable"):
        create_table("cirrus-layout-check", client=client)


def test_items_are_written_in_upstreams_shape(db: DynamoDBStateDB, client: Any, table: str) -> None:
    db.claim(PID, owner="w1", lease_seconds=LEASE)
    db.start(PID, "exec-1", owner="w1", lease_seconds=LEASE)
    db.finish(PID, State.FAILED, owner="w1", error="TaskError: boom")

    item = raw(client, table, CW, "S2A_1")

    # what upstream's own reader does with an item
    state, stamp = item["state_updated"].split("_")
    assert state == "FAILED"
    assert datetime.fromisoformat(stamp) == datetime.fromisoformat(item["updated"])
    assert item["updated"] == "2024-05-01T12:00:00.000000+00:00"
    assert item["created"] == item["claimed_at"] == item["updated"]
    assert [e["S"] for e in item["executions"]] == ["exec-1"]
    assert item["last_error"] == "TaskError: boom"
    assert "claim_owner" not in item and "lease_expires" not in item


def test_an_upstream_item_reads_back(db: DynamoDBStateDB, client: Any, table: str) -> None:
    arn = "arn:aws:states:us-east-1:123456789012:execution:cirrus-cog:0f3c"
    put_upstream_item(
        client,
        table,
        "FAILED_2024-04-02T10:05:00.500000+00:00",
        created={"S": "2024-04-01T10:00:00+00:00"},
        claimed_at={"S": "2024-04-02T10:00:00.250000+00:00"},
        executions={"L": [{"S": arn}]},
        last_error={"S": "TaskError: no assets"},
        outputs={"L": [{"S": "s3://data/item.json"}]},
    )

    record = db.get(PID)

    assert record is not None
    assert record.state is State.FAILED
    assert record.created == datetime(2024, 4, 1, 10, tzinfo=UTC)
    assert record.updated == datetime(2024, 4, 2, 10, 5, 0, 500000, tzinfo=UTC)
    assert record.claimed_at == datetime(2024, 4, 2, 10, 0, 0, 250000, tzinfo=UTC)
    assert record.executions == (arn,)
    assert record.last_error == "TaskError: no assets"
    assert record.claim_owner is None and record.lease_expires is None
    assert [r.payload_id for r in db.query(collections_workflow=CW, state="FAILED").records] == [
        PID
    ]
    assert db.query(state="FAILED").records == []  # partition not listed yet
    assert db.index_partitions() == [CW]
    assert [r.payload_id for r in db.query(state="FAILED", since="60d").records] == [PID]
    assert db.counts() == {("cog", State.FAILED): 1}

    # a rerun claims it; attributes cirrus does not manage stay
    assert db.claim(PID, owner="w1", lease_seconds=LEASE).outcome is ClaimOutcome.CLAIMED
    item = raw(client, table, CW, "S2A_1")
    assert item["state_updated"] == "CLAIMED_2024-05-01T12:00:00.000000+00:00"
    assert [e["S"] for e in item["outputs"]] == ["s3://data/item.json"]
    assert item["created"] == "2024-04-01T10:00:00.000000+00:00"


@pytest.mark.parametrize("state", ["PROCESSING", "CLAIMED"])
@pytest.mark.parametrize("replace", [False, True])
def test_an_upstream_claim_is_never_taken_over(
    db: DynamoDBStateDB, client: Any, table: str, clock: FakeClock, state: str, replace: bool
) -> None:
    """Upstream writes no lease: its execution holds the payload until update-state."""
    put_upstream_item(
        client,
        table,
        f"{state}_2024-04-01T10:00:00+00:00",
        executions={"L": [{"S": "arn:aws:states:us-east-1:1:execution:x:y"}]},
    )
    clock.advance(86400 * 365)

    result = db.claim(PID, owner="w1", lease_seconds=LEASE, replace=replace)

    assert result.outcome is ClaimOutcome(f"ALREADY_{state}")
    assert raw(client, table, CW, "S2A_1")["state_updated"].startswith(state)
    finished = db.finish(PID, State.SUCCEEDED, owner=None)  # update-state closes it
    assert finished.state is State.SUCCEEDED and finished.lease_expires is None


def test_legacy_completed_reads_as_succeeded(db: DynamoDBStateDB, client: Any, table: str) -> None:
    put_upstream_item(client, table, "COMPLETED_2021-01-01T00:00:00+00:00")

    record = db.get(PID)

    assert record is not None and record.state is State.SUCCEEDED
    assert db.claim(PID, owner="w", lease_seconds=LEASE).outcome is ClaimOutcome.ALREADY_SUCCEEDED


def test_workflow_names_with_underscores_are_refused(db: DynamoDBStateDB) -> None:
    with pytest.raises(PayloadError, match="rename the workflow"):
        db.claim("s2/workflow-my_cog/item-1", owner="w1", lease_seconds=LEASE)
    assert db.get("s2/workflow-my_cog/item-1") is None


def test_event_log_lives_in_the_table_outside_upstreams_indexes(
    db: DynamoDBStateDB, client: Any, table: str
) -> None:
    db.claim(PID, owner="w1", lease_seconds=LEASE)
    first, second = db.add_events(
        [NewEvent(PID, EventType.CLAIMED_PROCESSING), NewEvent(pid(2), EventType.ALREADY_INVALID)]
    )

    log = raw(client, table, "cirrus#events", f"{first.id:020d}")
    copy = raw(client, table, f"cirrus#events#{PID}", f"{first.id:020d}")
    assert log == copy | {"collections_workflow": "cirrus#events"}
    assert log["event_type"] == "CLAIMED_PROCESSING" and log["payload_id"] == PID
    assert raw(client, table, "cirrus#counters", "event_id")["last_id"] == str(second.id)
    for index in ("updated", "state_updated"):
        items = client.scan(TableName=table, IndexName=index)["Items"]
        assert {item["collections_workflow"]["S"] for item in items} == {CW}


# ---------------------------------------------------------------- claims race


def test_racing_claims_have_exactly_one_winner(table: str) -> None:
    """Two workers, each with its own client, claim the same batches at the same moment."""
    ids = [pid(n) for n in range(100)]
    won: dict[str, list[str]] = {"w1": [], "w2": []}
    failures: list[int] = []
    errors: list[BaseException] = []
    barriers = [threading.Barrier(2, timeout=30) for _ in range(0, len(ids), 10)]

    def worker(owner: str) -> None:
        try:
            with DynamoDBStateDB(table) as db:
                for start, barrier in zip(range(0, len(ids), 10), barriers, strict=True):
                    batch = ids[start : start + 10]
                    random.Random(owner).shuffle(batch)
                    barrier.wait()
                    claims = [(p, False) for p in batch]
                    results = db.claim_many(claims, owner=owner, lease_seconds=LEASE)
                    won[owner].extend(r.payload_id for r in results if r.claimed)
                failures.append(db.ops.conditional_failures)
        except BaseException as exc:
            errors.append(exc)
            for barrier in barriers:
                barrier.abort()  # release the other worker at once

    threads = [threading.Thread(target=worker, args=(owner,)) for owner in won]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors, errors
    assert sorted(won["w1"] + won["w2"]) == ids  # every payload claimed once, by one worker
    assert sum(failures) > 0  # the race happened: losers were refused by the condition
    with DynamoDBStateDB(table) as db:
        owners = {p: r.claim_owner for p, r in db.get_many(ids).items()}
    assert all(owners[p] == "w1" for p in won["w1"]) and all(owners[p] == "w2" for p in won["w2"])


def test_a_claim_that_loses_the_race_decides_again(table: str, clock: FakeClock) -> None:
    """w1 reads no record; w2 claims before w1 writes; w1's conditional write fails."""
    rival = DynamoDBStateDB(table, clock=clock)

    class Interleaved(DynamoDBStateDB):
        def _load(self, payload_ids: Any) -> Any:
            seen = super()._load(payload_ids)
            if not rival.get_many(payload_ids):
                rival.claim(PID, owner="w2", lease_seconds=LEASE)
            return seen

    with Interleaved(table, clock=clock) as db, rival:
        result = db.claim(PID, owner="w1", lease_seconds=LEASE, replace=True)

        assert result.outcome is ClaimOutcome.ALREADY_CLAIMED
        assert result.record.claim_owner == "w2"
        assert db.ops.conditional_failures == 1
        assert db.get(PID).claim_owner == "w2"  # type: ignore[union-attr]


# ---------------------------------------------------------------- index use


@pytest.fixture
def calls(aws: LocalAWS) -> tuple[Any, list[tuple[str, dict[str, Any]]]]:
    """A client that records each request's operation and parameters."""
    client = aws.client("dynamodb")
    seen: list[tuple[str, dict[str, Any]]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        seen.append((model.name, params))

    client.meta.events.register("before-parameter-build.dynamodb", record)
    return client, seen


@pytest.mark.parametrize(
    "filters",
    [
        {"state": State.FAILED},
        {"state": State.FAILED, "collections_workflow": CW},
        {"state": State.FAILED, "workflow": "cog", "since": "1h", "limit": 2},
        {"error_prefix": "TaskError", "state": State.FAILED},
        {"since": "1h"},
        {"collections_workflow": CW, "limit": 1},
    ],
    ids=lambda f: "-".join(sorted(f)),
)
def test_filtered_queries_use_the_indexes_never_scan(
    table: str,
    clock: FakeClock,
    calls: tuple[Any, list[tuple[str, dict[str, Any]]]],
    filters: dict[str, Any],
) -> None:
    client, seen = calls
    with DynamoDBStateDB(table, clock=clock, client=client) as db:
        for n in range(4):
            db.finish(pid(n), State.FAILED if n % 2 else State.SUCCEEDED, owner=None, error="X")
            clock.advance(1)
        db.finish(pid(9), State.FAILED, owner=None, error="TaskError: y")
        seen.clear()

        page = db.query(**filters)

    assert page.records
    operations = [operation for operation, _ in seen]
    assert "Scan" not in operations
    assert set(operations) == {"Query"}
    indexes = [params.get("IndexName") for _, params in seen]
    partition_lists = [p for _, p in seen if "cirrus#partitions" in str(p)]
    expected_index = "state_updated" if "state" in filters else "updated"
    assert [i for i in indexes if i] == [expected_index]
    assert len(partition_lists) == (0 if "collections_workflow" in filters else 1)


def test_counts_never_scan(
    table: str, clock: FakeClock, calls: tuple[Any, list[tuple[str, dict[str, Any]]]]
) -> None:
    client, seen = calls
    with DynamoDBStateDB(table, clock=clock, client=client) as db:
        db.claim(pid(1), owner="w1", lease_seconds=LEASE)
        db.finish(pid(2), State.FAILED, owner=None, error="E: x")
        seen.clear()

        assert db.counts() == {("cog", State.CLAIMED): 1, ("cog", State.FAILED): 1}
        assert db.counts(since="1h", group_by="collections_workflow") == {
            (CW, State.CLAIMED): 1,
            (CW, State.FAILED): 1,
        }

    assert {operation for operation, _ in seen} == {"Query"}


# ---------------------------------------------------------------- batching


class Unprocessed:
    """A client that leaves part of each first batch request unprocessed."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.batch_sizes: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        ((table, request),) = RequestItems.items()
        keys = request["Keys"]
        self.batch_sizes.append(len(keys))
        if len(self.batch_sizes) == 1 and len(keys) > 1:
            half = len(keys) // 2
            response: dict[str, Any] = self.client.batch_get_item(
                RequestItems={table: {**request, "Keys": keys[:half]}}
            )
            response["UnprocessedKeys"] = {table: {**request, "Keys": keys[half:]}}
            return response
        result: dict[str, Any] = self.client.batch_get_item(RequestItems=RequestItems)
        return result

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        ((table, requests),) = RequestItems.items()
        self.batch_sizes.append(len(requests))
        if len(requests) > 1 and len(self.batch_sizes) == 1:
            response: dict[str, Any] = self.client.batch_write_item(
                RequestItems={table: requests[:1]}
            )
            response["UnprocessedItems"] = {table: requests[1:]}
            return response
        result: dict[str, Any] = self.client.batch_write_item(RequestItems=RequestItems)
        return result


def test_get_many_reads_100_keys_a_call_and_retries_unprocessed(
    table: str, client: Any, clock: FakeClock
) -> None:
    ids = [pid(n) for n in range(250)]
    with DynamoDBStateDB(table, clock=clock) as writer:
        writer.claim_many([(p, False) for p in ids], owner="w1", lease_seconds=LEASE)
    flaky = Unprocessed(client)
    with DynamoDBStateDB(table, clock=clock, client=flaky) as db:
        found = db.get_many([*ids, pid(9999), "not a payload id"])

        assert set(found) == set(ids)
        assert flaky.batch_sizes == [100, 50, 100, 51]
        assert db.ops.requests["BatchGetItem"] == 4
        assert db.ops.items_read == 250


def test_events_are_batch_written_and_unprocessed_ones_retried(
    table: str, client: Any, clock: FakeClock
) -> None:
    flaky = Unprocessed(client)
    with DynamoDBStateDB(table, clock=clock, client=flaky) as db:
        added = db.add_events([NewEvent(pid(n), EventType.SUCCEEDED) for n in range(20)])

        assert [e.id for e in added] == list(range(1, 21))
        assert flaky.batch_sizes == [25, 24, 15]  # 40 items: 25 a call, 24 retried
        assert db.events() == added
        assert db.events(pid(3)) == [added[3]]
        assert db.ops.items_written == 41  # the counter and 40 event items


def test_ops_count_requests_per_payload(db: DynamoDBStateDB) -> None:
    ids = [pid(n) for n in range(10)]
    db.claim_many([(p, False) for p in ids], owner="w", lease_seconds=LEASE)
    db.ops.reset()

    db.start_many([(p, "e") for p in ids], owner="w", lease_seconds=LEASE)

    assert db.ops.snapshot() == {
        "requests": {"BatchGetItem": 1, "UpdateItem": 10},
        "reads": 1,
        "writes": 10,
        "items_read": 10,
        "items_written": 10,
        "conditional_failures": 0,
    }


# ---------------------------------------------------------------- configuration and errors


def test_open_by_url(aws: LocalAWS, table: str) -> None:
    with open_state_db(f"dynamodb://{table}") as db:
        assert isinstance(db, DynamoDBStateDB) and db.table == table
        db.claim(PID, owner="w1", lease_seconds=LEASE)
    with pytest.raises(
        ConfigError, match=r"names nothing after dynamodb://: use dynamodb://<table>"
    ):
        open_state_db("dynamodb://")
    with pytest.raises(ConfigError, match="names no table"):
        DynamoDBStateDB.from_url("dynamodb:///")
    with pytest.raises(ConfigError, match="not valid"):
        open_state_db("dynamodb://no spaces allowed")


def test_service_endpoint_variable_is_honoured(
    aws: LocalAWS, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", aws.endpoint)

    with DynamoDBStateDB(table) as db:
        assert db.get(PID) is None


def test_missing_table_names_the_fix(aws: LocalAWS) -> None:
    with (
        DynamoDBStateDB("cirrus-no-such-table") as db,
        pytest.raises(StateError, match=r"'cirrus-no-such-table' does not exist.*ensure_table"),
    ):
        db.get(PID)


def test_unreachable_endpoint_is_a_state_error(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")

    with DynamoDBStateDB("cirrus-state") as db, pytest.raises(StateError, match="cannot reach"):
        db.get(PID)


def test_no_region_is_a_config_error(aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION")

    with pytest.raises(ConfigError, match="AWS_DEFAULT_REGION"):
        DynamoDBStateDB("cirrus-state")
