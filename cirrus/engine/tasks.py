"""What a Task state runs: the resolver interface the engine is given.

The engine knows the resource kinds of Amazon States Language (a Lambda function in
``Resource``, ``arn:aws:states:::lambda:invoke`` with ``Parameters.FunctionName``,
``arn:aws:states:::batch:submitJob.sync`` with ``Parameters.JobDefinition``) and the result
shapes AWS gives them. *Which code* a function name or job definition means is not its
business: it hands a :class:`TaskTarget` to the :class:`TaskResolver` it was given and
runs the :class:`TaskHandler` that comes back::

    class Echo:
        def resolve(self, target: TaskTarget) -> TaskHandler:
            return TaskHandler(lambda payload, timeout: payload)

    machine = StateMachine.from_dict(definition, resolver=Echo())

:class:`PythonFunctions` resolves function names (and function ARNs) to plain Python
callables, for trying a definition without any task library.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

__all__ = [
    "FUNCTION_ARN",
    "Invoke",
    "NoTasks",
    "PythonFunctions",
    "ResourceError",
    "Spill",
    "TargetKind",
    "TaskHandler",
    "TaskResolver",
    "TaskTarget",
]

Invoke = Callable[[Any, "float | None"], Any]
"""``invoke(payload, timeout_seconds)``: the task's result, or raises ``TaskError`` /
:class:`~cirrus.engine.errors.StatesError` (whose error name the workflow sees)."""

FUNCTION_ARN = re.compile(
    r"arn:aws[a-z-]*:lambda:(?P<region>[^:]*):(?P<account>[^:]*):function:(?P<name>[^:]+)"
    r"(?::(?P<qualifier>[^:]+))?"
)
"""A Lambda function ARN, with or without a version or alias."""


class ResourceError(ValueError):
    """A Task state's target cannot be resolved; the message says why and how to fix it.

    Attributes:
        path: key path of the field at fault in the definition, when known.
    """

    def __init__(self, message: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.path = path


class TargetKind(StrEnum):
    """Which field of a Task state names what it runs."""

    RESOURCE = "Resource"
    """``Resource`` itself: on AWS a Lambda function ARN (anything but ``arn:aws:states:::``)."""
    FUNCTION = "FunctionName"
    """``Parameters.FunctionName`` of ``arn:aws:states:::lambda:invoke``."""
    JOB_DEFINITION = "JobDefinition"
    """``Parameters.JobDefinition`` of ``arn:aws:states:::batch:submitJob.sync``."""


@dataclass(frozen=True, slots=True)
class TaskTarget:
    """What a Task state names, as written.

    Attributes:
        kind: the field that names it.
        value: the field's value: a string, or a CloudFormation reference as loaded from
            YAML (``{"Fn::GetAtt": [...]}``, ``{"Ref": ...}``, ``{"Fn::Sub": ...}``).
        path: key path of that field inside the definition, for messages.
    """

    kind: TargetKind
    value: Any
    path: tuple[str | int, ...] = ()


@dataclass(frozen=True, slots=True)
class TaskHandler:
    """What a Task state runs.

    Attributes:
        invoke: ``invoke(payload, timeout)``.
        resource_type: the history ``resourceType`` of a ``Resource`` target that is not a
            Lambda function ARN (``lambda``, ``batch``, ...).
        resource: the history ``resource`` of such a target (``invoke``, ``submitJob.sync``).
        spill: how the resource hands on a result too big for a state (None: such a result
            fails the state with ``States.DataLimitExceeded``).
    """

    invoke: Invoke
    resource_type: str = "lambda"
    resource: str = "invoke"
    spill: Spill | None = None


@dataclass(frozen=True, slots=True)
class Spill:
    """How a resource hands on a big result, as a Lambda function may: it stores the result
    and returns a reference to it.

    Attributes:
        above: bytes of compact JSON past which a result is handed on (at most 256 KiB).
        store: stores a result and returns what the state gets instead.
    """

    above: int
    store: Callable[[Any], Any]


class TaskResolver(Protocol):
    """Turns what a Task state names into something to run."""

    def resolve(self, target: TaskTarget) -> TaskHandler:
        """The handler for ``target``.

        Raises:
            ResourceError: nothing by that name can run; the message says what to fix.
        """
        ...


class NoTasks:
    """A resolver with nothing to run: every Task state is refused when the machine loads."""

    def resolve(self, target: TaskTarget) -> TaskHandler:
        """Always refuses."""
        raise ResourceError(
            f"{target.kind} {target.value!r} names a task, but no task resolver was given: "
            "pass resolver= when loading the state machine"
        )


@dataclass
class PythonFunctions:
    """Runs plain Python callables as Lambda functions and Batch jobs.

    Args:
        functions: callables by function name; a function ARN resolves by its name.
        jobs: callables by job definition name (``name``, ``name:revision`` or an ARN).
    """

    functions: Mapping[str, Callable[[Any], Any]]
    jobs: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)

    def resolve(self, target: TaskTarget) -> TaskHandler:
        """The callable ``target`` names, called with the payload."""
        value = str(target.value)
        if target.kind is TargetKind.JOB_DEFINITION:
            name = value.rsplit("/", 1)[-1].split(":", 1)[0]
            table, kind = dict(self.jobs), ("batch", "submitJob.sync")
        else:
            match = FUNCTION_ARN.fullmatch(value)
            name = match["name"] if match else value
            table, kind = dict(self.functions), ("lambda", "invoke")
        function = table.get(name)
        if function is None:
            raise ResourceError(f"no function named {name!r}; known: {', '.join(table) or 'none'}")
        return TaskHandler(lambda payload, timeout: function(payload), *kind)
