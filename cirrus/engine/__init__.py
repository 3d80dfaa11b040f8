"""The workflow engine: an Amazon States Language interpreter.

Load a definition (JSON or YAML), then run it::

    from cirrus.engine import PythonFunctions, StateMachine, run_execution

    resolver = PythonFunctions({"add-title": add_title})
    machine = StateMachine.from_file("workflow.json", resolver=resolver)
    result = run_execution(machine, {"features": []}, time_scale=0)
    if result.succeeded:
        print(result.output)
    else:
        print(result.error, result.cause)

The engine knows ASL and the AWS resource kinds of Task states; what a function name or
job definition runs comes from the :class:`TaskResolver` it is given (see
:mod:`cirrus.engine.tasks` and :mod:`cirrus.engine.integrations`).
"""

from __future__ import annotations

from cirrus.engine.callbacks import (
    LOCAL_TOKENS,
    MemoryTaskTokens,
    TaskTokenError,
    TaskTokens,
    TokenState,
    send_task_failure,
    send_task_heartbeat,
    send_task_success,
)
from cirrus.engine.clocks import Clock, ManualClock, SystemClock
from cirrus.engine.definition import StateMachine, load_document
from cirrus.engine.errors import StatesError, TaskFailure
from cirrus.engine.inspect_state import (
    INSPECTION_LEVELS,
    StateTestResult,
    inspect_state,
    single_state_machine,
)
from cirrus.engine.integrations import BatchJobFailed, task_target
from cirrus.engine.objects import MemoryObjectIO, ObjectIO
from cirrus.engine.results import ExecutionResult, ExecutionStatus
from cirrus.engine.retry import Catcher, Retrier, backoff_delay, backoff_sequence, jitter_bounds
from cirrus.engine.runner import Execution, run_execution
from cirrus.engine.storage_io import StorageObjectIO, parse_bucket_roots, storage_object_io
from cirrus.engine.tasks import (
    FUNCTION_ARN,
    Invoke,
    NoTasks,
    PythonFunctions,
    ResourceError,
    Spill,
    TargetKind,
    TaskHandler,
    TaskResolver,
    TaskTarget,
)

__all__ = [
    "FUNCTION_ARN",
    "INSPECTION_LEVELS",
    "LOCAL_TOKENS",
    "BatchJobFailed",
    "Catcher",
    "Clock",
    "Execution",
    "ExecutionResult",
    "ExecutionStatus",
    "Invoke",
    "ManualClock",
    "MemoryObjectIO",
    "MemoryTaskTokens",
    "NoTasks",
    "ObjectIO",
    "PythonFunctions",
    "ResourceError",
    "Retrier",
    "Spill",
    "StateMachine",
    "StateTestResult",
    "StatesError",
    "StorageObjectIO",
    "SystemClock",
    "TargetKind",
    "TaskFailure",
    "TaskHandler",
    "TaskResolver",
    "TaskTarget",
    "TaskTokenError",
    "TaskTokens",
    "TokenState",
    "backoff_delay",
    "backoff_sequence",
    "inspect_state",
    "jitter_bounds",
    "load_document",
    "parse_bucket_roots",
    "run_execution",
    "send_task_failure",
    "send_task_heartbeat",
    "send_task_success",
    "single_state_machine",
    "storage_object_io",
    "task_target",
]
