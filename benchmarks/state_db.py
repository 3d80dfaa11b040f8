"""Throughput of the SQLite state database on the pipeline's hot path.

Runs N payloads through claim -> start -> finish in batches, as the pipeline does,
and prints records per second for each step and for the whole path, with and
without the three workflow events per payload; then the same path one call per
payload for comparison.

    .venv/bin/python benchmarks/state_db.py [--n 10000] [--batch 500]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cirrus.state import EventType, FinishUpdate, NewEvent, SQLiteStateDB, State

LEASE = 300.0


def ids(prefix: str, n: int) -> list[str]:
    return [f"sentinel-2-l2a/workflow-{prefix}/S2A_{i:07d}" for i in range(n)]


def batched(values: list[str], size: int) -> list[list[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def batch_path(
    db: SQLiteStateDB, payload_ids: list[str], size: int, events: bool
) -> dict[str, float]:
    """claim_many -> start_many -> finish_many per batch; seconds spent per call.

    With ``events``, each call also records one workflow event per payload in the
    same transaction (the ``events=`` argument), as the pipeline does.
    """
    spent = {"claim_many": 0.0, "start_many": 0.0, "finish_many": 0.0}

    def timed(step: str, call: Callable[..., object], argument: object, **kwargs: object) -> None:
        start = time.perf_counter()
        call(argument, **kwargs)
        spent[step] += time.perf_counter() - start

    def log(batch: list[str], event_type: EventType) -> list[NewEvent]:
        return [NewEvent(p, event_type, execution="e") for p in batch] if events else []

    for batch in batched(payload_ids, size):
        claims = [(p, False) for p in batch]
        started = log(batch, EventType.CLAIMED_PROCESSING)
        timed("claim_many", db.claim_many, claims, owner="w", lease_seconds=LEASE, events=started)
        starts = [(p, "e") for p in batch]
        started = log(batch, EventType.STARTED_PROCESSING)
        timed("start_many", db.start_many, starts, owner="w", lease_seconds=LEASE, events=started)
        updates = [
            FinishUpdate(p, State.SUCCEEDED, "w", output_url=f"file:///{p}.json") for p in batch
        ]
        timed("finish_many", db.finish_many, updates, events=log(batch, EventType.SUCCEEDED))
    return spent


def single_path(db: SQLiteStateDB, payload_ids: list[str]) -> float:
    start = time.perf_counter()
    for p in payload_ids:
        db.claim(p, owner="w", lease_seconds=LEASE)
        db.start(p, "exec-1", owner="w", lease_seconds=LEASE)
        db.finish(p, State.SUCCEEDED, owner="w")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="payloads per run (default 10000)")
    parser.add_argument("--batch", type=int, default=500, help="payloads per batch (default 500)")
    parser.add_argument(
        "--single", type=int, default=2_000, help="payloads for the one-call-per-payload run"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        db = SQLiteStateDB(Path(folder) / "state.db")
        print(f"SQLite state database, {args.n} payloads, batches of {args.batch}")
        for label, events in (
            ("state only", False),
            ("state + 1 event per step, same transaction", True),
        ):
            spent = batch_path(
                db, ids("bench-events" if events else "bench", args.n), args.batch, events
            )
            total = sum(spent.values())
            print(f"\n  {label}:")
            for step, seconds in spent.items():
                if seconds:
                    print(f"    {step:<12} {args.n / seconds:>10,.0f} records/s")
            print(f"    {'end to end':<12} {args.n / total:>10,.0f} payloads/s  ({total:.2f}s)")

        seconds = single_path(db, ids("bench-single", args.single))
        print(f"\n  one call per payload ({args.single} payloads, 3 transactions each):")
        print(f"    {'end to end':<12} {args.single / seconds:>10,.0f} payloads/s")

        start = time.perf_counter()
        page = db.query(state=State.SUCCEEDED, limit=1000)
        elapsed = 1000 * (time.perf_counter() - start)
        print(f"\n  query 1000 newest SUCCEEDED of {3 * args.n:,}: {elapsed:.1f} ms")
        start = time.perf_counter()
        db.get_many([r.payload_id for r in page.records])
        print(f"  get_many 1000: {1000 * (time.perf_counter() - start):.1f} ms")
        db.close()


if __name__ == "__main__":
    main()
