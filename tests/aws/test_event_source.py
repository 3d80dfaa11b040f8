"""EventSourceQueue: one invocation's view of the process queue, dead letters included."""

from __future__ import annotations

import pytest

from cirrus.aws.event_source import EventSourceQueue
from cirrus.queue import MemoryQueue


def test_dead_letters_are_the_process_queues() -> None:
    queue = MemoryQueue(max_receives=3)
    queue.send_many(["poison"])
    records = queue.receive(1, visibility_seconds=60)
    view = EventSourceQueue(queue)
    assert view.max_receives == 3
    assert view.dead_letter(records, "crashed the worker") == 1
    assert [(x.body, x.reason) for x in view.dead_letters()] == [("poison", "crashed the worker")]
    assert view.dead_letter_count() == 1
    assert view.redrive() == 1
    assert queue.counts() == (1, 0)


def test_without_a_queue_there_are_no_dead_letters() -> None:
    view = EventSourceQueue(None)
    assert (view.max_receives, view.dead_letters(), view.dead_letter_count()) == (None, [], 0)
    assert view.redrive() == 0
    with pytest.raises(NotImplementedError, match="no process queue"):
        view.dead_letter([], "why")
