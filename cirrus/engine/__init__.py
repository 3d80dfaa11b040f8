"""The workflow engine: an Amazon States Language interpreter.

Load a definition (JSON or YAML), then run it::

    from cirrus.engine import ResourceRegistry, StateMachine, run_execution

    machine = StateMachine.from_file("workflow.json", registry=ResourceRegistry(runner))
    result = run_execution(machine, {"features": []}, time_scale=0)
    if result.succeeded:
        print(result.output)
    else:
        print(result.error, result.cause)

Task states run project tasks through a :class:`TaskRunner`; see
:mod:`cirrus.engine.resources` for the resource forms that resolve.
"""

from __future__ import annotations

from cirrus.engine.definition import StateMachine, load_document
from cirrus.engine.errors import StatesError, TaskFailure
from cirrus.engine.objects import DirectoryObjectIO, MemoryObjectIO, ObjectIO
from cirrus.engine.resources import (
    EmptyTaskRunner,
    ResolveRequest,
    ResourceError,
    ResourceRegistry,
    TaskHandler,
    TaskRunner,
    default_task_runner,
)
from cirrus.engine.retry import Catcher, Retrier, backoff_delay, backoff_sequence, jitter_bounds
from cirrus.engine.runner import (
    Clock,
    Execution,
    ExecutionResult,
    ExecutionStatus,
    ManualClock,
    SystemClock,
    run_execution,
)
from cirrus.engine.storage_io import StorageObjectIO, parse_bucket_roots, storage_object_io

__all__ = [
    "Catcher",
    "Clock",
    "DirectoryObjectIO",
    "EmptyTaskRunner",
    "Execution",
    "ExecutionResult",
    "ExecutionStatus",
    "ManualClock",
    "MemoryObjectIO",
    "ObjectIO",
    "ResolveRequest",
    "ResourceError",
    "ResourceRegistry",
    "Retrier",
    "StateMachine",
    "StatesError",
    "StorageObjectIO",
    "SystemClock",
    "TaskFailure",
    "TaskHandler",
    "TaskRunner",
    "backoff_delay",
    "backoff_sequence",
    "default_task_runner",
    "jitter_bounds",
    "load_document",
    "parse_bucket_roots",
    "run_execution",
    "storage_object_io",
]
