"""A separate OS process that works on a SQLite state database, for the race tests.

Usage: ``python -m tests.state.race_worker MODE DB OWNER [ARG]``

- ``claim DB OWNER GOFILE``: print ``ready``, wait for GOFILE to exist, claim ``ids()`` one at a
  time in a shuffled order, print the claimed ids as a JSON list.
- ``hang DB OWNER``: claim ``hang_ids()`` in one batch, but stop inside the
  transaction after the rows are written and print ``mid-transaction``.
- ``loop DB OWNER``: claim batches of ``BATCH`` new ids forever, printing
  ``committed <n>`` after each commit.
"""

from __future__ import annotations

import json
import random
import sqlite3
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from cirrus.state import SQLiteStateDB, StateRecord

BATCH = 2000


def ids(count: int = 200) -> list[str]:
    return [f"race/workflow-claim/item-{n:04d}" for n in range(count)]


def hang_ids() -> list[str]:
    return [f"hang/workflow-claim/item-{n:04d}" for n in range(500)]


def batch_ids(number: int) -> list[str]:
    return [f"loop/workflow-claim/batch-{number:04d}-{n:05d}" for n in range(BATCH)]


class HangingDB(SQLiteStateDB):
    """Stops forever after writing rows, before COMMIT."""

    @staticmethod
    def _store(
        conn: sqlite3.Connection,
        records: Iterable[StateRecord],
        previous: Mapping[str, StateRecord] | None = None,
    ) -> None:
        SQLiteStateDB._store(conn, records, previous)
        print("mid-transaction", flush=True)
        time.sleep(120)


def main(argv: list[str]) -> None:
    mode, path, owner = argv[:3]
    if mode == "claim":
        go = Path(argv[3])
        db = SQLiteStateDB(path)
        order = ids()
        random.shuffle(order)
        print("ready", flush=True)
        while not go.exists():
            time.sleep(0.005)
        claimed = [pid for pid in order if db.claim(pid, owner=owner, lease_seconds=300).claimed]
        print(json.dumps(claimed), flush=True)
    elif mode == "hang":
        HangingDB(path).claim_many(
            [(pid, False) for pid in hang_ids()], owner=owner, lease_seconds=300
        )
    elif mode == "loop":
        db = SQLiteStateDB(path)
        for number in range(10_000):
            db.claim_many(
                [(pid, False) for pid in batch_ids(number)], owner=owner, lease_seconds=300
            )
            print(f"committed {number}", flush=True)
    else:
        raise SystemExit(f"unknown mode {mode!r}: use claim, hang or loop")


if __name__ == "__main__":
    main(sys.argv[1:])
