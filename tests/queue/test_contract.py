"""The behaviour every work queue backend must have (runs once per backend in conftest)."""

from __future__ import annotations

import time

from cirrus.queue import WorkQueue


def test_messages_come_back_in_order_and_are_hidden_while_received(queue: WorkQueue) -> None:
    queue.send_many(["a", "b", "c"])
    first = queue.receive(2, visibility_seconds=60)
    assert [m.body for m in first] == ["a", "b"]
    assert queue.counts() == (1, 2)
    assert [m.body for m in queue.receive(5, visibility_seconds=60)] == ["c"]
    assert queue.receive(5, visibility_seconds=60) == []


def test_a_message_reappears_after_its_visibility_timeout(queue: WorkQueue) -> None:
    queue.send_many(["a"])
    (first,) = queue.receive(1, visibility_seconds=0.05)
    time.sleep(0.1)
    (again,) = queue.receive(1, visibility_seconds=60)
    assert again.body == "a" and again.receive_count == 2
    queue.delete_many([first])  # a stale receipt deletes nothing
    assert queue.counts() == (0, 1)
    queue.delete_many([again])
    assert queue.counts() == (0, 0)


def test_hide_and_release(queue: WorkQueue) -> None:
    queue.send_many(["a", "b"])
    messages = queue.receive(2, visibility_seconds=0.05, owner="w1")
    queue.hide(messages[:1], 60)
    time.sleep(0.1)
    assert [m.body for m in queue.receive(5, visibility_seconds=60, owner="w2")] == ["b"]
    assert queue.receivers() == {"w1", "w2"}
    assert queue.release("w1") == 1
    assert [m.body for m in queue.receive(5, visibility_seconds=60)] == ["a"]


def test_sending_with_keys_is_idempotent(queue: WorkQueue) -> None:
    queue.send_many(["a", "b"], keys=["k1", "k2"])
    (first, second) = queue.receive(5, visibility_seconds=60)
    queue.delete_many([first, second])
    queue.send_many(["a again", "c"], keys=["k1", "k3"])  # k1 was sent before: dropped
    assert [m.body for m in queue.receive(5, visibility_seconds=60)] == ["c"]


def test_a_delayed_message_stays_hidden_until_its_delay_passes(queue: WorkQueue) -> None:
    queue.send_many(["later"], delay_seconds=0.05)
    assert queue.counts() == (0, 1)
    assert queue.receive(1, visibility_seconds=60) == []
    time.sleep(0.1)
    assert [m.body for m in queue.receive(1, visibility_seconds=60)] == ["later"]


def test_a_taken_message_is_received_at_once_and_returns_if_not_deleted(
    queue: WorkQueue,
) -> None:
    taken = queue.take("now", visibility_seconds=0.05, owner="w1")
    assert (taken.body, taken.receive_count) == ("now", 1)
    assert taken.first_received_at > 0
    assert queue.counts() == (0, 1)
    assert queue.receivers() == {"w1"}
    time.sleep(0.1)
    (again,) = queue.receive(1, visibility_seconds=60)
    assert (again.id, again.receive_count) == (taken.id, 2)
    assert again.first_received_at == taken.first_received_at
    queue.delete_many([again])
    assert queue.counts() == (0, 0)


def test_a_later_receiver_owns_the_message(queue: WorkQueue) -> None:
    queue.send_many(["a"])
    (first,) = queue.receive(1, visibility_seconds=0.05, owner="w1")
    time.sleep(0.1)
    (second,) = queue.receive(1, visibility_seconds=60, owner="w2")
    assert second.id == first.id
    queue.hide([first], 0)  # the old receipt moves nothing
    assert queue.counts() == (0, 1)
    assert queue.release("w1") == 0
    assert queue.receivers() == {"w2"}


def test_empty_batches_are_fine(queue: WorkQueue) -> None:
    queue.send_many([])
    queue.delete_many([])
    queue.hide([], 10)
    assert queue.counts() == (0, 0)
    assert queue.receivers() == set()
