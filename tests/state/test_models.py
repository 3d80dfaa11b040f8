"""State models: enums, payload id split, ages, dict round trips."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from cirrus.errors import ConfigError, PayloadError
from cirrus.state import (
    ClaimOutcome,
    EventType,
    State,
    StateRecord,
    WorkflowEvent,
    parse_since,
    split_payload_id,
)
from cirrus.state.models import format_time, parse_time

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("enum", [State, EventType, ClaimOutcome])
def test_enum_values_are_their_names(enum: type[State]) -> None:
    assert all(member.value == member.name for member in enum)
    first = next(iter(enum))
    assert json.dumps(first) == f'"{first.name}"'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", timedelta(days=7)),
        ("24h", timedelta(hours=24)),
        ("30m", timedelta(minutes=30)),
        ("45s", timedelta(seconds=45)),
        (" 10D ", timedelta(days=10)),
    ],
)
def test_parse_since(text: str, expected: timedelta) -> None:
    assert parse_since(text) == expected


@pytest.mark.parametrize("text", ["", "7", "d", "7w", "1.5h", "-3d", "7 days"])
def test_parse_since_names_value_and_forms(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_since(text)
    assert repr(text) in str(caught.value)
    assert "7d, 24h, 30m, 45s" in str(caught.value)


def test_split_payload_id() -> None:
    assert split_payload_id("a/b/workflow-cog/x/y") == ("a/b", "cog", "x/y")
    with pytest.raises(PayloadError, match="workflow-"):
        split_payload_id("collection/item")


def test_times_are_fixed_width_utc_text() -> None:
    text = format_time(datetime(2024, 5, 1, 14, 0, tzinfo=UTC) + timedelta(microseconds=5))
    assert text == "2024-05-01T14:00:00.000005Z"
    assert parse_time(text) == datetime(2024, 5, 1, 14, 0, 0, 5, tzinfo=UTC)
    assert parse_time("2024-05-01T14:00:00+02:00") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone"):
        format_time(datetime(2024, 5, 1))  # noqa: DTZ001


def test_record_to_dict_shape_and_round_trip() -> None:
    record = StateRecord(
        payload_id="s2/workflow-cog/item-1",
        state=State.PROCESSING,
        created=T0,
        updated=T0 + timedelta(minutes=1),
        executions=("run-1",),
        claimed_at=T0,
        claim_owner="w1",
        lease_expires=T0 + timedelta(minutes=5),
        previous_state=State.FAILED,
        last_error="TaskError: boom",
        started=T0 + timedelta(minutes=1),
        duration=2.5,
    )

    data = record.to_dict()

    assert data == {
        "payload_id": "s2/workflow-cog/item-1",
        "collections_workflow": "s2_cog",
        "collections": "s2",
        "workflow": "cog",
        "itemids": "item-1",
        "state": "PROCESSING",
        "created": "2024-05-01T12:00:00.000000Z",
        "updated": "2024-05-01T12:01:00.000000Z",
        "executions": ["run-1"],
        "last_error": "TaskError: boom",
        "output_url": None,
        "claimed_at": "2024-05-01T12:00:00.000000Z",
        "claim_owner": "w1",
        "lease_expires": "2024-05-01T12:05:00.000000Z",
        "previous_state": "FAILED",
        "started": "2024-05-01T12:01:00.000000Z",
        "duration": 2.5,
    }
    assert StateRecord.from_dict(json.loads(json.dumps(data))) == record


def test_record_from_dict_names_the_problem() -> None:
    with pytest.raises(PayloadError, match=r"\$\.updated is required"):
        StateRecord.from_dict(
            {"payload_id": "a/workflow-b/c", "state": "FAILED", "created": "2024-05-01T12:00:00Z"}
        )
    with pytest.raises(PayloadError, match=r"\$\.created is not an ISO time: 'x'"):
        StateRecord.from_dict({"payload_id": "a/workflow-b/c", "state": "FAILED", "created": "x"})
    with pytest.raises(PayloadError, match=r"\$\.state is 'RUNNING': use one of CLAIMED"):
        StateRecord.from_dict(
            {"payload_id": "a/workflow-b/c", "state": "RUNNING", "created": "", "updated": ""}
        )


def test_event_round_trip() -> None:
    event = WorkflowEvent(7, "a/workflow-b/c", EventType.TIMED_OUT, T0, execution="run-1")
    assert WorkflowEvent.from_dict(event.to_dict()) == event
    assert event.to_dict()["event_type"] == "TIMED_OUT"
