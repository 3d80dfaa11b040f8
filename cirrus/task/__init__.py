"""Tasks: units of processing, STAC payload in, STAC payload out.

``Task`` keeps stactask's interface, so existing tasks run after changing their import.
"""

from __future__ import annotations

import importlib
import typing

from cirrus.task.kinds import TaskKind

if typing.TYPE_CHECKING:
    from cirrus.task.base import Task
    from cirrus.task.invoke import invoke_task
    from cirrus.task.registry import resolve_task

__all__ = ["Task", "TaskKind", "invoke_task", "resolve_task"]

# Imported on first use: layers that only name a task's kind need not load the Task base.
_LAZY = {
    "Task": "cirrus.task.base",
    "invoke_task": "cirrus.task.invoke",
    "resolve_task": "cirrus.task.registry",
}


def __getattr__(name: str) -> typing.Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'cirrus.task' has no attribute {name!r}")
    return getattr(importlib.import_module(module_name), name)


def __dir__() -> list[str]:
    # the lazy names are listed before they are first used
    return sorted({*globals(), *_LAZY})
