"""The process queue as a Lambda event source mapping presents it to the ``process`` function.

Lambda receives the records and deletes every one the function does not report as failed,
so the runtime's deletions are left to it; looking at a record again later (a payload held
by another claim, a reference that cannot be read yet) changes that record's visibility on
the real queue and reports it as failed, so that Lambda leaves it there. Dead letters are
the process queue's own (its RedrivePolicy): they are asked of it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from cirrus.queue import DeadLetter, Message, WorkQueue

__all__ = ["EventSourceQueue"]


class EventSourceQueue(WorkQueue):
    """One invocation's view of the process queue.

    Args:
        queue: the process queue itself (for visibility changes and sends), or None when
            the records did not come from a queue (an SNS subscription).
    """

    def __init__(self, queue: WorkQueue | None) -> None:
        self.queue = queue
        self.kept: list[Message] = []
        """Records to deliver again later (report them as failed)."""

    def send_many(
        self,
        bodies: Sequence[str],
        *,
        delay_seconds: float = 0,
        keys: Sequence[str] | None = None,
    ) -> None:
        """Send to the process queue."""
        if self.queue is None:
            raise NotImplementedError("no process queue to send to")
        self.queue.send_many(bodies, delay_seconds=delay_seconds, keys=keys)

    def receive(
        self, max_messages: int, *, visibility_seconds: float, owner: str = ""
    ) -> list[Message]:
        """Lambda receives the records; the function never does."""
        raise NotImplementedError("the event source mapping receives the records")

    def take(self, body: str, *, visibility_seconds: float, owner: str = "") -> Message:
        """Lambda receives the records; the function never does."""
        raise NotImplementedError("the event source mapping receives the records")

    def delete_many(self, messages: Sequence[Message]) -> None:
        """Nothing to do: Lambda deletes every record not reported as failed."""

    def hide(self, messages: Sequence[Message], seconds: float) -> None:
        """Keep the records for later: hidden on the queue, reported as failed."""
        self.kept.extend(messages)
        with_receipts = [message for message in messages if message.receipt]
        if self.queue is not None and with_receipts:
            self.queue.hide(with_receipts, seconds)

    def counts(self) -> tuple[int, int]:
        """The process queue's counts."""
        return self.queue.counts() if self.queue is not None else (0, 0)

    def receivers(self) -> set[str]:
        """Lambda's receivers are not named."""
        return set()

    def release(self, owner: str, *, running: Collection[str] | None = None) -> int:
        """Visibility timeouts return a dead invocation's records."""
        return 0

    @property
    def max_receives(self) -> int | None:
        """The process queue's receive limit (None without a queue)."""
        return self.queue.max_receives if self.queue is not None else None

    def dead_letter(self, messages: Sequence[Message], reason: str) -> int:
        """Move records to the process queue's dead letters (Lambda's delete then finds
        them gone)."""
        if self.queue is None:
            raise NotImplementedError("no process queue to dead-letter to")
        return self.queue.dead_letter(messages, reason)

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The process queue's dead letters."""
        return self.queue.dead_letters(limit) if self.queue is not None else []

    def dead_letter_count(self) -> int:
        """How many dead letters the process queue holds."""
        return self.queue.dead_letter_count() if self.queue is not None else 0

    def redrive(self, ids: Collection[str] | None = None) -> int:
        """Move the process queue's dead letters back."""
        return self.queue.redrive(ids) if self.queue is not None else 0
