"""Finding a task class from what a user typed.

A task is named by one of:

- ``path/to/task.py:ClassName`` — a class in a Python file;
- ``package.module:ClassName`` — a class in an importable module;
- a project task name (``tasks/<name>/`` in the current project);
- a built-in or plugin task name, registered under the ``cirrus.tasks`` entry-point group.

Project tasks win over built-ins of the same name.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cirrus.errors import ConfigError

if TYPE_CHECKING:
    from cirrus.project import Project

__all__ = [
    "ENTRY_POINT_GROUP",
    "builtin_task_names",
    "load_class_from_file",
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


def load_class_from_file(path: Path, class_name: str | None = None) -> type:
    """Import a Python file by path and return a task class from it.

    Without ``class_name`` the file must define exactly one task class.

    Raises:
        ConfigError: the file is missing, or the class is missing or ambiguous.
    """

    path = path.absolute()
    if not path.is_file():
        raise ConfigError(f"task file {path} does not exist")
    module_name = f"cirrus_user_task_{abs(hash(str(path)))}"
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ConfigError(f"cannot import {path}: is it a Python file?")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_name]
            raise
    return _pick_class(module, class_name, str(path))


def _pick_class(module: Any, class_name: str | None, where: str) -> type:
    from cirrus.task.invoke import is_task_class

    if class_name:
        found = getattr(module, class_name, None)
        if not is_task_class(found):
            raise ConfigError(
                f"{where} has no task class {class_name!r}: it must subclass cirrus.task.Task "
                "(or stactask.Task) and implement process()"
            )
        assert isinstance(found, type)
        return found
    candidates: list[type] = [
        value
        for value in vars(module).values()
        if is_task_class(value) and value.__module__ == module.__name__
    ]
    if len(candidates) != 1:
        names = ", ".join(c.__name__ for c in candidates) or "none"
        raise ConfigError(
            f"{where} defines {len(candidates)} task classes ({names}): "
            "name one as FILE.py:ClassName"
        )
    return candidates[0]


def resolve_task(spec: str, project: Project | None = None) -> type:
    """Find the task class a spec names (see the module docstring).

    Raises:
        ConfigError: nothing matches; the message lists the known task names.
    """
    target, _, class_name = spec.partition(":")
    if class_name or target.endswith(".py"):
        if target.endswith(".py") or "/" in target or Path(target).is_file():
            return load_class_from_file(Path(target), class_name or None)
        try:
            module = importlib.import_module(target)
        except ImportError as err:
            raise ConfigError(f"cannot import module {target!r} for task {spec!r}: {err}") from err
        return _pick_class(module, class_name, target)
    if project is not None:
        component = project.tasks().get(spec)
        if component is not None:
            loaded: type = component.load_class()
            return loaded
    entry = _entry_points().get(spec)
    if entry is not None:
        loaded_entry: type = entry.load()
        return loaded_entry
    known = builtin_task_names()
    if project is not None:
        known = sorted(set(known) | set(project.tasks()))
    raise ConfigError(
        f"no task named {spec!r}; known tasks: {', '.join(known) or 'none'}. "
        "Name a file instead as path/to/task.py:ClassName"
    )
