"""Fixtures for the state database tests: a fake clock and one ``db`` per backend.

A new backend joins the contract suite by adding one ``pytest.param`` to
``BACKENDS`` below. The DynamoDB backend gets a fresh table on the run's moto
server for each test.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cirrus.state import DynamoDBStateDB, MemoryStateDB, SQLiteStateDB, StateDB
from cirrus.state.dynamodb import create_table
from tests.aws_server import LocalAWS

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


Factory = Callable[[pytest.FixtureRequest, Path, FakeClock], StateDB]

_tables = itertools.count(1)


def new_table(aws: LocalAWS) -> str:
    """A new, empty state table on the moto server (upstream's layout)."""
    name = f"cirrus-state-{next(_tables)}"
    create_table(name, client=aws.client("dynamodb"))
    return name


def _dynamodb(request: pytest.FixtureRequest, tmp: Path, clock: FakeClock) -> StateDB:
    return DynamoDBStateDB(new_table(request.getfixturevalue("aws")), clock=clock)


BACKENDS = [
    pytest.param(lambda request, tmp, clock: MemoryStateDB(clock=clock), id="memory"),
    pytest.param(
        lambda request, tmp, clock: SQLiteStateDB(tmp / "state.db", clock=clock), id="sqlite"
    ),
    pytest.param(_dynamodb, id="dynamodb"),
]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[StateDB]:
    factory: Factory = request.param
    with factory(request, tmp_path, clock) as database:
        yield database
