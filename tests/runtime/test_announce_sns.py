"""Announcements on SNS, read back through SQS subscriptions on the run's moto server.

The test project (``tests/runtime/conftest.py``) runs its payloads through the embedded
pipeline with a publish topic and a workflow-event topic configured in ``cirrus.yml`` or
the environment; each test subscribes SQS queues to fresh topics (raw delivery on and
off, a filter policy) and reads what arrived.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cirrus.project import find_project
from cirrus.runtime import Pipeline
from cirrus.runtime.publish import UNANNOUNCED_PREFIX
from tests.runtime.conftest import Proj, item, payload, payload_id
from tests.subscriptions import Topics, envelope_attributes, raw_attributes


@pytest.fixture
def configured(proj: Proj) -> Iterator[Callable[..., Pipeline]]:
    """A pipeline on the test project after adding lines to its ``cirrus.yml``."""
    opened: list[Pipeline] = []

    def make(**settings: str) -> Pipeline:
        with (proj.root / "cirrus.yml").open("a") as config:
            config.writelines(f"{key}: {value}\n" for key, value in settings.items())
        pipeline = Pipeline.for_project(find_project(explicit=proj.root), time_scale=0)
        opened.append(pipeline)
        return pipeline

    yield make
    for pipeline in opened:
        pipeline.close()


# ---------------------------------------------------------------- published items


def test_each_published_item_is_one_message_with_upstreams_attributes(
    proj: Proj, topics: Topics, configured: Callable[..., Pipeline]
) -> None:
    name, arn = topics.topic()
    raw, enveloped = topics.subscribe(arn, raw=True), topics.subscribe(arn, raw=False)
    pipeline = configured(publish_topic=f"sns://{name}")  # by name: looked up once
    cloudy = item("x", **{"eo:cloud_cover": 12.5})
    timed = item("y", start_datetime="2023-12-31T00:00:00Z", end_datetime="2024-01-02T00:00:00Z")
    pipeline.submit([payload(cloudy, timed, workflow="stamp-only")])
    assert pipeline.drain()["succeeded"] == 1

    delivered = {json.loads(m["Body"])["id"]: m for m in topics.received(raw)}
    assert sorted(delivered) == ["x", "y"]
    catalog = json.loads((proj.cirrus_dir / "data" / "test" / "x" / "x.json").read_text())
    assert json.loads(delivered["x"]["Body"]) == catalog  # the item as published
    assert catalog["properties"]["created"] == catalog["properties"]["updated"]
    assert raw_attributes(delivered["x"]) == {
        "collection": ("String", "test"),
        "bbox.ll_lon": ("Number", "10.0"),
        "bbox.ll_lat": ("Number", "50.0"),
        "bbox.ur_lon": ("Number", "10.0"),
        "bbox.ur_lat": ("Number", "50.0"),
        "datetime": ("String", "2024-01-01T00:00:00Z"),
        "start_datetime": ("String", "2024-01-01T00:00:00Z"),
        "end_datetime": ("String", "2024-01-01T00:00:00Z"),
        "cloud_cover": ("Number", "12.5"),
        "status": ("String", "created"),
    }
    y = raw_attributes(delivered["y"])
    assert y["start_datetime"] == ("String", "2023-12-31T00:00:00Z")
    assert y["end_datetime"] == ("String", "2024-01-02T00:00:00Z")
    assert "cloud_cover" not in y

    envelopes = {json.loads(m["Body"])["Message"]: m for m in topics.received(enveloped)}
    assert {json.loads(body)["id"] for body in envelopes} == {"x", "y"}
    for body, message in envelopes.items():
        assert json.loads(message["Body"])["TopicArn"] == arn
        assert envelope_attributes(message) == raw_attributes(delivered[json.loads(body)["id"]])


def test_an_item_published_again_is_announced_as_updated(
    topics: Topics, configured: Callable[..., Pipeline]
) -> None:
    _, arn = topics.topic()
    queue = topics.subscribe(arn)
    pipeline = configured(publish_topic=arn)
    pipeline.submit([payload(item("x"), workflow="stamp-only")])
    pipeline.drain()
    pipeline.submit([payload(item("x"), workflow="stamp-only", replace=True)])
    pipeline.drain()
    statuses = [raw_attributes(m)["status"][1] for m in topics.received(queue)]
    assert statuses == ["created", "updated"]


def test_a_filter_policy_delivers_only_matching_items(
    topics: Topics, configured: Callable[..., Pipeline]
) -> None:
    _, arn = topics.topic()
    wanted = topics.subscribe(arn, filter_policy={"collection": ["wanted"]})
    clear = topics.subscribe(arn, filter_policy={"cloud_cover": [{"numeric": ["<", 20]}]})
    everything = topics.subscribe(arn, raw=False)
    pipeline = configured(publish_topic=arn)
    pipeline.submit(
        [
            payload(item("a", "wanted", **{"eo:cloud_cover": 50}), workflow="stamp-only"),
            payload(item("b", "other", **{"eo:cloud_cover": 5}), workflow="stamp-only"),
            payload(item("c", "wanted", **{"eo:cloud_cover": 10}), workflow="stamp-only"),
        ]
    )
    assert pipeline.drain()["succeeded"] == 3

    def ids(queue: str) -> list[str]:
        return sorted(json.loads(m["Body"])["id"] for m in topics.received(queue))

    assert ids(wanted) == ["a", "c"]
    assert ids(clear) == ["b", "c"]
    assert len(topics.received(everything)) == 3


def test_items_go_ten_to_a_request_and_under_the_size_limit(topics: Topics) -> None:
    from cirrus.runtime.sns import SNSTopic, item_message

    _, arn = topics.topic()
    queue = topics.subscribe(arn)
    topic = SNSTopic(arn)
    assert topic.publish([item_message(item(f"i{n}")) for n in range(23)]) == []
    assert topic.ops.requests["PublishBatch"] == 3
    big = [item(f"big{n}", padding="x" * 60_000) for n in range(6)]  # 4 fit in 256 KiB
    assert topic.publish([item_message(i) for i in big]) == []
    assert topic.ops.requests["PublishBatch"] == 5
    assert len(topics.received(queue)) == 29


# ---------------------------------------------------------------- workflow events


def test_workflow_events_arrive_in_order_with_upstreams_shape(
    proj: Proj,
    topics: Topics,
    configured: Callable[..., Pipeline],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, arn = topics.topic()
    queue = topics.subscribe(arn)
    monkeypatch.setenv("CIRRUS_WORKFLOW_EVENT_TOPIC_ARN", arn)
    pipeline = configured()
    ok, fails, invalid = payload_id("a"), payload_id("b"), payload_id("c")
    pipeline.submit(
        [
            payload(item("a")),
            payload(item("b", fail=True)),
            payload(item("c", invalid="cirrus")),
        ]
    )
    counts = pipeline.drain()
    assert (counts["succeeded"], counts["failed"], counts["invalid"]) == (1, 1, 1)
    pipeline.submit([payload(item("a"))])  # already succeeded: skipped, with an event
    pipeline.drain()

    received = topics.received(queue)
    bodies = [json.loads(m["Body"]) for m in received]
    by_payload: dict[str, list[str]] = {}
    for body in bodies:
        by_payload.setdefault(body["payload_id"], []).append(body["event_type"])
    start = ["CLAIMED_PROCESSING", "STARTED_PROCESSING"]
    assert by_payload == {
        ok: [*start, "SUCCEEDED", "ALREADY_SUCCEEDED"],
        fails: [*start, "FAILED"],
        invalid: [*start, "INVALID"],
    }
    # the same events, with the same times, as the state database recorded
    for payload_ in (ok, fails, invalid):
        recorded = pipeline.db.events(payload_)
        sent = [b for b in bodies if b["payload_id"] == payload_]
        assert [(e.event_type.value, e.time) for e in recorded] == [
            (b["event_type"], _time(b["isotimestamp"])) for b in sent
        ]

    record = pipeline.db.get(ok)
    assert record is not None
    succeeded = next(b for b in bodies if b["event_type"] == "SUCCEEDED")
    assert succeeded == {
        "event_type": "SUCCEEDED",
        "payload_id": ok,
        "isotimestamp": succeeded["isotimestamp"],
        "input_payload_url": succeeded["input_payload_url"],
        "output_payload_url": record.output_url,
        "execution": record.executions[-1],
    }
    assert succeeded["isotimestamp"].endswith("+00:00")
    assert succeeded["input_payload_url"].endswith(f"{record.executions[-1]}/input.json")
    failed = next(m for m in received if json.loads(m["Body"])["event_type"] == "FAILED")
    assert raw_attributes(failed) == {
        "event_type": ("String", "FAILED"),
        "workflow": ("String", "three"),
        "collections": ("String", "test"),
        "error": ("String", "RuntimeError: asked to fail b"),
    }
    assert json.loads(failed["Body"])["error"] == "RuntimeError: asked to fail b"


def _time(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text)


# ---------------------------------------------------------------- failing topics


def test_a_missing_topic_costs_the_payload_nothing_and_its_messages_are_kept(
    proj: Proj,
    topics: Topics,
    configured: Callable[..., Pipeline],
    caplog: pytest.LogCaptureFixture,
) -> None:
    items_topic, events_topic = (f"missing-{uuid.uuid4().hex[:10]}" for _ in range(2))
    arn = f"arn:aws:sns:us-east-1:123456789012:{items_topic}"
    pipeline = configured(publish_topic=arn, workflow_event_topic=f"sns://{events_topic}")
    pipeline.submit([payload(item("a"), workflow="stamp-only")])
    with caplog.at_level(logging.ERROR, logger="cirrus.runtime.publish"):
        counts = pipeline.drain()

    assert counts["succeeded"] == 1
    record = pipeline.db.get(payload_id("a", "stamp-only"))
    assert record is not None and record.state.value == "SUCCEEDED"
    assert len(pipeline.db.events(record.payload_id)) == 3
    assert [line["item"]["id"] for line in proj.published] == ["a"]  # the log still has it
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("does not exist" in e and "publish_topic" in e for e in errors), errors
    assert any("does not exist" in e and "workflow_event_topic" in e for e in errors), errors

    store = proj.payload_store
    kept = [json.loads(store.get(key)) for key in store.list(UNANNOUNCED_PREFIX)]
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for request in kept:
        by_topic.setdefault(request["TopicArn"].rsplit(":", 1)[-1], []).append(request)

    def bodies(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            json.loads(entry["Message"])
            for request in requests
            for entry in request["PublishBatchRequestEntries"]
        ]

    assert [body["id"] for body in bodies(by_topic[items_topic])] == ["a"]
    assert sorted(body["event_type"] for body in bodies(by_topic[events_topic])) == [
        "CLAIMED_PROCESSING",
        "STARTED_PROCESSING",
        "SUCCEEDED",
    ]

    # once the topic exists, a kept object is a PublishBatch request as it stands
    _, created = topics.topic(items_topic)
    queue = topics.subscribe(created)
    assert topics.sns.publish_batch(**by_topic[items_topic][0])["Failed"] == []
    assert [json.loads(m["Body"])["id"] for m in topics.received(queue)] == ["a"]


def test_entries_sns_failed_on_its_side_are_sent_again_and_refusals_are_not() -> None:
    from cirrus.runtime.sns import SNSTopic, item_message

    calls: list[list[str]] = []

    class Flaky:
        """Fails entry 1 on SNS's side once, refuses entry 2 as the sender's fault."""

        def publish_batch(self, TopicArn: str, PublishBatchRequestEntries: list[Any]) -> Any:
            ids = [json.loads(e["Message"])["id"] for e in PublishBatchRequestEntries]
            calls.append(ids)
            failed = []
            for entry, item_id in zip(PublishBatchRequestEntries, ids, strict=True):
                if item_id == "one" and len(calls) == 1:
                    failed.append(
                        {"Id": entry["Id"], "Code": "InternalError", "SenderFault": False}
                    )
                if item_id == "two":
                    failed.append(
                        {"Id": entry["Id"], "Code": "InvalidParameter", "SenderFault": True}
                    )
            return {"Failed": failed}

    topic = SNSTopic("arn:aws:sns:us-east-1:123456789012:t", client=Flaky())
    refused = topic.publish([item_message(item(i)) for i in ("zero", "one", "two")])
    assert calls == [["zero", "one", "two"], ["one"]]
    assert [(r.message.subject, "InvalidParameter" in r.reason) for r in refused] == [
        ("item 'two'", True)
    ]
    assert topic.ops.snapshot() == {
        "requests": {"PublishBatch": 2},
        "billed": 2,
        "messages": 2,
        "retried": 1,
        "refused": 1,
    }


def test_a_topic_sns_cannot_be_asked_about_says_why_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from cirrus.runtime.sns import SNSTopic, item_message
    from tests.aws_server import free_port

    def reasons(topic: str) -> list[str]:
        sns = SNSTopic(topic)
        refused = sns.publish([item_message(item("a")), item_message(item("b"))])
        assert sns.ops.snapshot()["refused"] == 2
        return [r.reason for r in refused]

    arn = "arn:aws:sns:us-east-1:123456789012:t"
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    unreachable = reasons(arn)
    assert unreachable[0] == unreachable[1]
    assert re.fullmatch(
        rf"cannot reach SNS for topic '{arn}' \(Could not connect to the endpoint URL: .*\): "
        "check the network and AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_SNS",
        unreachable[0],
    )

    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    assert (
        reasons("sns://t")
        == [
            "no AWS region for SNS topic 'sns://t': give its ARN, or set AWS_DEFAULT_REGION "
            "(Lambda sets it) or a region in the AWS profile"
        ]
        * 2
    )

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    assert (
        reasons(arn)
        == [
            f"no AWS credentials for SNS topic '{arn}': set AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        ]
        * 2
    )
