"""Pick a state backend from a URL, a file path or a ``module:Class`` path.

Accepted forms (the one rule of :mod:`cirrus._backends`, shared with work queues)::

    memory:// (or memory)           MemoryStateDB (nothing persists)
    sqlite:///abs/path/state.db     SQLiteStateDB (sqlite://relative.db is relative), any case
    /any/path/state.db              SQLiteStateDB for a plain path ending .db, .sqlite, .sqlite3
    dynamodb://<table>              DynamoDBStateDB (upstream Cirrus's table layout; needs boto3)
    <scheme>://...                  a backend registered under the ``cirrus.state_backends``
                                    entry point group as <scheme>, opened with ``from_url(url)``
    package.module:ClassName        any StateDB subclass, created with no arguments
"""

from __future__ import annotations

from cirrus._backends import SQLITE_SUFFIXES, BackendKind, Origin, Scheme, resolve
from cirrus.state.base import Clock, StateDB
from cirrus.state.memory import MemoryStateDB
from cirrus.state.sqlite import SQLiteStateDB

__all__ = ["ENTRY_POINT_GROUP", "STATE_BACKENDS", "open_state_db"]

ENTRY_POINT_GROUP = "cirrus.state_backends"
"""Entry point group where packages register backends by URL scheme."""

STATE_BACKENDS: BackendKind[StateDB] = BackendKind(
    "state database",
    StateDB,
    schemes={
        "memory": Scheme("cirrus.state.memory:MemoryStateDB", "memory://"),
        "sqlite": Scheme(
            "cirrus.state.sqlite:SQLiteStateDB", "sqlite:///abs/path.db", needs_location=True
        ),
        "dynamodb": Scheme(
            "cirrus.state.dynamodb:DynamoDBStateDB", "dynamodb://<table>", needs_location=True
        ),
    },
    aliases={"memory": "memory://"},
    path_scheme="sqlite",
    path_suffixes=SQLITE_SUFFIXES,
    entry_point_group=ENTRY_POINT_GROUP,
    class_paths=True,
)
"""What a state database URL may name (pass it to :func:`cirrus._backends.resolve`)."""


def open_state_db(url: str, *, clock: Clock | None = None) -> StateDB:
    """Open the state database ``url`` names.

    Args:
        url: see the module docstring for accepted forms.
        clock: an injected clock for the built-in backends (tests).

    Raises:
        ConfigError: the URL names no known backend; the message lists valid forms.
        StateError: the backend was found but could not be opened.
    """
    found = resolve(url, STATE_BACKENDS)
    if found.origin is Origin.CLASS:
        return found.cls()
    if found.origin is Origin.PLUGIN:
        return found.cls.from_url(found.url)
    if found.scheme == "sqlite":
        return SQLiteStateDB(found.location, clock=clock)
    if found.scheme == "dynamodb":
        from cirrus.state.dynamodb import DynamoDBStateDB  # only AWS deployments pay for it

        return DynamoDBStateDB.from_url(found.url, clock=clock)
    return MemoryStateDB(clock=clock)
