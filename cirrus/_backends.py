"""Which backend a URL names: one rule for object stores, state databases and work queues.

Each backend package describes its kind of backend once, as a :class:`BackendKind`, and
opens the class :func:`resolve` picks::

    QUEUE_BACKENDS = BackendKind(
        "work queue",
        WorkQueue,
        schemes={
            "memory": Scheme("cirrus.queue.memory:MemoryQueue", "memory://"),
            "sqlite": Scheme("cirrus.queue.sqlite:SQLiteQueue", "sqlite:///path/queue.db",
                             needs_location=True),
        },
        aliases={"memory": "memory://"},
        path_scheme="sqlite",
        path_suffixes=SQLITE_SUFFIXES,
        entry_point_group="cirrus.queue_backends",
        class_paths=True,
    )
    found = resolve("SQLITE://.cirrus/queue.db", QUEUE_BACKENDS)
    found.cls, found.scheme, found.location     # SQLiteQueue, "sqlite", ".cirrus/queue.db"

The forms, tried in this order:

==========================  ==============================================================
``scheme://location``       a built-in scheme, in any case; else a backend registered as
                            ``scheme`` under the kind's entry point group (a plugin)
a plain path                the kind's ``path_scheme``: for state databases and queues a
                            path ending ``.db``, ``.sqlite`` or ``.sqlite3`` (any case) is
                            SQLite; for stores any path is a local folder or file
an alias                    a bare word standing for a URL (``memory`` is ``memory://``)
``package.module:Class``    any subclass of the kind's interface (state databases, queues)
==========================  ==============================================================

Anything else raises the kind's error, listing the valid choices (with the schemes that
installed plugins add). Classes are imported only when picked, so naming one backend never
loads another backend's libraries, and entry points are read only for a scheme that is not
built in.
"""

from __future__ import annotations

import enum
import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar, cast

from cirrus.errors import CirrusError, ConfigError

__all__ = [
    "SQLITE_SUFFIXES",
    "BackendKind",
    "Origin",
    "Resolved",
    "Scheme",
    "describe_choices",
    "plugin_schemes",
    "resolve",
]

T = TypeVar("T")

SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
"""A plain path ending in one of these names a SQLite file (compared in lower case)."""

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


class Origin(enum.StrEnum):
    """Where :func:`resolve` found a backend class; it tells the caller how to open it."""

    BUILTIN = "builtin"
    """A built-in scheme or a plain path: the package opens it with ``location``."""
    PLUGIN = "plugin"
    """A scheme registered under the kind's entry point group: opened from the URL."""
    CLASS = "class"
    """A ``package.module:Class`` path: created with no arguments."""


@dataclass(frozen=True)
class Scheme:
    """A built-in URL scheme."""

    target: str
    """``module:Class`` of the backend that serves the scheme (imported when picked)."""
    example: str
    """A URL of this scheme, shown when a URL names no backend."""
    needs_location: bool = False
    """Whether ``scheme://`` alone is refused (a SQLite file needs a path)."""


@dataclass(frozen=True)
class BackendKind(Generic[T]):
    """What one kind of backend accepts: its interface, schemes, aliases and plugins."""

    what: str
    """What the backend holds, for messages (``"state database"``)."""
    interface: type
    """The class every backend of this kind derives from (``T``, usually abstract: mypy
    accepts no abstract class where ``type[T]`` is expected)."""
    schemes: Mapping[str, Scheme]
    """Built-in schemes (lower case), in the order error messages list them."""
    error: type[CirrusError] = ConfigError
    """Raised when a URL names no backend of this kind."""
    aliases: Mapping[str, str] = field(default_factory=dict)
    """Bare words (lower case) and the URL each stands for."""
    path_scheme: str | None = None
    """The built-in scheme a plain path means (None: plain paths are refused)."""
    path_suffixes: tuple[str, ...] = ()
    """A plain path must end with one of these (lower case) to mean ``path_scheme``;
    empty: any plain path does."""
    entry_point_group: str | None = None
    """Entry point group where packages register more schemes (None: no plugins)."""
    class_paths: bool = False
    """Whether ``package.module:Class`` names a backend."""


@dataclass(frozen=True)
class Resolved(Generic[T]):
    """The backend a URL names, not yet opened."""

    cls: type[T]
    """The backend class (a subclass of the kind's interface)."""
    origin: Origin
    """How it was found, and so how to open it."""
    scheme: str
    """The scheme in lower case (a plain path gets the kind's ``path_scheme``); ``""`` for a
    class path."""
    location: str
    """What follows ``scheme://`` (the path itself for a plain path; ``""`` for a class path)."""
    url: str
    """The URL as given, without surrounding blanks (an alias's: the URL it stands for)."""


def resolve(url: str, kind: BackendKind[T]) -> Resolved[T]:
    """Pick the backend class ``url`` names (see the module docstring for the forms).

    Args:
        url: a URL, plain path, alias or ``package.module:Class``.
        kind: the kind of backend wanted.

    Returns:
        The class and the parts of the URL its package needs to open it.

    Raises:
        CirrusError: ``kind.error``: the URL names no backend of this kind (the message lists
            the valid choices), its module cannot be imported, or its class does not derive
            from ``kind.interface``.
    """
    text = str(url).strip()
    match = _SCHEME.match(text)
    if match is not None:
        scheme = match.group(1).lower()
        location = text[match.end() :]
        builtin = kind.schemes.get(scheme)
        if builtin is not None:
            if builtin.needs_location and not location:
                raise kind.error(
                    f"{kind.what} {text!r} names nothing after {scheme}://: use {builtin.example}"
                )
            cls = _load(builtin.target, text, kind)
            return Resolved(cls, Origin.BUILTIN, scheme, location, text)
        plugin = plugin_schemes(kind).get(scheme)
        if plugin is None:
            raise kind.error(
                f"{kind.what} {text!r}: unknown scheme {scheme!r}; use {describe_choices(kind)}"
            )
        return Resolved(_load(plugin, text, kind), Origin.PLUGIN, scheme, location, text)
    if kind.path_scheme is not None and _is_path(text, kind):
        target = kind.schemes[kind.path_scheme].target
        return Resolved(_load(target, text, kind), Origin.BUILTIN, kind.path_scheme, text, text)
    alias = kind.aliases.get(text.lower())
    if alias is not None:
        return resolve(alias, kind)
    if kind.class_paths and _is_class_path(text):
        return Resolved(_load(text, text, kind), Origin.CLASS, "", "", text)
    raise kind.error(f"{kind.what} {text!r} names no {kind.what}: use {describe_choices(kind)}")


def _is_path(text: str, kind: BackendKind[T]) -> bool:
    """Whether ``text`` is a plain path of the kind's ``path_scheme``."""
    if not text:
        return False
    return not kind.path_suffixes or text.lower().endswith(kind.path_suffixes)


def _is_class_path(text: str) -> bool:
    module, colon, name = text.partition(":")
    return bool(colon and module and name) and "/" not in text and "\\" not in text


def plugin_schemes(kind: BackendKind[T]) -> dict[str, str]:
    """Schemes installed packages register for ``kind``, each with its ``module:Class``."""
    if kind.entry_point_group is None:
        return {}
    from importlib.metadata import entry_points  # read only when a plugin is looked for

    return {ep.name.lower(): ep.value for ep in entry_points(group=kind.entry_point_group)}


def describe_choices(kind: BackendKind[T]) -> str:
    """Every form ``kind`` accepts, for messages: examples, paths, plugins, class paths."""
    choices = [scheme.example for scheme in kind.schemes.values()]  # aliases repeat these
    if kind.path_scheme is not None:
        suffixes = "/".join(kind.path_suffixes)
        choices.append(f"a path ending {suffixes}" if suffixes else "a plain local path")
    if kind.entry_point_group is not None:
        installed = ", ".join(f"{s}://" for s in sorted(plugin_schemes(kind))) or "none installed"
        choices.append(f"a scheme registered under {kind.entry_point_group} ({installed})")
    if kind.class_paths:
        choices.append(f"package.module:Class naming a {kind.interface.__name__} subclass")
    return ", ".join(choices[:-1]) + " or " + choices[-1] if len(choices) > 1 else choices[0]


def _load(target: str, url: str, kind: BackendKind[T]) -> type[T]:
    """Import ``module:Class`` and check it implements the kind's interface."""
    module_name, _, attribute = target.partition(":")
    try:
        value: object = importlib.import_module(module_name)
        for name in attribute.split("."):
            value = getattr(value, name)
    except (ImportError, AttributeError) as exc:
        raise kind.error(
            f"{kind.what} {url!r}: cannot load {target!r} ({exc}); "
            "check the module is installed and the class name is spelled right"
        ) from exc
    if not (isinstance(value, type) and issubclass(value, kind.interface)):
        interface = kind.interface
        raise kind.error(
            f"{kind.what} {url!r}: {target!r} is not a {interface.__name__} subclass; "
            f"point at a class implementing {interface.__module__}.{interface.__qualname__}"
        )
    return cast("type[T]", value)
