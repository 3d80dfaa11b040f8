"""Task tokens: the callback pattern of ``.waitForTaskToken`` Task states.

A Task state whose ``Resource`` ends in ``.waitForTaskToken`` gets a token in
``$$.Task.Token``, runs its resource (which hands the token to someone), then waits until
someone answers with the token::

    send_task_success(token, {"approved": True})          # the state's result
    send_task_failure(token, "Rejected", "not this time")  # the state fails
    send_task_heartbeat(token)                             # still working: resets HeartbeatSeconds

Answers go through a :class:`TaskTokens` store. :data:`LOCAL_TOKENS` (in memory) serves
executions in this process and the module-level functions above; a store shared between
processes (the pipeline's, in its state database) lets another process answer.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from cirrus.errors import TaskTokenError

__all__ = [
    "LOCAL_TOKENS",
    "MemoryTaskTokens",
    "TaskTokenError",
    "TaskTokens",
    "TokenState",
    "send_task_failure",
    "send_task_heartbeat",
    "send_task_success",
]

WAITING = "WAITING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class TokenState:
    """Where a token stands.

    Attributes:
        status: ``WAITING``, ``SUCCEEDED`` or ``FAILED``.
        output: the result sent with success.
        error: the error sent with failure.
        cause: the cause sent with failure.
        heartbeat: when the last heartbeat came (seconds since the epoch), or None.
    """

    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None
    heartbeat: float | None = None


class TaskTokens(Protocol):
    """Where waiting tokens and their answers are kept."""

    def open(self, token: str, *, execution: str, state: str) -> None:
        """A task now waits on ``token``."""
        ...

    def read(self, token: str) -> TokenState | None:
        """Where ``token`` stands, or None when it is unknown."""
        ...

    def close(self, token: str) -> None:
        """The task no longer waits (it got its answer, failed or timed out)."""
        ...

    def send_success(self, token: str, output: Any) -> None:
        """Answer ``token`` with a result. Raises :class:`TaskTokenError`."""
        ...

    def send_failure(self, token: str, error: str | None, cause: str | None) -> None:
        """Answer ``token`` with a failure. Raises :class:`TaskTokenError`."""
        ...

    def send_heartbeat(self, token: str) -> None:
        """Report that the task behind ``token`` still works. Raises :class:`TaskTokenError`."""
        ...


def unknown_token(token: str) -> TaskTokenError:
    return TaskTokenError(f"no task waits on token {token!r}: it is unknown or already answered")


class MemoryTaskTokens:
    """Tokens of the executions in this process, in memory."""

    def __init__(self) -> None:
        self._tokens: dict[str, TokenState] = {}
        self._lock = threading.Lock()

    def open(self, token: str, *, execution: str, state: str) -> None:
        with self._lock:
            self._tokens[token] = TokenState(WAITING)

    def read(self, token: str) -> TokenState | None:
        with self._lock:
            return self._tokens.get(token)

    def close(self, token: str) -> None:
        with self._lock:
            self._tokens.pop(token, None)

    def _answer(self, token: str, answer: TokenState) -> None:
        with self._lock:
            current = self._tokens.get(token)
            if current is None or current.status != WAITING:
                raise unknown_token(token)
            self._tokens[token] = answer

    def send_success(self, token: str, output: Any) -> None:
        self._answer(token, TokenState(SUCCEEDED, output=output))

    def send_failure(self, token: str, error: str | None, cause: str | None) -> None:
        self._answer(token, TokenState(FAILED, error=error, cause=cause))

    def send_heartbeat(self, token: str) -> None:
        self._answer(token, TokenState(WAITING, heartbeat=time.time()))


LOCAL_TOKENS = MemoryTaskTokens()
"""The store executions use unless given another."""


def send_task_success(token: str, output: Any, tokens: TaskTokens | None = None) -> None:
    """Complete the task waiting on ``token`` with ``output`` as its result."""
    (tokens or LOCAL_TOKENS).send_success(token, output)


def send_task_failure(
    token: str,
    error: str | None = None,
    cause: str | None = None,
    tokens: TaskTokens | None = None,
) -> None:
    """Fail the task waiting on ``token`` with ``error`` and ``cause``."""
    (tokens or LOCAL_TOKENS).send_failure(token, error, cause)


def send_task_heartbeat(token: str, tokens: TaskTokens | None = None) -> None:
    """Tell the task waiting on ``token`` that work goes on (resets its HeartbeatSeconds)."""
    (tokens or LOCAL_TOKENS).send_heartbeat(token)
