"""What announcements say: item attributes and workflow event documents, as upstream's."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from cirrus.runtime.announcements import event_document, item_attributes
from cirrus.runtime.sns import event_message, item_message
from cirrus.state import EventType, NewEvent


def stac_item(bbox: list[float] | None = None, **properties: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"id": "x", "collection": "s2", "properties": properties}
    if bbox is not None:
        item["bbox"] = bbox
    return item


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        pytest.param(
            stac_item([1, 2, 3, 4], datetime="t0", created="c", updated="c"),
            {
                "collection": "s2",
                "bbox_ll_lon": 1,
                "bbox_ll_lat": 2,
                "bbox_ur_lon": 3,
                "bbox_ur_lat": 4,
                "datetime": "t0",
                "start_datetime": "t0",
                "end_datetime": "t0",
                "status": "created",
            },
            id="start-and-end-fall-back-to-datetime",
        ),
        pytest.param(
            stac_item(
                datetime=None,
                start_datetime="t1",
                end_datetime="t2",
                created="c",
                updated="u",
                **{"eo:cloud_cover": 7.5},
            ),
            {
                "collection": "s2",
                "start_datetime": "t1",
                "end_datetime": "t2",
                "cloud_cover": 7.5,
                "status": "updated",
            },
            id="a-range-and-an-update",
        ),
        pytest.param(
            stac_item([1, 2, 0, 3, 4, 100], updated="u"),
            {
                "collection": "s2",
                "bbox_ll_lon": 1,
                "bbox_ll_lat": 2,
                "bbox_ur_lon": 3,
                "bbox_ur_lat": 4,
            },
            id="3d-bbox-and-no-created",
        ),
        pytest.param(
            stac_item(**{"eo:cloud_cover": None, "datetime": ""}) | {"collection": None},
            {},
            id="empty-values-left-out",
        ),
        pytest.param(
            stac_item(**{"eo:cloud_cover": float("nan")}) | {"bbox": [True, 1, 2]},
            {"collection": "s2"},
            id="no-numbers-that-are-not-numbers",
        ),
    ],
)
def test_item_attributes_follow_upstream(item: dict[str, Any], expected: dict[str, Any]) -> None:
    assert item_attributes(item) == expected


def test_an_item_message_names_bbox_corners_with_dots_and_types_numbers() -> None:
    message = item_message(stac_item([1.5, 2, 3, 4], datetime="t", **{"eo:cloud_cover": 3}))
    assert json.loads(message.body)["id"] == "x"
    assert message.attributes["bbox.ll_lon"] == {"DataType": "Number", "StringValue": "1.5"}
    assert message.attributes["cloud_cover"] == {"DataType": "Number", "StringValue": "3"}
    assert message.attributes["datetime"] == {"DataType": "String", "StringValue": "t"}
    assert len(message.attributes) <= 10  # raw delivery to SQS passes at most 10


def test_an_event_names_an_execution_arn_by_its_console_url_as_upstream() -> None:
    arn = "arn:aws:states:eu-west-1:123456789012:execution:p-cog:abc"
    event = NewEvent(
        "s2/workflow-cog/x",
        EventType.FAILED,
        execution=arn,
        error="KeyError: 'b'",
        input_url="s3://p/in.json",
        time=datetime(2024, 5, 1, 12, tzinfo=UTC),
    )
    assert event_document(event) == {
        "event_type": "FAILED",
        "payload_id": "s2/workflow-cog/x",
        "isotimestamp": "2024-05-01T12:00:00+00:00",
        "input_payload_url": "s3://p/in.json",
        "error": "KeyError: 'b'",
        "execution": "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1"
        f"#/v2/executions/details/{arn}",
    }
    # upstream's reader takes the ARN back from the URL's last path part
    assert event_document(event)["execution"].split("/")[-1] == arn


def test_an_event_message_carries_upstreams_attributes() -> None:
    skipped = event_message(NewEvent("a/b/workflow-cog/x", EventType.ALREADY_SUCCEEDED))
    assert skipped.attributes == {
        "event_type": {"DataType": "String", "StringValue": "ALREADY_SUCCEEDED"},
        "workflow": {"DataType": "String", "StringValue": "cog"},
        "collections": {"DataType": "String", "StringValue": "a/b"},
    }
    assert set(json.loads(skipped.body)) == {"event_type", "payload_id", "isotimestamp"}


def test_an_execution_name_becomes_an_arn_when_the_deployment_is_known() -> None:
    event = NewEvent("s2/workflow-cog/x", EventType.STARTED_PROCESSING, execution="run-1")
    assert event_document(event)["execution"] == "run-1"  # embedded: the name
    base = "arn:aws:states:us-west-2:123456789012:stateMachine:cirrus-"
    url = event_document(event, base)["execution"]
    assert url.split("/")[-1] == "arn:aws:states:us-west-2:123456789012:execution:cirrus-cog:run-1"
    assert url.startswith("https://us-west-2.console.aws.amazon.com/states/")


def test_every_announcement_carries_snss_form_of_the_attributes() -> None:
    from cirrus.runtime.announcements import sns_attributes

    item = stac_item([1.5, -2, 3, 4], datetime="2023-01-05T15:02:11Z")
    assert sns_attributes(item) == {
        "collection": {"DataType": "String", "StringValue": "s2"},
        "bbox.ll_lon": {"DataType": "Number", "StringValue": "1.5"},
        "bbox.ll_lat": {"DataType": "Number", "StringValue": "-2"},
        "bbox.ur_lon": {"DataType": "Number", "StringValue": "3"},
        "bbox.ur_lat": {"DataType": "Number", "StringValue": "4"},
        "datetime": {"DataType": "String", "StringValue": "2023-01-05T15:02:11Z"},
        # filled from datetime, as upstream does; no status without created and updated
        "start_datetime": {"DataType": "String", "StringValue": "2023-01-05T15:02:11Z"},
        "end_datetime": {"DataType": "String", "StringValue": "2023-01-05T15:02:11Z"},
    }
    assert item_message(item).attributes == sns_attributes(item)
