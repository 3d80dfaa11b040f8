"""The process queue as a Lambda event source mapping presents it to the ``process`` function.

Lambda receives the records and deletes every one the function does not report as failed,
so the runtime's deletions are left to it; looking at a record again later (a payload held
by another claim, a reference that cannot be read yet) changes that record's visibility on
the real queue and reports it as failed, so that Lambda leaves it there.
"""

from __future__ import annotations

from collections.abc import Sequence

from cirrus.queue import Message, WorkQueue

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

    def release(self, owner: str) -> int:
        """Visibility timeouts return a dead invocation's records."""
        return 0
