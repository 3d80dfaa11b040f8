"""cirrus: STAC processing pipelines that run on a laptop and deploy to AWS.

The public API is re-exported here; everything else is internal::

    from cirrus import Payload, Task, InvalidInput
"""

from __future__ import annotations

import typing

from cirrus.errors import (
    AlreadyClaimed,
    AnnounceError,
    CirrusError,
    ConfigError,
    DefinitionError,
    DefinitionProblem,
    FailedValidation,
    InvalidInput,
    NotFound,
    PathEscapeError,
    PayloadError,
    StateError,
    StorageError,
    TaskError,
    TaskTokenError,
    WorkflowError,
)

if typing.TYPE_CHECKING:
    from cirrus.payload import Payload, ProcessDefinition
    from cirrus.task import Task

__version__ = "0.1.0"

__all__ = [
    "AlreadyClaimed",
    "AnnounceError",
    "CirrusError",
    "ConfigError",
    "DefinitionError",
    "DefinitionProblem",
    "FailedValidation",
    "InvalidInput",
    "NotFound",
    "PathEscapeError",
    "Payload",
    "PayloadError",
    "ProcessDefinition",
    "StateError",
    "StorageError",
    "Task",
    "TaskError",
    "TaskTokenError",
    "WorkflowError",
    "__version__",
]

# Imported on first use so that `import cirrus` stays quick for task start-up.
_LAZY = {
    "Payload": "cirrus.payload",
    "ProcessDefinition": "cirrus.payload",
    "Task": "cirrus.task.base",
}


def __getattr__(name: str) -> typing.Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'cirrus' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)


def __dir__() -> list[str]:
    # the lazy names are listed before they are first used
    return sorted({*globals(), *_LAZY})
