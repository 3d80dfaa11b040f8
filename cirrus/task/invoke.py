"""Running a task class on a payload, whichever task library it was written for."""

from __future__ import annotations

from typing import Any, TypeGuard

from cirrus.errors import CirrusError, TaskError, is_invalid_input_error
from cirrus.task.base import Task

__all__ = [
    "describe_error",
    "describe_exit",
    "invoke_task",
    "is_cirrus_task",
    "is_task_class",
    "is_task_subclass",
]

# task class -> whether it is ours; asked on every call, and issubclass() on an ABC is not free
_OURS: dict[type, bool] = {}


def is_cirrus_task(task_class: type) -> bool:
    """Whether ``task_class`` derives from :class:`cirrus.task.Task` (remembered per class)."""
    ours = _OURS.get(task_class)
    if ours is None:
        ours = _OURS[task_class] = issubclass(task_class, Task)
    return ours


def is_task_subclass(candidate: Any) -> TypeGuard[type[Any]]:
    """Whether ``candidate`` is a task class, ours or stactask's, abstract or not.

    stactask's ``Task`` is recognised by name, so checking never imports stactask (over a
    second of start-up that every worker process would pay).
    """
    if not isinstance(candidate, type):
        return False
    if issubclass(candidate, Task):
        return True
    return any(
        base.__module__.startswith("stactask") and base.__name__ == "Task"
        for base in candidate.__mro__
    )


def is_task_class(candidate: Any) -> bool:
    """Whether ``candidate`` is a concrete task class (ours or stactask's)."""
    return is_task_subclass(candidate) and not getattr(candidate, "__abstractmethods__", None)


def invoke_task(task_class: type, event: dict[str, Any], **options: Any) -> Any:
    """Run a task on a payload (or ``{"url"}`` reference) and return its output.

    Our tasks get every option (``workdir``, ``upload``, ``data_root``...); stactask tasks get
    the ones stactask knows, and references are resolved before they see the payload, since
    stactask reads URLs through its own libraries.
    """
    if is_cirrus_task(task_class):
        return task_class.handler(event, **options)  # type: ignore[attr-defined]
    url_out = event.get("url_out") if isinstance(event, dict) else None
    stactask_options = {
        key: value
        for key, value in options.items()
        if key in ("workdir", "save_workdir", "upload", "validate")
    }
    from cirrus.storage import load_payload, write_json

    output = task_class.handler(load_payload(event), **stactask_options)  # type: ignore[attr-defined]
    if isinstance(url_out, str):
        write_json(url_out, output)
        return {"url": url_out}
    return output


def describe_error(error: BaseException) -> tuple[str, str]:
    """The (error name, message) users see for an exception raised by a task."""
    if isinstance(error, TaskError):
        return error.error, error.cause
    name = type(error).__name__
    message = str(error) or name
    return name, message


def describe_exit(error: SystemExit | KeyboardInterrupt) -> tuple[str, str]:
    """The (error name, message) for a task that called ``sys.exit`` or raised Ctrl-C itself.

    Either ends only the task's payload, never the process that runs it.
    """
    if isinstance(error, SystemExit):
        return "SystemExit", f"the task called sys.exit({error.code!r}); a task returns or raises"
    return "KeyboardInterrupt", "the task raised KeyboardInterrupt"


def is_invalid(error: BaseException) -> bool:
    """Whether an exception from a task marks its input invalid."""
    if isinstance(error, CirrusError):
        from cirrus.errors import InvalidInput

        if isinstance(error, InvalidInput):
            return True
    return any(is_invalid_input_error(cls.__name__) for cls in type(error).__mro__)
