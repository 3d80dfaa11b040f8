"""The SQLite state database: the embedded default, safe across threads and processes.

The file runs in WAL mode with ``synchronous=NORMAL``: a commit survives a killed
process (the WAL is in the OS cache before ``COMMIT`` returns), while readers never
block the single writer. Every write method is one ``BEGIN IMMEDIATE`` transaction,
so two processes cannot both decide to claim the same payload: the second waits
for the first to commit and then sees its claim.

Each thread (and each process after a fork) gets its own connection::

    db = SQLiteStateDB("/project/.cirrus/state.db")
    db.claim_many([(pid, False) for pid in ids], owner="w1", lease_seconds=300)
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from typing import Any

from cirrus._sqlite import SQLiteFile
from cirrus.errors import ConfigError, StateError
from cirrus.state._transactional import TransactionalStateDB, number_events
from cirrus.state.base import PERIODS, Clock, EventCount, GroupBy, Period, QueryFilter
from cirrus.state.models import (
    EventType,
    NewEvent,
    State,
    StateRecord,
    WorkflowEvent,
    format_time,
    parse_time,
    split_payload_id,
)

__all__ = ["SCHEMA_VERSION", "SQLiteStateDB"]

SCHEMA_VERSION = 2
"""The schema this code writes; older files are migrated on open."""

# version -> statements that bring a file from version - 1 to version
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE state_records (
            payload_id TEXT PRIMARY KEY,
            collections_workflow TEXT NOT NULL,
            workflow TEXT NOT NULL,
            state TEXT NOT NULL,
            created TEXT NOT NULL,
            updated TEXT NOT NULL,
            executions TEXT NOT NULL,
            last_error TEXT,
            output_url TEXT,
            claimed_at TEXT,
            claim_owner TEXT,
            lease_expires TEXT,
            previous_state TEXT
        )""",
        # One index per query pattern, each serving "newest first" order. payload_id
        # is left out of them (ties on `updated` are sorted after the index scan):
        # long ids in every index entry cost 40% of batch write speed.
        "CREATE INDEX records_cw_updated ON state_records (collections_workflow, updated)",
        "CREATE INDEX records_state_updated ON state_records (state, updated)",
        "CREATE INDEX records_updated ON state_records (updated)",
        """CREATE TABLE workflow_events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            payload_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            time TEXT NOT NULL,
            execution TEXT,
            error TEXT,
            input_url TEXT,
            output_url TEXT
        )""",
        "CREATE INDEX events_payload ON workflow_events (payload_id, id)",
    ),
    # 2: execution times (when the last execution started, how long the last one took);
    # for the dashboard, events by time and running counts per partition and state, kept
    # up to date by every write of this module (see _store), so counting a million records
    # reads a handful of rows
    2: (
        "ALTER TABLE state_records ADD COLUMN started TEXT",
        "ALTER TABLE state_records ADD COLUMN duration REAL",
        "CREATE INDEX events_time ON workflow_events (time)",
        """CREATE TABLE state_counts (
            collections_workflow TEXT NOT NULL,
            workflow TEXT NOT NULL,
            state TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (collections_workflow, state)
        )""",
        """INSERT INTO state_counts (collections_workflow, workflow, state, n)
            SELECT collections_workflow, workflow, state, count(*) FROM state_records
            GROUP BY collections_workflow, state""",
    ),
}

_COUNT = (
    "INSERT INTO state_counts (collections_workflow, workflow, state, n) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (collections_workflow, state) DO UPDATE SET n = n + excluded.n"
)

_RECORD_COLUMNS = (
    "payload_id, state, created, updated, executions, last_error, output_url,"
    " claimed_at, claim_owner, lease_expires, previous_state, started, duration"
)
_UPSERT = (
    "INSERT INTO state_records (collections_workflow, workflow, payload_id, state, created,"
    " updated, executions, last_error, output_url, claimed_at, claim_owner, lease_expires,"
    " previous_state, started, duration)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (payload_id) DO UPDATE SET state = excluded.state,"
    " created = excluded.created, updated = excluded.updated,"
    " executions = excluded.executions, last_error = excluded.last_error,"
    " output_url = excluded.output_url, claimed_at = excluded.claimed_at,"
    " claim_owner = excluded.claim_owner, lease_expires = excluded.lease_expires,"
    " previous_state = excluded.previous_state, started = excluded.started,"
    " duration = excluded.duration"
)
_EVENT_COLUMNS = "id, payload_id, event_type, time, execution, error, input_url, output_url"
_CHUNK = 500  # ids per IN (...) lookup, well under SQLite's variable limit


def _opt_time(value: datetime | None) -> str | None:
    return None if value is None else format_time(value)


def _opt_parse(text: str | None) -> datetime | None:
    return None if text is None else parse_time(text)


_encode_list = json.JSONEncoder(separators=(",", ":")).encode
_decode_list = json.JSONDecoder().decode


_STATES = {state.value: state for state in State}
"""Stored text to state: a dict lookup, where ``State(text)`` costs a call of the enum."""


def _row(record: StateRecord) -> tuple[Any, ...]:
    # a few hundred rows per batch write: the id is split once (cached), and the states'
    # text is read from ``_value_``, an attribute, rather than the ``value`` property
    collections, workflow, _ = split_payload_id(record.payload_id)
    previous = record.previous_state
    return (
        f"{collections}_{workflow}",
        workflow,
        record.payload_id,
        record.state._value_,
        format_time(record.created),
        format_time(record.updated),
        _encode_list(record.executions) if record.executions else "[]",
        record.last_error,
        record.output_url,
        _opt_time(record.claimed_at),
        record.claim_owner,
        _opt_time(record.lease_expires),
        None if previous is None else previous._value_,
        _opt_time(record.started),
        record.duration,
    )


def _record(row: Sequence[Any]) -> StateRecord:
    return StateRecord(
        payload_id=row[0],
        state=_STATES[row[1]],
        created=parse_time(row[2]),
        updated=parse_time(row[3]),
        executions=tuple(_decode_list(row[4])) if row[4] != "[]" else (),
        last_error=row[5],
        output_url=row[6],
        claimed_at=_opt_parse(row[7]),
        claim_owner=row[8],
        lease_expires=_opt_parse(row[9]),
        previous_state=None if row[10] is None else _STATES[row[10]],
        started=_opt_parse(row[11]),
        duration=row[12],
    )


def _event(row: Sequence[Any]) -> WorkflowEvent:
    return WorkflowEvent(
        id=row[0],
        payload_id=row[1],
        event_type=EventType(row[2]),
        time=parse_time(row[3]),
        execution=row[4],
        error=row[5],
        input_url=row[6],
        output_url=row[7],
    )


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


class SQLiteStateDB(TransactionalStateDB[sqlite3.Connection]):
    """State records and events in one SQLite file.

    Args:
        path: the database file; missing parent folders are created.
        timeout: seconds a write waits for another writer before giving up
            with :class:`~cirrus.errors.StateError`.
        clock: returns "now" as an aware UTC datetime.

    Raises:
        StateError: the file cannot be opened, is not a state database, or was
            written by a newer cirrus.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, timeout: float = 30.0, clock: Clock | None = None
    ) -> None:
        super().__init__(clock=clock)
        if str(path) in ("", ":memory:"):
            raise ConfigError(
                "an in-memory SQLite file cannot be shared between threads: "
                "use open_state_db('memory://') for a state database in memory"
            )
        self._file = SQLiteFile(path, what="state database", error=StateError, timeout=timeout)
        self.path = self._file.path
        self.timeout = timeout
        if self._file.writable():
            self._file.create_folder()
            self._migrate()
        else:
            # a read-only project: queries work, changes say why they cannot be made
            self._file = SQLiteFile(
                path, what="state database", error=StateError, timeout=timeout, read_only=True
            )
            self._check_version()

    @classmethod
    def from_url(cls, url: str) -> SQLiteStateDB:
        """Open ``sqlite:///abs/path.db`` (or ``sqlite://relative.db``)."""
        return cls(url.removeprefix("sqlite://"))

    def __repr__(self) -> str:
        return f"SQLiteStateDB({str(self.path)!r})"

    # ------------------------------------------------------------ connections

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction, committed before the block's caller returns."""
        return self._file.transaction()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._file.errors():
            yield self._file.connection()

    def _migrate(self) -> None:
        with self._transaction() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            version = conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] or 0
            if version > SCHEMA_VERSION:
                raise StateError(
                    f"state database {self.path} has schema version {version}, newer than "
                    f"this cirrus understands ({SCHEMA_VERSION}): upgrade cirrus"
                )
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[target]:
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (target,))

    def _check_version(self) -> None:
        with self._read() as conn:
            version = conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise StateError(
                f"state database {self.path} has schema version {version}, and its folder "
                f"cannot be written to bring it to version {SCHEMA_VERSION}: open it where "
                "it can be written once"
            )

    @staticmethod
    def _load(conn: sqlite3.Connection, payload_ids: Iterable[str]) -> dict[str, StateRecord]:
        unique = list(dict.fromkeys(payload_ids))
        found: dict[str, StateRecord] = {}
        for chunk in _chunks(unique):
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT {_RECORD_COLUMNS} FROM state_records WHERE payload_id IN ({marks})"  # noqa: S608
            for row in conn.execute(sql, chunk):
                found[row[0]] = _record(row)
        return found

    @staticmethod
    def _store(
        conn: sqlite3.Connection,
        records: Iterable[StateRecord],
        previous: Mapping[str, StateRecord] | None = None,
    ) -> None:
        rows = [_row(record) for record in records]
        if not rows:
            return
        # the running counts move with the states: one row per partition and state changed,
        # not one per record (a trigger per record cost half the write speed)
        before: dict[str, tuple[str, str, str]] = {}
        if previous is not None:  # loaded in this transaction: no need to read them again
            for row in rows:
                stored = previous.get(row[2])
                if stored is not None:
                    before[row[2]] = (row[0], row[1], stored.state._value_)
        else:
            for chunk in _chunks([row[2] for row in rows]):
                marks = ",".join("?" * len(chunk))
                sql = (
                    "SELECT payload_id, collections_workflow, workflow, state"  # noqa: S608
                    f" FROM state_records WHERE payload_id IN ({marks})"
                )
                before.update((row[0], row[1:]) for row in conn.execute(sql, chunk))
        moves: Counter[tuple[str, str, str]] = Counter()
        for row in rows:
            old = before.get(row[2])
            if old is None:  # a new record
                moves[(row[0], row[1], row[3])] += 1
            elif old[2] != row[3]:  # counted where the stored row says it belongs
                moves[(old[0], old[1], row[3])] += 1
                moves[old] -= 1
        conn.executemany(_UPSERT, rows)
        if moves:
            conn.executemany(_COUNT, [(*key, n) for key, n in moves.items() if n])

    @staticmethod
    def _store_leases(conn: sqlite3.Connection, records: Sequence[StateRecord]) -> None:
        # a renewal changes only the lease: update that column, not the whole row
        conn.executemany(
            "UPDATE state_records SET lease_expires = ? WHERE payload_id = ?",
            [(_opt_time(record.lease_expires), record.payload_id) for record in records],
        )

    @staticmethod
    def _delete(conn: sqlite3.Connection, payload_id: str) -> None:
        row = conn.execute(
            "SELECT collections_workflow, workflow, state FROM state_records WHERE payload_id = ?",
            (payload_id,),
        ).fetchone()
        if row is not None:
            conn.execute("DELETE FROM state_records WHERE payload_id = ?", (payload_id,))
            conn.execute(_COUNT, (*row, -1))

    # ------------------------------------------------------------ StateDB

    def get_many(self, payload_ids: Sequence[str]) -> dict[str, StateRecord]:
        with self._read() as conn:
            return self._load(conn, payload_ids)

    def not_held(self, payload_ids: Sequence[str], owner: str) -> set[str]:
        # the rule of rules.holds, asked of the index: no record is loaded
        unique = list(dict.fromkeys(payload_ids))
        held: set[str] = set()
        with self._read() as conn:
            for chunk in _chunks(unique):
                marks = ",".join("?" * len(chunk))
                sql = (
                    "SELECT payload_id FROM state_records"  # noqa: S608
                    f" WHERE payload_id IN ({marks}) AND claim_owner = ?"
                    " AND state IN ('CLAIMED', 'PROCESSING')"
                )
                held.update(row[0] for row in conn.execute(sql, [*chunk, owner]))
        return set(unique) - held

    @staticmethod
    def _insert_events(
        conn: sqlite3.Connection, events: Sequence[NewEvent], now: datetime
    ) -> list[WorkflowEvent]:
        if not events:
            return []
        # we hold the write lock, so the next ids are ours to number
        row = conn.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = 'workflow_events'"
        ).fetchone()
        added = number_events(events, row[0] if row else 0, now)
        conn.executemany(
            f"INSERT INTO workflow_events ({_EVENT_COLUMNS})"  # noqa: S608
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    e.id,
                    e.payload_id,
                    e.event_type._value_,
                    format_time(e.time),
                    e.execution,
                    e.error,
                    e.input_url,
                    e.output_url,
                )
                for e in added
            ],
        )
        return added

    def events(
        self, payload_id: str | None = None, *, after_id: int = 0, limit: int | None = None
    ) -> list[WorkflowEvent]:
        sql = f"SELECT {_EVENT_COLUMNS} FROM workflow_events WHERE id > ?"  # noqa: S608
        params: list[Any] = [after_id]
        if payload_id is not None:
            sql += " AND payload_id = ?"
            params.append(payload_id)
        sql += " ORDER BY id LIMIT ?"
        params.append(-1 if limit is None else limit)
        with self._read() as conn:
            return [_event(row) for row in conn.execute(sql, params)]

    def counts(
        self, *, since: timedelta | str | None = None, group_by: GroupBy = "workflow"
    ) -> dict[tuple[str, State], int]:
        column = "workflow" if group_by == "workflow" else "collections_workflow"
        updated_since = self._since(since)
        if updated_since is None:  # the running counts the triggers keep
            sql = (
                f"SELECT {column}, state, sum(n) FROM state_counts"  # noqa: S608
                " GROUP BY 1, 2 HAVING sum(n) > 0"
            )
            with self._read() as conn:
                return {(group, State(state)): n for group, state, n in conn.execute(sql)}
        sql = f"SELECT {column}, state, count(*) FROM state_records"  # noqa: S608
        params: list[Any] = []
        if updated_since is not None:
            sql += " WHERE updated >= ?"
            params.append(format_time(updated_since))
        sql += " GROUP BY 1, 2"
        with self._read() as conn:
            return {(group, State(state)): n for group, state, n in conn.execute(sql, params)}

    def event_counts(self, *, since: datetime, period: Period) -> list[EventCount]:
        width = PERIODS[period]
        sql = (
            "SELECT substr(time, 1, ?), event_type, count(*), count(DISTINCT payload_id)"
            " FROM workflow_events WHERE time >= ? GROUP BY 1, 2 ORDER BY 1, 2"
        )
        with self._read() as conn:
            rows = conn.execute(sql, (width, format_time(since))).fetchall()
        return [EventCount(row[0], EventType(row[1]), row[2], row[3]) for row in rows]

    def _select(
        self, where: QueryFilter, after: tuple[datetime, str] | None, limit: int | None
    ) -> list[StateRecord]:
        clauses: list[str] = []
        params: list[Any] = []
        if where.collections_workflow is not None:
            clauses.append("collections_workflow = ?")
            params.append(where.collections_workflow)
        if where.workflow is not None:
            clauses.append("workflow = ?")
            params.append(where.workflow)
        if where.state is not None:
            clauses.append("state = ?")
            params.append(where.state.value)
        if where.updated_since is not None:
            clauses.append("updated >= ?")
            params.append(format_time(where.updated_since))
        if where.error_prefix is not None:
            # substr, not LIKE: the prefix is literal text, % and _ included
            clauses.append("substr(last_error, 1, ?) = ?")
            params.extend([len(where.error_prefix), where.error_prefix])
        if after is not None:
            # the first term is an index range; the second skips what was already seen
            if where.ascending:
                clauses.append("updated >= ? AND (updated > ? OR payload_id > ?)")
            else:
                clauses.append("updated <= ? AND (updated < ? OR payload_id < ?)")
            updated = format_time(after[0])
            params.extend([updated, updated, after[1]])
        sql = f"SELECT {_RECORD_COLUMNS} FROM state_records"  # noqa: S608
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        order = "ASC" if where.ascending else "DESC"
        sql += f" ORDER BY updated {order}, payload_id {order} LIMIT ?"
        params.append(-1 if limit is None else limit)
        with self._read() as conn:
            return [_record(row) for row in conn.execute(sql, params)]

    def close(self) -> None:
        """Close this process's connections (a forked child leaves its parent's alone)."""
        self._file.close()
