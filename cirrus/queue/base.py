"""The work queue interface: durable messages with visibility timeouts.

A backend implements the abstract methods below plus ``close()``; every change must be
durable when the method returns. The contract every backend keeps is pinned by
``tests/queue/test_contract.py``, which runs once per backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

from cirrus._closing import Closing
from cirrus.errors import ConfigError

__all__ = ["DEDUPLICATION_SECONDS", "Message", "WorkQueue"]


DEDUPLICATION_SECONDS = 14 * 24 * 3600.0
"""How long a deduplication key is remembered."""


@dataclass(frozen=True)
class Message:
    """One received message."""

    id: int | str
    """The message's id in its queue (a number in SQLite, SQS's MessageId)."""
    body: str
    receipt: str
    """Proof of this receipt; only the latest receiver can delete the message."""
    receive_count: int
    first_received_at: float = 0.0
    """When the message was first received (seconds since the epoch)."""


class WorkQueue(Closing, ABC):
    """A durable queue with visibility timeouts."""

    @classmethod
    def from_url(cls, url: str) -> Self:
        """Open the backend a URL names (used by :func:`~cirrus.queue.open_queue` for plugins).

        Raises:
            ConfigError: the backend does not support URLs.
        """
        raise ConfigError(f"work queue backend {cls.__name__} cannot be opened from {url!r}")

    @abstractmethod
    def send_many(
        self,
        bodies: Sequence[str],
        *,
        delay_seconds: float = 0,
        keys: Sequence[str] | None = None,
    ) -> None:
        """Append messages; they are durable when this returns.

        ``keys`` (one per body) make sending idempotent: a message whose key was sent before
        (within :data:`DEDUPLICATION_SECONDS`) is dropped, even if that one was since deleted.
        """

    @abstractmethod
    def receive(
        self, max_messages: int, *, visibility_seconds: float, owner: str = ""
    ) -> list[Message]:
        """Take up to ``max_messages`` visible messages, hiding them for a while.

        ``owner`` names the receiver, so that its messages can be freed if it dies.
        """

    @abstractmethod
    def take(self, body: str, *, visibility_seconds: float, owner: str = "") -> Message:
        """Add a message that the caller receives at once (to handle it right now).

        It is durable like any other: if the caller dies, it becomes visible to other
        workers after ``visibility_seconds``.
        """

    @abstractmethod
    def delete_many(self, messages: Sequence[Message]) -> None:
        """Remove handled messages (ignored when received again by someone else since)."""

    @abstractmethod
    def hide(self, messages: Sequence[Message], seconds: float) -> None:
        """Keep messages invisible for ``seconds`` more (to look at them again later)."""

    @abstractmethod
    def counts(self) -> tuple[int, int]:
        """``(visible, in flight)`` message counts."""

    @abstractmethod
    def receivers(self) -> set[str]:
        """Owners of the messages in flight."""

    @abstractmethod
    def release(self, owner: str) -> int:
        """Make the in-flight messages of a dead receiver visible again; returns how many."""
