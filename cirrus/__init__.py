"""cirrus: STAC processing pipelines that run on a laptop and deploy to AWS.

The public API is re-exported here; everything else is internal::

    from cirrus import Payload, Task, InvalidInput
"""

from __future__ import annotations

import typing

from cirrus._lazy import lazy_exports as _lazy_exports
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


__getattr__, __dir__ = _lazy_exports(__name__, _LAZY)  # dir() lists them before first use
