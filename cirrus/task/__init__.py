"""Tasks: units of processing, STAC payload in, STAC payload out.

``Task`` keeps stactask's interface, so existing tasks run after changing their import.
"""

from cirrus.task.base import Task
from cirrus.task.invoke import invoke_task
from cirrus.task.registry import resolve_task

__all__ = ["Task", "invoke_task", "resolve_task"]
