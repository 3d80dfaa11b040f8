"""SQS-only queue behaviour: URLs, ensure_queue, batching and limits, FIFO keys, take, errors.

The contract every backend keeps runs over SQS in ``test_contract.py``; these are the
parts only SQS has. All against the run's moto server on 127.0.0.1.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from cirrus.errors import ConfigError, InvalidInput, StateError
from cirrus.queue import SQSQueue, open_queue
from cirrus.queue.sqs import DLQ_RETENTION_SECONDS, QueueMissing, ensure_queue
from tests.aws_server import LocalAWS
from tests.queue.conftest import sqs_client


def _name(suffix: str = "") -> str:
    return f"test-{uuid.uuid4().hex[:16]}{suffix}"


@pytest.fixture
def client(aws: LocalAWS) -> Any:
    return sqs_client(aws)


@pytest.fixture
def queue(client: Any) -> SQSQueue:
    name = _name()
    ensure_queue(name, client=client)
    return SQSQueue(name, client=client)


def _attributes(client: Any, name: str) -> dict[str, str]:
    url = client.get_queue_url(QueueName=name)["QueueUrl"]
    found: dict[str, str] = client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
        "Attributes"
    ]
    return found


# -- opening ------------------------------------------------------------------------------


def test_a_queue_is_opened_by_name_or_by_url(aws: LocalAWS, client: Any) -> None:
    name = _name()
    url = ensure_queue(name, client=client)
    with open_queue(f"sqs://{name}") as by_name:
        assert isinstance(by_name, SQSQueue)
        assert (by_name.name, by_name.url, by_name.wait_seconds) == (name, url, 0)
    with open_queue(f"SQS://{url}?wait_seconds=2") as by_url:
        assert isinstance(by_url, SQSQueue)
        assert (by_url.name, by_url.wait_seconds) == (name, 2)
        assert by_url.counts() == (0, 0)
        assert by_url.ops.requests == {"GetQueueAttributes": 1}  # no GetQueueUrl


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqs://q?max_receives=3", r"RedrivePolicy \(maxReceiveCount\).*ensure_queue"),
        ("sqs://q?wait_seconds=21", "wait_seconds 21 is not from 0 to 20"),
        ("sqs://q?visibility=3", "unknown option 'visibility'"),
        ("sqs://bad name", "SQS queue name 'bad name' is not valid"),
        ("sqs://", "names nothing after sqs://"),
    ],
)
def test_bad_sqs_urls_are_refused(aws: LocalAWS, url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_queue(url)


# -- ensure_queue -------------------------------------------------------------------------


def test_ensure_queue_makes_upstreams_queue_and_dead_letter_queue(client: Any) -> None:
    name = _name()
    url = ensure_queue(name, client=client)
    attributes = _attributes(client, name)
    dlq = _attributes(client, f"{name}-dlq")
    assert attributes["VisibilityTimeout"] == "180"
    assert json.loads(attributes["RedrivePolicy"]) == {
        "maxReceiveCount": 5,
        "deadLetterTargetArn": dlq["QueueArn"],
    }
    assert dlq["MessageRetentionPeriod"] == str(DLQ_RETENTION_SECONDS) == "1209600"
    assert ensure_queue(name, client=client) == url  # again: nothing changes
    ensure_queue(name, max_receives=3, visibility=60, client=client)  # other settings: set
    attributes = _attributes(client, name)
    assert attributes["VisibilityTimeout"] == "60"
    assert json.loads(attributes["RedrivePolicy"])["maxReceiveCount"] == 3
    assert SQSQueue(name, client=client).max_receives == 3


def test_a_queue_without_a_dead_letter_queue(client: Any) -> None:
    name = _name()
    ensure_queue(name, max_receives=None, client=client)
    assert "RedrivePolicy" not in _attributes(client, name)
    queue = SQSQueue(name, client=client)
    assert queue.max_receives is None
    assert (queue.dead_letters(), queue.dead_letter_count(), queue.redrive()) == ([], 0, 0)
    queue.send_many(["a"])
    with pytest.raises(ConfigError, match=r"has no dead-letter queue.*ensure_queue"):
        queue.dead_letter(queue.receive(1, visibility_seconds=60), "why")


def test_ensure_queue_refuses_names_sqs_would(client: Any) -> None:
    with pytest.raises(ConfigError, match="not valid"):
        ensure_queue("x" * 78, client=client)  # no room for -dlq
    with pytest.raises(ConfigError, match="not a receive limit"):
        ensure_queue(_name(), max_receives=0, client=client)


# -- sending ------------------------------------------------------------------------------


def test_send_many_sends_batches_of_ten(queue: SQSQueue) -> None:
    queue.send_many([f"m{i}" for i in range(25)])
    assert queue.ops.requests["SendMessageBatch"] == 3
    assert queue.counts() == (25, 0)
    received = queue.receive(25, visibility_seconds=60)  # three receives of at most 10
    assert sorted(m.body for m in received) == sorted(f"m{i}" for i in range(25))
    assert queue.ops.requests["ReceiveMessage"] == 3
    queue.delete_many(received)
    assert queue.ops.requests["DeleteMessageBatch"] == 3
    assert queue.counts() == (0, 0)


def test_a_batch_holds_at_most_256_kib(queue: SQSQueue) -> None:
    big = "x" * 100_000
    queue.send_many([big, big, big])  # 300,000 bytes: two batches
    assert queue.ops.requests["SendMessageBatch"] == 2
    # billed per 64 KiB: 200,000 bytes are 4 requests, 100,000 are 2; GetQueueUrl is 1
    assert queue.ops.snapshot()["billed"] == 4 + 2 + 1
    assert queue.counts() == (3, 0)


def test_a_body_over_256_kib_is_refused_before_anything_is_sent(queue: SQSQueue) -> None:
    limit = r"message 1 .* 262,145 bytes.*262,144 bytes \(256 KiB\)"
    with pytest.raises(InvalidInput, match=limit):
        queue.send_many(["small", "é" * 131_072 + "x"])
    with pytest.raises(InvalidInput, match="256 KiB"):
        queue.take("y" * 262_145, visibility_seconds=60)
    assert queue.ops.total == 0
    queue.send_many(["z" * 262_144])  # exactly the limit goes
    assert queue.counts() == (1, 0)


@pytest.mark.parametrize(
    ("body", "message"),
    [("nul\x00", r"character '\\x00' at 3, which SQS refuses"), ("\ud800", "not valid Unicode")],
)
def test_text_sqs_refuses_is_refused_first(queue: SQSQueue, body: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        queue.send_many(["fine", body])
    assert queue.ops.total == 0


class _Flaky:
    """A client whose first SendMessageBatch fails for its second entry."""

    def __init__(self, client: Any, *, sender_fault: bool) -> None:
        self._client = client
        self._sender_fault = sender_fault
        self.failed = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def send_message_batch(self, **params: Any) -> dict[str, Any]:
        if self.failed or len(params["Entries"]) < 2:
            return dict(self._client.send_message_batch(**params))
        self.failed += 1
        failing = params["Entries"][1]
        ok = self._client.send_message_batch(
            QueueUrl=params["QueueUrl"], Entries=[params["Entries"][0]]
        )
        return {
            "Successful": ok["Successful"],
            "Failed": [
                {
                    "Id": failing["Id"],
                    "SenderFault": self._sender_fault,
                    "Code": "InternalError" if not self._sender_fault else "InvalidParameterValue",
                    "Message": "try again" if not self._sender_fault else "no",
                }
            ],
        }


def test_entries_sqs_failed_on_its_side_are_sent_again(client: Any) -> None:
    name = _name()
    ensure_queue(name, client=client)
    flaky = _Flaky(client, sender_fault=False)
    queue = SQSQueue(name, client=flaky)
    queue.send_many(["a", "b"])
    assert flaky.failed == 1
    assert queue.ops.requests["SendMessageBatch"] == 2
    assert sorted(m.body for m in queue.receive(5, visibility_seconds=60)) == ["a", "b"]


def test_an_entry_refused_for_its_content_is_an_error(client: Any) -> None:
    name = _name()
    ensure_queue(name, client=client)
    queue = SQSQueue(name, client=_Flaky(client, sender_fault=True))
    with pytest.raises(StateError, match=r"SendMessageBatch .* for 1: InvalidParameterValue"):
        queue.send_many(["a", "b"])


def test_a_delay_is_whole_seconds_up_to_fifteen_minutes(queue: SQSQueue) -> None:
    with pytest.raises(ConfigError, match=r"delay_seconds 901s is more than SQS allows \(900s\)"):
        queue.send_many(["a"], delay_seconds=901)
    with pytest.raises(ConfigError, match="43200s"):
        queue.receive(1, visibility_seconds=43_201)


# -- FIFO queues --------------------------------------------------------------------------


def test_a_fifo_queue_deduplicates_by_key(client: Any) -> None:
    name = _name(".fifo")
    ensure_queue(name, client=client)
    assert "FifoQueue" in _attributes(client, f"{name.removesuffix('.fifo')}-dlq.fifo")
    queue = SQSQueue(name, client=client)
    long_key = "sentinel-2-l2a/workflow-cog/" + "S2A_" * 100  # past SQS's 128 characters
    queue.send_many(["a", "b"], keys=[long_key, "k2"])
    queue.send_many(["a again", "c", "no key", "no key"], keys=None)
    queue.send_many(["a again"], keys=[long_key])  # within SQS's 5 minutes: dropped
    bodies = sorted(m.body for m in queue.receive(10, visibility_seconds=60))
    assert bodies == ["a", "a again", "b", "c", "no key", "no key"]
    with pytest.raises(ConfigError, match="takes no delay per message"):
        queue.send_many(["later"], delay_seconds=5)


def test_a_fifo_queue_dead_letters_and_redrives(client: Any) -> None:
    name = _name(".fifo")
    ensure_queue(name, client=client)
    queue = SQSQueue(name, client=client)
    queue.send_many(["bad"])
    assert queue.dead_letter(queue.receive(1, visibility_seconds=60), "why") == 1
    assert [(x.body, x.reason) for x in queue.dead_letters()] == [("bad", "why")]
    assert queue.redrive() == 1
    assert [m.body for m in queue.receive(1, visibility_seconds=60)] == ["bad"]


# -- take, owners, dead letters -----------------------------------------------------------


def test_take_on_an_idle_queue_is_two_requests(queue: SQSQueue) -> None:
    taken = queue.take("mine", visibility_seconds=60)
    assert (taken.body, taken.receive_count) == ("mine", 1)
    assert queue.ops.requests == {"GetQueueUrl": 1, "SendMessage": 1, "ReceiveMessage": 1}


def test_take_behind_others_lets_them_go_but_counts_their_receive(queue: SQSQueue) -> None:
    queue.send_many([f"other{i}" for i in range(12)])
    taken = queue.take("mine", visibility_seconds=60)
    assert (taken.body, taken.receive_count) == ("mine", 1)
    assert queue.counts() == (12, 1)  # the others are visible again at once
    others = queue.receive(12, visibility_seconds=60)
    assert {m.receive_count for m in others} == {2}  # the cost: each was received once more


def test_sqs_has_no_receivers_to_release(queue: SQSQueue) -> None:
    queue.send_many(["a"])
    queue.receive(1, visibility_seconds=60, owner="w1")
    assert (queue.receivers(), queue.release("w1")) == (set(), 0)


def test_peeking_leaves_dead_letters_in_place(queue: SQSQueue) -> None:
    queue.send_many(["a", "b"])
    queue.dead_letter(queue.receive(2, visibility_seconds=60), "x" * 5000)
    first = queue.dead_letters()
    assert len(first) == 2
    assert {len(x.reason or "") for x in first} == {4096}  # reasons are cut to 4,096
    assert queue.dead_letter_count() == 2
    assert sorted(x.id for x in queue.dead_letters()) == sorted(x.id for x in first)
    assert queue.counts() == (0, 0)


# -- errors -------------------------------------------------------------------------------


def test_a_missing_queue_names_the_fix(client: Any) -> None:
    with pytest.raises(QueueMissing, match=r"'nope' does not exist.*ensure_queue"):
        SQSQueue("nope", client=client).counts()


def test_an_unreachable_endpoint_names_the_setting(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.aws_server import free_port

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    queue = SQSQueue("anything")
    with pytest.raises(StateError, match=r"cannot reach SQS.*AWS_ENDPOINT_URL"):
        queue.counts()
    assert queue.ops.requests == {"GetQueueUrl": 1}


def test_hiding_or_deleting_a_message_that_is_gone_is_no_error(queue: SQSQueue) -> None:
    queue.send_many(["a"])
    messages = queue.receive(1, visibility_seconds=60)
    queue.delete_many(messages)
    queue.delete_many(messages)
    queue.hide(messages, 60)
    assert queue.counts() == (0, 0)
