"""DynamoDB requests per payload on the pipeline's hot path (the cost estimate's input).

Starts a moto server on 127.0.0.1, creates a state table in upstream's layout, and
runs N payloads through claim -> start (PROCESSING) -> finish (SUCCEEDED) in
batches, each step recording one workflow event per payload, as the pipeline does.
Prints, per payload and step, the requests by operation, the items read and
written, and conditional failures; then two workers racing to claim the same
payloads, to show what a lost race costs.

    .venv/bin/python benchmarks/state_dynamodb_ops.py [--n 500] [--batch 10]

Request and item counts do not depend on the emulator; times do (moto runs in this
process), so none are printed.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

# this checkout first: its cirrus, and tests.aws_server for the local moto server
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cirrus.state import DynamoDBStateDB, EventType, FinishUpdate, NewEvent, State
from cirrus.state.dynamodb import create_table

LEASE = 300.0
OPERATIONS = ("BatchGetItem", "Query", "UpdateItem", "PutItem", "BatchWriteItem")


def start_moto() -> Any:
    """A moto server on a free local port, with this process pointed at it.

    moto's DynamoDB requests are handled one at a time, as atomic as DynamoDB's
    (see ``tests/aws_server.py``): otherwise racing claims can both win on moto.
    """
    from moto.dynamodb.responses import DynamoHandler
    from moto.server import ThreadedMotoServer

    from tests.aws_server import free_port, serialised_dynamodb_dispatch

    port = free_port()
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]
    os.environ.update(
        AWS_ACCESS_KEY_ID="benchmark",
        AWS_SECRET_ACCESS_KEY="benchmark",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    DynamoHandler._dispatch = serialised_dynamodb_dispatch()  # type: ignore[method-assign]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server


def ids(prefix: str, n: int) -> list[str]:
    return [f"sentinel-2-l2a/workflow-{prefix}/S2A_{i:07d}" for i in range(n)]


def batched(values: list[str], size: int) -> list[list[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    requests = {
        op: after["requests"].get(op, 0) - before["requests"].get(op, 0)
        for op in set(after["requests"]) | set(before["requests"])
    }
    counts = {
        key: after[key] - before[key]
        for key in ("reads", "writes", "items_read", "items_written", "conditional_failures")
    }
    return {"requests": requests, **counts}


def pipeline(db: DynamoDBStateDB, payload_ids: list[str], size: int) -> dict[str, dict[str, Any]]:
    """claim_many -> start_many -> finish_many per batch, one event per payload per step."""
    steps: dict[str, dict[str, Any]] = {}

    def run(step: str, call: Any, *args: Any, **kwargs: Any) -> None:
        before = db.ops.snapshot()
        call(*args, **kwargs)
        counted = delta(before, db.ops.snapshot())
        total = steps.setdefault(step, {"requests": {}})
        for op, n in counted.pop("requests").items():
            total["requests"][op] = total["requests"].get(op, 0) + n
        for key, n in counted.items():
            total[key] = total.get(key, 0) + n

    def log(batch: list[str], event_type: EventType) -> list[NewEvent]:
        return [NewEvent(p, event_type, execution="e") for p in batch]

    for batch in batched(payload_ids, size):
        run(
            "claim",
            db.claim_many,
            [(p, False) for p in batch],
            owner="w",
            lease_seconds=LEASE,
            events=log(batch, EventType.CLAIMED_PROCESSING),
        )
        run(
            "start",
            db.start_many,
            [(p, "e") for p in batch],
            owner="w",
            lease_seconds=LEASE,
            events=log(batch, EventType.STARTED_PROCESSING),
        )
        run(
            "finish",
            db.finish_many,
            [FinishUpdate(p, State.SUCCEEDED, "w", output_url=f"s3://p/{p}.json") for p in batch],
            events=log(batch, EventType.SUCCEEDED),
        )
    return steps


def race(table: str, payload_ids: list[str], size: int) -> dict[str, int]:
    """Two workers claim the same batches at the same moment; returns the totals."""
    workers = [DynamoDBStateDB(table), DynamoDBStateDB(table)]
    won = [0, 0]

    def claim(index: int, batch: list[str], barrier: threading.Barrier) -> None:
        barrier.wait()
        results = workers[index].claim_many(
            [(p, False) for p in batch], owner=f"w{index}", lease_seconds=LEASE
        )
        won[index] += sum(result.claimed for result in results)

    for batch in batched(payload_ids, size):
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=claim, args=(i, batch, barrier)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    totals = {"claimed": sum(won)}
    for worker in workers:
        for key, value in worker.ops.snapshot().items():
            if key != "requests":
                totals[key] = totals.get(key, 0) + value
        worker.close()
    return totals


def print_steps(steps: dict[str, dict[str, Any]], n: int) -> None:
    header = f"{'step':<8}" + "".join(f"{op:>15}" for op in OPERATIONS)
    header += f"{'requests':>10}{'items r':>9}{'items w':>9}{'cond.fail':>10}"
    print(header)
    total: dict[str, float] = {}
    for step, counted in [*steps.items(), ("total", None)]:
        if counted is None:
            values = total
        else:
            values = {op: counted["requests"].get(op, 0) / n for op in OPERATIONS}
            values["requests"] = sum(counted["requests"].values()) / n
            values["items_read"] = counted["items_read"] / n
            values["items_written"] = counted["items_written"] / n
            values["conditional_failures"] = counted["conditional_failures"] / n
            for key, value in values.items():
                total[key] = total.get(key, 0.0) + value
        line = f"{step:<8}" + "".join(f"{values.get(op, 0.0):>15.2f}" for op in OPERATIONS)
        line += f"{values['requests']:>10.2f}{values['items_read']:>9.2f}"
        line += f"{values['items_written']:>9.2f}{values['conditional_failures']:>10.2f}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="payloads (default 500)")
    parser.add_argument(
        "--batch", type=int, default=10, help="payloads per batch (default 10: an SQS batch)"
    )
    args = parser.parse_args()
    server = start_moto()
    try:
        create_table("cirrus-bench-state")
        with DynamoDBStateDB("cirrus-bench-state") as db:
            steps = pipeline(db, ids("cog", args.n), args.batch)
        print(
            f"DynamoDB per payload: {args.n} payloads, batches of {args.batch}, "
            "claim -> start -> finish, one event per payload per step\n"
        )
        print_steps(steps, args.n)
        batches = -(-args.n // args.batch)
        state_writes = 3.0  # one UpdateItem per payload and step
        # a GSI entry whose key changes costs a delete and a put (AWS bills both); the
        # claim creates the item (one put per index), start and finish change both keys
        gsi_writes = 2 * 1 + 2 * 2 + 2 * 2
        event_items = 3 * 2  # each event: the log and the payload's copy
        counters = 3 * batches / args.n  # one counter update per step and batch
        print(
            "\nwrite request units per payload (on-demand, items under 1 KB): "
            f"{state_writes + gsi_writes + event_items + counters:.2f} = "
            f"{state_writes:.0f} state item writes + {gsi_writes} index writes (two GSIs, "
            f"projection ALL) + {event_items} event items + {counters:.2f} counter updates"
        )
        print(
            "read request units per payload: 3 strongly consistent BatchGetItem items "
            "(one per step) = 3.00, plus the partition list read once per process"
        )

        race_ids = ids("race", min(args.n, 200))
        create_table("cirrus-bench-race")
        totals = race("cirrus-bench-race", race_ids, args.batch)
        per = len(race_ids)
        print(
            f"\nTwo workers racing to claim the same {per} payloads (batches of {args.batch}): "
            f"{totals['claimed']} claims won (one per payload), per payload "
            f"{(totals['reads'] + totals['writes']) / per:.2f} requests, "
            f"{totals['writes'] / per:.2f} writes, "
            f"{totals['conditional_failures'] / per:.2f} conditional failures"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
