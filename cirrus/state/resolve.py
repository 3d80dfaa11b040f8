"""Pick a state backend from a URL, a file path or a ``module:Class`` path.

Accepted forms::

    memory://                       MemoryStateDB (nothing persists)
    sqlite:///abs/path/state.db     SQLiteStateDB (sqlite://relative.db is relative)
    /any/path/state.db              SQLiteStateDB for a plain path ending .db, .sqlite, .sqlite3
    <scheme>://...                  a backend registered under the ``cirrus.state_backends``
                                    entry point group as <scheme>, opened with ``from_url(url)``
    package.module:ClassName        any StateDB subclass, created with no arguments
"""

from __future__ import annotations

import importlib

from cirrus.errors import ConfigError
from cirrus.state.base import Clock, StateDB

__all__ = ["ENTRY_POINT_GROUP", "open_state_db"]

ENTRY_POINT_GROUP = "cirrus.state_backends"
"""Entry point group where packages register backends by URL scheme."""

_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
_FORMS = (
    "memory://, sqlite:///abs/path.db, a path ending .db/.sqlite/.sqlite3, "
    "a registered scheme ({schemes}), or package.module:StateDBClass"
)


def _plugin_schemes() -> dict[str, str]:
    from importlib.metadata import entry_points  # only when a plugin scheme is asked for

    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _valid_forms() -> str:
    return _FORMS.format(schemes=", ".join(sorted(_plugin_schemes())) or "none installed")


def _load_class(target: str, url: str) -> type[StateDB]:
    module_name, _, attribute = target.partition(":")
    try:
        value = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"state database {url!r}: cannot load {target!r} ({exc}); "
            "check the module is installed and the class name is spelled right"
        ) from exc
    if not (isinstance(value, type) and issubclass(value, StateDB)):
        raise ConfigError(
            f"state database {url!r}: {target!r} is not a StateDB subclass; "
            "point at a class implementing cirrus.state.StateDB"
        )
    return value


def open_state_db(url: str, *, clock: Clock | None = None) -> StateDB:
    """Open the state database ``url`` names.

    Args:
        url: see the module docstring for accepted forms.
        clock: an injected clock for the built-in backends (tests).

    Raises:
        ConfigError: the URL names no known backend; the message lists valid forms.
        StateError: the backend was found but could not be opened.
    """
    from cirrus.state.memory import MemoryStateDB
    from cirrus.state.sqlite import SQLiteStateDB

    text = str(url).strip()
    scheme, has_scheme, _ = text.partition("://")
    if has_scheme:
        scheme = scheme.lower()
        if scheme == "memory":
            return MemoryStateDB(clock=clock)
        if scheme == "sqlite":
            path = text[len("sqlite://") :]
            if not path:
                raise ConfigError(
                    f"state database {url!r} names no file: use sqlite:///abs/path/state.db"
                )
            return SQLiteStateDB(path, clock=clock)
        plugin = _plugin_schemes().get(scheme)
        if plugin is None:
            raise ConfigError(
                f"state database {url!r}: unknown scheme {scheme!r}; use " + _valid_forms()
            )
        return _load_class(plugin, url).from_url(text)
    if text.lower().endswith(_SQLITE_SUFFIXES):
        return SQLiteStateDB(text, clock=clock)
    if ":" in text and "/" not in text and "\\" not in text:
        return _load_class(text, url)()
    raise ConfigError(f"state database {url!r} is not a state URL: use " + _valid_forms())
