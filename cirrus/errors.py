"""The cirrus exception tree.

Every error cirrus raises on purpose derives from :class:`CirrusError`, and the
branches follow what the caller should do about it::

    CirrusError
    ├── InvalidInput            the payload or its items are wrong: mark INVALID, do not retry
    │   └── PayloadError        a payload fails validation (names the JSON path of the field)
    ├── FailedValidation        a task's validate() refused its input: FAILED, as upstream
    │                           Cirrus records stactask's FailedValidation
    ├── ConfigError             a project, definition or option is wrong: fix the file or flag
    ├── StorageError            object IO failed
    │   ├── NotFound            nothing at that URL
    │   └── PathEscapeError     a path built from payload content would leave its root
    ├── StateError              the state database refused or failed
    │   ├── AlreadyClaimed      another worker holds the payload
    │   └── TaskTokenError      no task waits on that token (unknown, answered, timed out)
    ├── TaskError               a task failed while running (any other exception is wrapped)
    ├── AnnounceError           a topic refused announcements (logged and kept, never raised
    │                           past the announcer: the payload keeps its state)
    └── WorkflowError           an ASL execution failed; ``error`` carries the ASL error name
        └── DefinitionError     a state machine definition is not valid ASL (its
                                problems as data: key path + message)

Errors keep the field and the fix in their message, so a user sees both at once::

    >>> raise PayloadError("$.process[0].workflow", "is required", "add a workflow name")
    PayloadError: $.process[0].workflow is required: add a workflow name
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
    "PayloadError",
    "StateError",
    "StorageError",
    "TaskError",
    "TaskTokenError",
    "WorkflowError",
    "is_invalid_input_error",
]


class CirrusError(Exception):
    """Root of every error cirrus raises on purpose."""


class InvalidInput(CirrusError):
    """The input payload cannot be processed; the payload is marked INVALID, not retried.

    Tasks raise this (or stactask's ``InvalidInput``) to say the input itself is wrong.
    """


class FailedValidation(CirrusError):
    """A task's ``validate()`` rejected its input payload.

    The payload is recorded FAILED, not INVALID, as upstream Cirrus records stactask's
    ``FailedValidation``: only :class:`InvalidInput` means the input itself is wrong.
    """


class PayloadError(InvalidInput):
    """A payload does not follow the payload schema.

    Args:
        field: JSON path of the offending field, e.g. ``$.features[2].id``.
        problem: what is wrong, e.g. ``is required``.
        fix: what to do about it.
    """

    def __init__(self, field: str, problem: str, fix: str = "") -> None:
        self.field = field
        self.problem = problem
        self.fix = fix
        message = f"{field} {problem}"
        if fix:
            message += f": {fix}"
        super().__init__(message)


class ConfigError(CirrusError):
    """A project file, component definition or option is wrong."""


class StorageError(CirrusError):
    """Reading or writing an object failed."""


class NotFound(StorageError):
    """There is no object at the given URL."""


class PathEscapeError(StorageError, InvalidInput):
    """A path built from payload content would leave its configured root."""


class StateError(CirrusError):
    """The state database refused or failed an operation."""


class AlreadyClaimed(StateError):
    """Another worker already holds the claim on this payload."""


class TaskTokenError(StateError):
    """A task token answered is unknown or no longer waits (its task ended or timed out).

    Attributes:
        error: AWS's error name for it, ``TaskDoesNotExist``.
    """

    def __init__(self, message: str, error: str = "TaskDoesNotExist") -> None:
        super().__init__(message)
        self.error = error


class AnnounceError(CirrusError):
    """An announcement could not be sent (an SNS topic is missing, refused or unreachable)."""


class TaskError(CirrusError):
    """A task failed while running.

    Attributes:
        error: the error name shown to users (the original exception's class name).
        cause: the error message.
    """

    def __init__(self, error: str, cause: str) -> None:
        self.error = error
        self.cause = cause
        super().__init__(f"{error}: {cause}")


class WorkflowError(CirrusError):
    """A workflow execution failed with an ASL error name and cause."""

    def __init__(self, error: str, cause: str | None = None) -> None:
        self.error = error
        self.cause = cause
        super().__init__(f"{error}: {cause}" if cause else error)


@dataclass(frozen=True, slots=True)
class DefinitionProblem:
    """One problem in a state machine definition.

    Attributes:
        path: key path of the offending field inside the definition, e.g.
            ``("States", "publish", "Retry", 0, "IntervalSeconds")``.
        message: what is wrong and how to fix it, as shown after ``where``.
        where: where it is, as the engine's message names it (``State 'publish'``).
    """

    path: tuple[str | int, ...]
    message: str
    where: str = ""

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class DefinitionError(WorkflowError):
    """A state machine definition is not valid Amazon States Language.

    Attributes:
        problems: every problem found, as data (empty when the definition could not be
            read at all).
    """

    def __init__(self, message: str, problems: Sequence[DefinitionProblem] = ()) -> None:
        super().__init__("States.Runtime", message)
        self.args = (message,)
        self.problems = tuple(problems)

    def __str__(self) -> str:
        return str(self.args[0])


# Error names that mean "the input is wrong": ours, stactask's and upstream cirrus-lib's.
# stactask's FailedValidation is not one: upstream Cirrus records it FAILED.
INVALID_INPUT_ERROR_NAMES = frozenset({"InvalidInput", "PayloadError"})


def is_invalid_input_error(error_name: str | None) -> bool:
    """Whether an ASL error name marks a payload INVALID rather than FAILED.

    Accepts bare names (``InvalidInput``) and dotted ones (``stactask.exceptions.InvalidInput``).
    """
    if not error_name:
        return False
    return error_name.rsplit(".", 1)[-1] in INVALID_INPUT_ERROR_NAMES
