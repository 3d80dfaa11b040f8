"""Fixtures for the state database tests: a fake clock and one ``db`` per backend.

A new backend joins the contract suite by adding one ``pytest.param`` to
``BACKENDS`` below.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cirrus.state import MemoryStateDB, SQLiteStateDB, StateDB

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


Factory = Callable[[Path, FakeClock], StateDB]

BACKENDS = [
    pytest.param(lambda tmp, clock: MemoryStateDB(clock=clock), id="memory"),
    pytest.param(lambda tmp, clock: SQLiteStateDB(tmp / "state.db", clock=clock), id="sqlite"),
]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[StateDB]:
    factory: Factory = request.param
    with factory(tmp_path, clock) as database:
        yield database
