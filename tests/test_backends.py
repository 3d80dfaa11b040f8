"""One rule picks a backend from a URL, for stores, state databases and work queues alike.

Each row of ``TABLE`` is one thing a user writes, and what it opens as each kind of backend;
the same input is read by :func:`cirrus._backends.resolve` and by each package's opener.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from cirrus._backends import BackendKind, Origin, describe_choices, resolve
from cirrus.errors import CirrusError, ConfigError
from cirrus.queue import QUEUE_BACKENDS, MemoryQueue, SQLiteQueue, WorkQueue, open_queue
from cirrus.state import MemoryStateDB, SQLiteStateDB, open_state_db
from cirrus.state.resolve import STATE_BACKENDS
from cirrus.storage import clear_store_cache, open_store
from cirrus.storage.errors import BadURL
from cirrus.storage.local import LocalStore
from cirrus.storage.memory import MemoryStore
from cirrus.storage.paths import SCHEMES
from cirrus.storage.resolver import STORE_BACKENDS
from cirrus.storage.sqlite import SQLiteStore


class Kind(NamedTuple):
    backends: BackendKind[Any]
    open: Callable[[str], Any]


KINDS = {
    "state": Kind(STATE_BACKENDS, open_state_db),
    "queue": Kind(QUEUE_BACKENDS, open_queue),
    "store": Kind(STORE_BACKENDS, open_store),
}

Expected = type | tuple[type[CirrusError], str]
"""The class opened, or the error raised and a pattern its message matches."""

# fmt: off
TABLE: list[tuple[str, str, dict[str, Expected]]] = [
    # id, input ({tmp} is a fresh folder), what each kind opens
    ("memory", "memory://", {
        "state": MemoryStateDB, "queue": MemoryQueue,
        "store": (BadURL, "has no store name")}),
    ("memory-any-case", "MEMORY://t", {
        "state": MemoryStateDB, "queue": MemoryQueue, "store": MemoryStore}),
    ("memory-alias", "memory", {
        "state": MemoryStateDB, "queue": MemoryQueue,
        "store": LocalStore}),  # a plain path is a folder for stores
    ("sqlite-url", "sqlite://{tmp}/x.db", {
        "state": SQLiteStateDB, "queue": SQLiteQueue, "store": SQLiteStore}),
    ("sqlite-any-case", "SQLITE://{tmp}/x.sqlite3", {
        "state": SQLiteStateDB, "queue": SQLiteQueue, "store": SQLiteStore}),
    ("sqlite3-path", "{tmp}/x.sqlite3", {
        "state": SQLiteStateDB, "queue": SQLiteQueue,
        # objects such as scene.sqlite are data: a plain path stays a local file or folder
        "store": LocalStore}),
    ("db-path-any-case", "{tmp}/X.DB", {
        "state": SQLiteStateDB, "queue": SQLiteQueue, "store": LocalStore}),
    ("state-class-path", "cirrus.state.memory:MemoryStateDB", {
        "state": MemoryStateDB,
        "queue": (ConfigError, "'cirrus.state.memory:MemoryStateDB' is not a WorkQueue subclass"),
        "store": LocalStore}),
    ("queue-class-path", "cirrus.queue.memory:MemoryQueue", {
        "state": (ConfigError, "is not a StateDB subclass"),
        "queue": MemoryQueue, "store": LocalStore}),
    ("missing-class", "no_such_module_xyz:Backend", {
        "state": (ConfigError, "cannot load 'no_such_module_xyz:Backend'"),
        "queue": (ConfigError, "cannot load 'no_such_module_xyz:Backend'"),
        "store": LocalStore}),
    ("unknown-scheme", "redis://localhost/0", {
        "state": (ConfigError, r"unknown scheme 'redis'; use memory://, sqlite://"),
        "queue": (ConfigError, r"unknown scheme 'redis'; use memory://, sqlite://"),
        "store": (BadURL, r"unknown scheme 'redis'.*file://, s3://")}),
    ("other-path", "{tmp}/state.json", {
        "state": (ConfigError, r"use memory://, .*a path ending \.db/\.sqlite/\.sqlite3"),
        "queue": (ConfigError, r"use memory://, .*a path ending \.db/\.sqlite/\.sqlite3"),
        "store": LocalStore}),
]
# fmt: on

CASES = [
    pytest.param(kind, text, expected[kind], id=f"{row_id}-{kind}")
    for row_id, text, expected in TABLE
    for kind in KINDS
]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)  # relative paths (the ``memory`` folder) land here
    yield
    clear_store_cache()


@pytest.mark.parametrize(("kind", "text", "expected"), CASES)
def test_each_input_opens_the_same_class_it_resolves_to(
    kind: str, text: str, expected: Expected, tmp_path: Path
) -> None:
    url = text.format(tmp=tmp_path)
    if isinstance(expected, tuple):
        error, message = expected
        with pytest.raises(error, match=message):
            KINDS[kind].open(url)
        return
    found = resolve(url, KINDS[kind].backends)
    assert found.cls is expected
    with KINDS[kind].open(url) as opened:
        assert type(opened) is expected


@pytest.mark.parametrize("kind", ["state", "queue", "store"])
def test_an_unknown_scheme_lists_every_valid_choice(kind: str) -> None:
    backends = KINDS[kind].backends
    with pytest.raises(backends.error) as caught:
        resolve("redis://localhost/0", backends)
    message = str(caught.value)
    for scheme in backends.schemes.values():
        assert scheme.example in message
    assert describe_choices(backends) in message


def test_the_store_schemes_are_the_ones_store_urls_parse() -> None:
    assert set(STORE_BACKENDS.schemes) == set(SCHEMES)


def test_a_sqlite_url_keeps_its_path_as_given(tmp_path: Path) -> None:
    found = resolve(f"SQLite://{tmp_path}/q.db", QUEUE_BACKENDS)
    assert (found.origin, found.scheme, found.location) == (
        Origin.BUILTIN,
        "sqlite",
        f"{tmp_path}/q.db",
    )


# ------------------------------------------------------------------ plugins by entry point


class ToyStateDB(MemoryStateDB):
    """A state backend a plugin package would register."""

    opened_from = ""

    @classmethod
    def from_url(cls, url: str) -> ToyStateDB:
        db = cls()
        db.opened_from = url
        return db


class ToyQueue(MemoryQueue):
    """A queue backend a plugin package would register."""

    opened_from = ""

    @classmethod
    def from_url(cls, url: str) -> ToyQueue:
        queue = cls()
        queue.opened_from = url
        return queue


@pytest.fixture
def toy_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed distribution registering ``toy://`` for state databases and queues."""
    dist = tmp_path / "site" / "cirrus_toy-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: cirrus-toy\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[cirrus.state_backends]\ntoy = tests.test_backends:ToyStateDB\n\n"
        "[cirrus.queue_backends]\ntoy = tests.test_backends:ToyQueue\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))


@pytest.mark.usefixtures("toy_plugin")
def test_a_registered_scheme_opens_its_plugin_from_the_url() -> None:
    with open_state_db("TOY://somewhere/db") as db:
        assert isinstance(db, ToyStateDB)
        assert db.opened_from == "TOY://somewhere/db"
    queue = open_queue("toy://somewhere/q")
    assert isinstance(queue, ToyQueue) and queue.opened_from == "toy://somewhere/q"
    assert resolve("toy://x", QUEUE_BACKENDS).origin is Origin.PLUGIN


@pytest.mark.usefixtures("toy_plugin")
def test_installed_schemes_are_listed_among_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"cirrus\.queue_backends \(toy://\)"):
        open_queue("redis://nope")


def test_a_backend_that_cannot_be_opened_from_a_url_says_so() -> None:
    with pytest.raises(ConfigError, match="MemoryQueue cannot be opened from 'x://'"):
        MemoryQueue.from_url("x://")
    assert issubclass(ToyQueue, WorkQueue)
