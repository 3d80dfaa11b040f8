"""The work queue interface: durable messages with visibility timeouts and a dead-letter store.

A backend implements the abstract methods below plus ``close()``; every change must be
durable when the method returns. The contract every backend keeps is pinned by
``tests/queue/test_contract.py``, which runs once per backend.

**Dead letters.** A queue has a receive limit, :attr:`WorkQueue.max_receives` (default
:data:`DEFAULT_MAX_RECEIVES`, as upstream Cirrus's SQS redrive policy; ``None``: no limit).
A message received that many times without being deleted is not delivered again: the next
receive that finds it visible moves it to the queue's dead-letter store instead, with its
body, receive count and receive times. A worker can also move a message there at once with a
reason (:meth:`WorkQueue.dead_letter`). Dead letters are listed, counted and moved back
(:meth:`WorkQueue.redrive`) through the same queue::

    queue.dead_letter([message], "RecursionError: payload nested 980 deep")
    for letter in queue.dead_letters(limit=20):
        print(letter.id, letter.receive_count, letter.reason)
    queue.redrive()        # every dead letter back into the queue, receive count 0
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Self
from urllib.parse import parse_qsl

from cirrus._closing import Closing
from cirrus.errors import ConfigError

__all__ = [
    "DEDUPLICATION_SECONDS",
    "DEFAULT_MAX_RECEIVES",
    "DeadLetter",
    "Message",
    "WorkQueue",
    "check_limit",
    "new_receipt",
    "url_options",
]


DEDUPLICATION_SECONDS = 14 * 24 * 3600.0
"""How long a deduplication key is remembered."""

DEFAULT_MAX_RECEIVES = 5
"""Receives before a message moves to the dead-letter store (upstream's ``maxReceiveCount``)."""


def check_limit(max_receives: int | None) -> int | None:
    """``max_receives`` if it is a valid receive limit (None or a whole number from 1).

    Raises:
        ConfigError: it is not.
    """
    if max_receives is None:
        return None
    if isinstance(max_receives, bool) or not isinstance(max_receives, int) or max_receives < 1:
        raise ConfigError(
            f"max_receives {max_receives!r} is not a receive limit: give a whole number "
            "from 1 (how many receives a message gets before it is dead-lettered), or None "
            "for no limit"
        )
    return max_receives


def new_receipt() -> str:
    """A new receipt: 128 random bits as hex (a fifth of ``uuid4``'s cost, on the hot path)."""
    return os.urandom(16).hex()


def url_options(
    location: str, url: str, allowed: tuple[str, ...]
) -> tuple[str, dict[str, int | None]]:
    """Split ``location?name=value&...`` into the location and its whole-number options.

    A value ``none`` (any case) stands for None (no limit).

    Args:
        location: what follows ``scheme://``.
        url: the whole URL, for messages.
        allowed: the option names the backend takes.

    Raises:
        ConfigError: an option is unknown, repeated, or not a whole number.
    """
    location, _, query = location.partition("?")
    options: dict[str, int | None] = {}
    if not query:
        return location, options
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError as exc:
        raise ConfigError(f"work queue {url!r}: cannot read its options ({exc})") from exc
    for name, value in pairs:
        if name not in allowed:
            raise ConfigError(
                f"work queue {url!r}: unknown option {name!r}; it takes "
                + (", ".join(allowed) if allowed else "no options")
            )
        if name in options:
            raise ConfigError(f"work queue {url!r}: option {name!r} is given twice")
        if value.strip().lower() == "none":
            options[name] = None
            continue
        try:
            options[name] = int(value)
        except ValueError:
            raise ConfigError(
                f"work queue {url!r}: option {name}={value!r} is not a whole number (or none)"
            ) from None
    return location, options


@dataclass(frozen=True)
class Message:
    """One received message."""

    id: str
    """The backend's id of the message (a row number in SQLite, the ``MessageId`` in SQS);
    the same on every receive of the message."""
    body: str
    receipt: str
    """Proof of this receipt; only the latest receiver can delete the message."""
    receive_count: int
    first_received_at: float = 0.0
    """When the message was first received (seconds since the epoch)."""


@dataclass(frozen=True)
class DeadLetter:
    """A message in the dead-letter store."""

    id: str
    """Names the dead letter for :meth:`WorkQueue.redrive` (the message's id where the
    backend keeps it)."""
    body: str
    receive_count: int
    """How often the message was received before it moved here."""
    first_received_at: float
    """When the message was first received (seconds since the epoch; 0 if never)."""
    last_received_at: float | None
    """When it was last received; ``None`` where the backend does not record it (SQS)."""
    reason: str | None = None
    """Why a worker moved it (:meth:`WorkQueue.dead_letter`); ``None`` when the receive
    limit moved it."""

    @property
    def why(self) -> str:
        """The reason, or what the receive limit means when it moved the message."""
        if self.reason:
            return self.reason
        return (
            f"received {self.receive_count} times without being finished (the receive "
            "limit): the worker stopped, crashed or timed out while handling it each time"
        )


class WorkQueue(Closing, ABC):
    """A durable queue with visibility timeouts, a receive limit and a dead-letter store."""

    _max_receives: int | None = DEFAULT_MAX_RECEIVES

    @classmethod
    def from_url(cls, url: str) -> Self:
        """Open the backend a URL names (used by :func:`~cirrus.queue.open_queue` for plugins).

        Raises:
            ConfigError: the backend does not support URLs.
        """
        raise ConfigError(f"work queue backend {cls.__name__} cannot be opened from {url!r}")

    @property
    def max_receives(self) -> int | None:
        """Receives after which an undeleted message moves to the dead letters (None: never)."""
        return self._max_receives

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

        A visible message already received :attr:`max_receives` times is not returned: it
        moves to the dead letters, in the same atomic step.

        ``owner`` names the receiver, so that its messages can be freed if it dies.
        """

    @abstractmethod
    def take(self, body: str, *, visibility_seconds: float, owner: str = "") -> Message:
        """Add a message that the caller receives at once (to handle it right now).

        It is durable like any other: if the caller dies, it becomes visible to other
        workers after ``visibility_seconds``. Its receive count is 1.
        """

    @abstractmethod
    def delete_many(self, messages: Sequence[Message]) -> None:
        """Remove handled messages (ignored when received again by someone else since)."""

    @abstractmethod
    def hide(self, messages: Sequence[Message], seconds: float) -> None:
        """Keep messages invisible for ``seconds`` more (to look at them again later)."""

    @abstractmethod
    def counts(self) -> tuple[int, int]:
        """``(visible, in flight)`` message counts; delayed messages count as in flight,
        dead letters not at all (see :meth:`dead_letter_count`)."""

    @abstractmethod
    def receivers(self) -> set[str]:
        """Owners of the messages in flight."""

    @abstractmethod
    def release(self, owner: str, *, running: Collection[str] | None = None) -> int:
        """Make the in-flight messages of a dead receiver visible again; returns how many.

        Args:
            owner: the dead receiver.
            running: the ids of the messages it was running when it died, if known: the
                others get back the receive their delivery to ``owner`` counted (they cannot
                have killed it). None: every receive counts.
        """

    @abstractmethod
    def dead_letter(self, messages: Sequence[Message], reason: str) -> int:
        """Move received messages to the dead letters at once, with ``reason``.

        Returns:
            How many moved (a message received again by someone else since is left alone).
        """

    @abstractmethod
    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """Up to ``limit`` dead letters, oldest first; they stay where they are."""

    @abstractmethod
    def dead_letter_count(self) -> int:
        """How many messages are in the dead-letter store."""

    @abstractmethod
    def redrive(self, ids: Collection[str] | None = None) -> int:
        """Move dead letters back into the queue as new messages (receive count 0).

        Args:
            ids: the :attr:`DeadLetter.id` of those to move (unknown ids are ignored);
                ``None`` moves them all.

        Returns:
            How many moved.
        """
