"""The task handler: any project task, or a built-in, as an AWS Lambda function.

Give the function the handler ``cirrus.aws.handlers.task.lambda_handler`` and name its task
in the environment; no per-task handler code is needed::

    CIRRUS_TASK=make-cog                  # required: a task in tasks/, a built-in (pre-batch,
                                          # post-batch, publish, ...) or path/to/task.py:Class
    CIRRUS_PROJECT=/var/task              # the folder holding tasks/<name>/ (default:
                                          # $LAMBDA_TASK_ROOT, else the current folder)

The rest is what every function reads (:mod:`cirrus.aws.environment`):
``CIRRUS_PAYLOAD_BUCKET`` and ``CIRRUS_PAYLOAD_ROOT_PREFIX`` (or ``CIRRUS_PAYLOAD_ROOT``)
say where payloads go by reference (results too big for Step Functions, pre-batch's
copies), ``CIRRUS_DATA_BUCKET`` (or ``CIRRUS_DATA_ROOT``) where relative ``path_template``
locations go, ``CIRRUS_LOG_LEVEL`` the level of the ``cirrus`` loggers.

The event is a payload, or a reference to one (``{"url": ...}``; with ``url_out`` too, the
output is written there and ``{"url": <url_out>}`` returned, the batch convention). The
result is the output payload, or ``{"url": ...}`` when its JSON is more than
:data:`~cirrus.task.results.MAX_RESULT_BYTES` (Step Functions passes at most 256 KiB between
states): it is then stored under ``<payload root>/tmp/results/<payload id>/``, as the embedded
runner does (:mod:`cirrus.task.results`).

A task that fails raises an exception whose class is named as the task's error
(``InvalidInput`` stays ``InvalidInput``), so Step Functions' Retry and Catch, and
update-state's INVALID/FAILED rule, see the task's own error name.

The task's class is imported once per Lambda container (:data:`_CLASSES`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cirrus.aws.environment import settings_from_environment
from cirrus.errors import ConfigError, InvalidInput, TaskError, is_invalid_input_error
from cirrus.project.project import PROJECT_ENV, Project
from cirrus.task.invoke import invoke_task
from cirrus.task.results import MAX_RESULT_BYTES, fit_result

__all__ = ["MAX_RESULT_BYTES", "TASK_ENV", "lambda_handler", "task_error"]

TASK_ENV = "CIRRUS_TASK"
"""Names the task the function runs."""

_CLASSES: dict[tuple[str, Path], type] = {}
"""Task classes by (task spec, project folder): imported once per container."""
_ERRORS: dict[tuple[str, bool], type[Exception]] = {}


def lambda_handler(event: Any, context: Any = None) -> Any:
    """Run the function's task (``$CIRRUS_TASK``) on the event.

    Args:
        event: a payload, or ``{"url": ...}`` (and ``url_out``) referring to one.
        context: the Lambda context (unused).

    Returns:
        The output payload, or ``{"url": ...}`` when it is too big for Step Functions.

    Raises:
        Exception: the task's failure, as an exception named as the task's error.
        ConfigError: ``CIRRUS_TASK`` is not set or names no task.
    """
    spec = os.environ.get(TASK_ENV, "").strip()
    if not spec:
        raise ConfigError(
            f"{TASK_ENV} is not set: name the task this function runs (a task in tasks/, "
            "a built-in such as pre-batch, or path/to/task.py:ClassName)"
        )
    settings = settings_from_environment().runtime
    task_class = _task_class(spec, Project(_project_root()))
    try:
        output = invoke_task(
            task_class, event, data_root=settings.data_root, payload_root=settings.payload_root
        )
    except TaskError as err:  # named otherwise than its class: Lambda reports class names
        raise task_error(err.error, err.cause) from err
    return fit_result(output, settings.payload_root)


def _project_root() -> Path:
    folder = os.environ.get(PROJECT_ENV) or os.environ.get("LAMBDA_TASK_ROOT")
    return Path(folder).resolve() if folder else Path.cwd()


def _task_class(spec: str, project: Project) -> type:
    key = (spec, project.root)
    task_class = _CLASSES.get(key)
    if task_class is None:
        task_class = _CLASSES[key] = project.task_class(spec)
    return task_class


def task_error(name: str, message: str) -> Exception:
    """An exception whose class is named ``name``, as the Lambda runtime reports errors.

    An invalid-input name (``InvalidInput``, ``PayloadError``, ...) gives a subclass of
    :class:`~cirrus.errors.InvalidInput`, so callers in Python see it as one too.
    """
    name = name or "UnknownError"
    invalid = is_invalid_input_error(name)
    error_class = _ERRORS.get((name, invalid))
    if error_class is None:
        base: type[Exception] = InvalidInput if invalid else Exception
        error_class = type(name, (base,), {"__module__": __name__, "__qualname__": name})
        _ERRORS[(name, invalid)] = error_class
    return error_class(message)
