"""The ``process`` and ``update-state`` functions announce on SNS, read through SQS.

With ``CIRRUS_PUBLISH_TOPIC_ARN`` and ``CIRRUS_WORKFLOW_EVENT_TOPIC_ARN`` set, as a
deployment sets them, the functions send upstream's messages: the claim and start events
from ``process``, the end event and one message per output item from ``update-state``;
events name their execution by its Step Functions console URL, as upstream's do.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from cirrus.aws.handlers.process import ProcessFunction
from cirrus.aws.handlers.update_state import UpdateStateFunction
from cirrus.payload import Payload
from cirrus.queue import MemoryQueue
from tests.aws.conftest import Deployment, payload, sqs_event, status_change
from tests.subscriptions import Topics, raw_attributes


@pytest.fixture
def announced(deployment: Deployment, topics: Topics) -> dict[str, str]:
    """Topics for items and events, each with a raw subscription: the environment and queues."""
    _, items = topics.topic()
    _, events = topics.topic()
    return {
        "CIRRUS_PUBLISH_TOPIC_ARN": items,
        "CIRRUS_WORKFLOW_EVENT_TOPIC_ARN": events,
        "items": topics.subscribe(items),
        "events": topics.subscribe(events),
    }


def _run(
    deployment: Deployment, announced: dict[str, str], ending: str, **change: Any
) -> tuple[str, dict[str, Any]]:
    """One payload through process and update-state; returns its id and execution."""
    env = {key: value for key, value in announced.items() if key.startswith("CIRRUS_")}
    deployment.add_workflow("w")
    data = payload("a", collection="s2")
    data["features"][0]["bbox"] = [1.0, 2.0, 3.0, 4.0]
    ProcessFunction(deployment.settings(**env), queue=MemoryQueue()).handle(
        sqs_event(json.dumps(data))
    )
    [listed] = deployment.executions("w")
    client = deployment.aws.client("stepfunctions")
    execution = dict(client.describe_execution(executionArn=listed["executionArn"]))
    event = status_change(execution, ending, **change)
    UpdateStateFunction(deployment.settings(**env), queue=MemoryQueue()).handle(event)
    return Payload.from_dict(data).id, execution


def test_a_success_announces_its_events_and_items(
    deployment: Deployment, announced: dict[str, str], topics: Topics
) -> None:
    output = payload("a", collection="s2")
    output["features"][0]["properties"].update(created="t1", updated="t2")
    payload_id, execution = _run(deployment, announced, "SUCCEEDED", output=output)

    events = [json.loads(m["Body"]) for m in topics.received(announced["events"])]
    assert [e["event_type"] for e in events] == [
        "CLAIMED_PROCESSING",
        "STARTED_PROCESSING",
        "SUCCEEDED",
    ]
    assert {e["payload_id"] for e in events} == {payload_id}
    arn = execution["executionArn"]
    console = "https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1"
    console += f"#/v2/executions/details/{arn}"
    assert events[1]["execution"] == events[2]["execution"] == console
    assert events[2]["output_payload_url"].startswith(f"s3://{deployment.payload_bucket}/")
    assert events[2]["input_payload_url"].endswith(f"{execution['name']}/input.json")

    [item] = topics.received(announced["items"])
    assert json.loads(item["Body"])["id"] == "a"
    assert raw_attributes(item) == {
        "collection": ("String", "s2"),
        "datetime": ("String", "2024-05-01T00:00:00Z"),
        "start_datetime": ("String", "2024-05-01T00:00:00Z"),
        "end_datetime": ("String", "2024-05-01T00:00:00Z"),
        "status": ("String", "updated"),
    }


@pytest.mark.parametrize(
    ("ending", "error", "event", "text"),
    [
        pytest.param("FAILED", "RuntimeError", "FAILED", "RuntimeError: why", id="failed"),
        pytest.param("FAILED", "InvalidInput", "INVALID", "InvalidInput: why", id="invalid"),
        pytest.param(
            "TIMED_OUT",
            "States.Timeout",
            "TIMED_OUT",
            "TimedOutError: The step function execution timed out.",  # upstream's text
            id="timed-out",
        ),
        pytest.param("ABORTED", None, "ABORTED", None, id="aborted"),
    ],
)
def test_other_endings_announce_their_event_and_no_item(
    deployment: Deployment,
    announced: dict[str, str],
    topics: Topics,
    ending: str,
    error: str | None,
    event: str,
    text: str | None,
) -> None:
    cause = "why" if error else None
    _run(deployment, announced, ending, error=error, cause=cause)
    received = topics.received(announced["events"])
    assert [json.loads(m["Body"])["event_type"] for m in received][2:] == [event]
    last = raw_attributes(received[-1])
    assert last["event_type"] == ("String", event)
    assert last["workflow"] == ("String", "w")
    if text:
        assert last["error"] == ("String", text)
    assert topics.received(announced["items"]) == []
