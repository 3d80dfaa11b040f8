"""Finding a task class from what a user typed.

A task is named by one of:

- ``path/to/task.py:ClassName`` (or just ``path/to/task.py``) — a class in a Python file;
- ``package.module:ClassName`` — a class in an importable module;
- a name the caller knows (a project passes its own task lookup);
- a built-in or plugin task name, registered under the ``cirrus.tasks`` entry-point group.

A caller's named tasks win over built-ins of the same name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from cirrus.errors import ConfigError
from cirrus.task.loader import load_task_class, pick_task_class

__all__ = [
    "ENTRY_POINT_GROUP",
    "builtin_task_names",
    "resolve_task",
    "task_entry_points",
]

ENTRY_POINT_GROUP = "cirrus.tasks"


@lru_cache(maxsize=1)
def _entry_points() -> dict[str, Any]:
    # scanning every installed distribution takes a good part of a second: once per process
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def task_entry_points() -> list[Any]:
    """The entry points of the built-in and plugin tasks (read once per process)."""
    return list(_entry_points().values())


def builtin_task_names() -> list[str]:
    """Names of the built-in and plugin tasks."""
    return sorted(_entry_points())


def resolve_task(
    spec: str,
    named: Callable[[str], type | None] | None = None,
    known: Iterable[str] = (),
) -> type:
    """Find the task class a spec names (see the module docstring).

    Args:
        spec: what the user typed.
        named: the caller's lookup of task names (a project's tasks); returns None for a
            name it does not know.
        known: the names ``named`` knows, listed when nothing matches.

    Raises:
        ConfigError: nothing matches; the message lists the known task names.
    """
    target, _, class_name = spec.partition(":")
    if class_name or target.endswith(".py"):
        if target.endswith(".py") or "/" in target or Path(target).is_file():
            return load_task_class(Path(target), class_name or None)
        try:
            module = importlib.import_module(target)
        except ImportError as err:
            raise ConfigError(f"cannot import module {target!r} for task {spec!r}: {err}") from err
        return pick_task_class(module, class_name, target)
    if named is not None:
        found = named(spec)
        if found is not None:
            return found
    entry = _entry_points().get(spec)
    if entry is not None:
        loaded: type = entry.load()
        return loaded
    names = sorted(set(builtin_task_names()) | set(known))
    raise ConfigError(
        f"no task named {spec!r}; known tasks: {', '.join(names) or 'none'}. "
        "Name a file instead as path/to/task.py:ClassName"
    )
