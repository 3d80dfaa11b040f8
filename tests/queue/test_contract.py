"""The behaviour every work queue backend must have (runs once per backend in conftest).

Points a backend can only approximate are asserted where its ``traits`` promise them
(see ``conftest.py``).
"""

from __future__ import annotations

import time

import pytest

from cirrus.queue import WorkQueue
from tests.queue.conftest import MakeQueue, Traits


def assert_counts(queue: WorkQueue, traits: Traits, expected: tuple[int, int]) -> None:
    """``counts()`` is ``expected``; a backend with approximate counts gets a few seconds."""
    deadline = time.monotonic() + (0 if traits.exact_counts else 5)
    while (counts := queue.counts()) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    assert counts == expected


def test_messages_come_back_in_order_and_are_hidden_while_received(
    queue: WorkQueue, traits: Traits
) -> None:
    queue.send_many(["a", "b", "c"])
    first = queue.receive(2, visibility_seconds=60)
    assert len(first) == 2
    assert_counts(queue, traits, (1, 2))
    rest = queue.receive(5, visibility_seconds=60)
    assert sorted(m.body for m in first + rest) == ["a", "b", "c"]
    if traits.ordered:
        assert [m.body for m in first + rest] == ["a", "b", "c"]
    assert queue.receive(5, visibility_seconds=60) == []


def test_a_message_reappears_after_its_visibility_timeout(queue: WorkQueue, traits: Traits) -> None:
    queue.send_many(["a"])
    (first,) = queue.receive(1, visibility_seconds=traits.short)
    time.sleep(traits.pause)
    (again,) = queue.receive(1, visibility_seconds=60)
    assert (again.id, again.body, again.receive_count) == (first.id, "a", 2)
    if traits.stale_receipts_ignored:
        queue.delete_many([first])  # a stale receipt deletes nothing
        assert_counts(queue, traits, (0, 1))
    queue.delete_many([again])
    assert_counts(queue, traits, (0, 0))


def test_hide_keeps_a_message_away(queue: WorkQueue, traits: Traits) -> None:
    queue.send_many(["a", "b"])
    messages = queue.receive(2, visibility_seconds=traits.short, owner="w1")
    hidden = messages[0]
    queue.hide([hidden], 60)
    time.sleep(traits.pause)
    (other,) = queue.receive(5, visibility_seconds=60, owner="w2")
    assert other.body != hidden.body
    queue.hide([hidden], 0)  # and hide(0) shows it at once
    (back,) = queue.receive(5, visibility_seconds=60)
    assert (back.id, back.body) == (hidden.id, hidden.body)


def test_receivers_and_release(queue: WorkQueue, traits: Traits) -> None:
    queue.send_many(["a", "b"])
    messages = queue.receive(2, visibility_seconds=0.05 if traits.owners else 60, owner="w1")
    if not traits.owners:  # SQS: no owners; visibility timeouts free a dead receiver's
        assert queue.receivers() == set()
        assert queue.release("w1") == 0
        assert_counts(queue, traits, (0, 2))
        return
    queue.hide(messages[:1], 60)
    time.sleep(0.1)
    assert [m.body for m in queue.receive(5, visibility_seconds=60, owner="w2")] == ["b"]
    assert queue.receivers() == {"w1", "w2"}
    assert queue.release("w1") == 1
    assert [m.body for m in queue.receive(5, visibility_seconds=60)] == ["a"]


def test_release_gives_back_the_receives_of_messages_not_running(
    queue: WorkQueue, traits: Traits
) -> None:
    if not traits.owners:
        return  # SQS: a dead receiver's messages come back when their visibility ends
    queue.send_many(["a", "b", "c"])
    held = queue.receive(3, visibility_seconds=60, owner="w1")
    running = next(m for m in held if m.body == "b")
    assert queue.release("w1", running={running.id}) == 3
    again = {m.body: m.receive_count for m in queue.receive(5, visibility_seconds=60)}
    # "b" may have killed its receiver: its receive counts; the others were only held
    assert again == {"a": 1, "b": 2, "c": 1}


def test_sending_with_keys_is_idempotent(queue: WorkQueue, traits: Traits) -> None:
    queue.send_many(["a", "b"], keys=["k1", "k2"])
    (first, second) = queue.receive(5, visibility_seconds=60)
    queue.delete_many([first, second])
    queue.send_many(["a again", "c"], keys=["k1", "k3"])  # k1 was sent before: dropped
    bodies = [m.body for m in queue.receive(5, visibility_seconds=60)]
    if traits.deduplicates:
        assert bodies == ["c"]
    else:  # delivered again: the state database's claim absorbs the repeat
        assert sorted(bodies) == ["a again", "c"]


def test_a_delayed_message_stays_hidden_until_its_delay_passes(
    queue: WorkQueue, traits: Traits
) -> None:
    queue.send_many(["later"], delay_seconds=traits.short)
    assert_counts(queue, traits, (0, 1))
    assert queue.receive(1, visibility_seconds=60) == []
    time.sleep(traits.pause)
    assert [m.body for m in queue.receive(1, visibility_seconds=60)] == ["later"]


def test_a_taken_message_is_received_at_once_and_returns_if_not_deleted(
    queue: WorkQueue, traits: Traits
) -> None:
    taken = queue.take("now", visibility_seconds=traits.short, owner="w1")
    assert (taken.body, taken.receive_count) == ("now", 1)
    assert taken.first_received_at > 0
    assert_counts(queue, traits, (0, 1))
    assert queue.receivers() == ({"w1"} if traits.owners else set())
    time.sleep(traits.pause)
    (again,) = queue.receive(1, visibility_seconds=60)
    assert (again.id, again.receive_count) == (taken.id, 2)
    assert again.first_received_at == taken.first_received_at
    queue.delete_many([again])
    assert_counts(queue, traits, (0, 0))


def test_a_later_receiver_owns_the_message(queue: WorkQueue, traits: Traits) -> None:
    queue.send_many(["a"])
    (first,) = queue.receive(1, visibility_seconds=traits.short, owner="w1")
    time.sleep(traits.pause)
    (second,) = queue.receive(1, visibility_seconds=60, owner="w2")
    assert second.id == first.id
    assert second.receipt != first.receipt
    if traits.stale_receipts_ignored:
        queue.hide([first], 0)  # the old receipt moves nothing
        assert_counts(queue, traits, (0, 1))
    if traits.owners:
        assert queue.release("w1") == 0
        assert queue.receivers() == {"w2"}


def test_empty_batches_are_fine(queue: WorkQueue, traits: Traits) -> None:
    queue.send_many([])
    queue.delete_many([])
    queue.hide([], 10)
    assert queue.dead_letter([], "nothing") == 0
    assert queue.receive(0, visibility_seconds=10) == []
    assert_counts(queue, traits, (0, 0))
    assert queue.receivers() == set()


# -- dead letters ---------------------------------------------------------------------------


def test_the_receive_limit_is_five_unless_told(make_queue: MakeQueue) -> None:
    assert make_queue().max_receives == 5
    assert make_queue(max_receives=2).max_receives == 2
    assert make_queue(max_receives=None).max_receives is None


def _hand_back(queue: WorkQueue, times: int, body: str) -> None:
    """Receive the one visible message ``times`` times without deleting it, as workers that
    crash on it would."""
    for count in range(1, times + 1):
        (message,) = queue.receive(1, visibility_seconds=60)
        assert (message.body, message.receive_count) == (body, count)
        queue.hide([message], 0)


def test_a_message_received_max_receives_times_moves_to_the_dead_letters(
    make_queue: MakeQueue, traits: Traits
) -> None:
    queue = make_queue(max_receives=2)
    queue.send_many(["poison"])
    _hand_back(queue, 2, "poison")
    queue.send_many(["fine"])
    # the receive that finds it past the limit moves it, and delivers the others
    assert [m.body for m in queue.receive(5, visibility_seconds=60)] == ["fine"]
    assert queue.dead_letter_count() == 1
    assert_counts(queue, traits, (0, 1))
    (letter,) = queue.dead_letters()
    assert (letter.body, letter.receive_count, letter.reason) == ("poison", 2, None)
    assert letter.first_received_at > 0
    if traits.last_received:
        assert letter.last_received_at is not None
        assert letter.last_received_at >= letter.first_received_at
    assert queue.receive(5, visibility_seconds=60) == []  # never delivered again


def test_a_taken_message_counts_its_receive(make_queue: MakeQueue, traits: Traits) -> None:
    queue = make_queue(max_receives=1)
    taken = queue.take("once", visibility_seconds=60)
    queue.hide([taken], 0)
    assert queue.receive(5, visibility_seconds=60) == []
    assert [letter.body for letter in queue.dead_letters()] == ["once"]
    assert_counts(queue, traits, (0, 0))


def test_without_a_limit_a_message_is_delivered_for_ever(make_queue: MakeQueue) -> None:
    queue = make_queue(max_receives=None)
    queue.send_many(["again"])
    _hand_back(queue, 7, "again")
    assert queue.dead_letter_count() == 0


def test_a_worker_dead_letters_a_message_with_a_reason(queue: WorkQueue, traits: Traits) -> None:
    queue.send_many(["bad", "good"])
    messages = queue.receive(2, visibility_seconds=60)
    bad = next(m for m in messages if m.body == "bad")
    assert queue.dead_letter([bad], "RecursionError: nested 980 deep") == 1
    assert_counts(queue, traits, (0, 1))
    assert queue.dead_letter_count() == 1
    (letter,) = queue.dead_letters()
    assert (letter.body, letter.receive_count) == ("bad", 1)
    assert letter.reason == "RecursionError: nested 980 deep"
    assert letter.first_received_at == bad.first_received_at


@pytest.mark.parametrize("how", ["dead_letter", "delete"])
def test_a_stale_receipt_dead_letters_nothing(queue: WorkQueue, traits: Traits, how: str) -> None:
    if not traits.stale_receipts_ignored:
        pytest.skip("this backend may act on an old receipt (see conftest)")
    queue.send_many(["a"])
    (first,) = queue.receive(1, visibility_seconds=traits.short)
    time.sleep(traits.pause)
    (second,) = queue.receive(1, visibility_seconds=60)
    if how == "dead_letter":
        assert queue.dead_letter([first], "too late") == 0
    else:
        queue.delete_many([first])
    assert queue.dead_letter_count() == 0
    assert queue.dead_letter([second], "in time") == 1


def test_dead_letters_are_listed_up_to_a_limit_and_moved_back(
    queue: WorkQueue, traits: Traits
) -> None:
    assert queue.dead_letters() == []
    assert queue.redrive() == 0
    queue.send_many(["a", "b", "c"])
    for message in queue.receive(3, visibility_seconds=60):
        queue.dead_letter([message], f"reason {message.body}")
    assert queue.dead_letter_count() == 3
    assert len(queue.dead_letters(limit=2)) == 2
    letters = queue.dead_letters()
    assert sorted((x.body, x.reason) for x in letters) == [
        ("a", "reason a"),
        ("b", "reason b"),
        ("c", "reason c"),
    ]
    if traits.ordered:
        assert [x.body for x in letters] == ["a", "b", "c"]  # oldest first
    ids = {letter.body: letter.id for letter in letters}

    assert queue.redrive([ids["b"], "no-such-id"]) == 1
    assert sorted(x.body for x in queue.dead_letters()) == ["a", "c"]
    (back,) = queue.receive(5, visibility_seconds=60)
    assert (back.body, back.receive_count) == ("b", 1)  # a new message: counted afresh
    queue.delete_many([back])

    assert queue.redrive() == 2
    assert queue.dead_letter_count() == 0
    assert sorted(m.body for m in queue.receive(5, visibility_seconds=60)) == ["a", "c"]
