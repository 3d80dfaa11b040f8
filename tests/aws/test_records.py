"""Reading what AWS hands the process function: every envelope Cirrus accepts."""

from __future__ import annotations

import json

import pytest

from cirrus.aws.records import unwrap_body

PAYLOAD = {"type": "FeatureCollection", "features": [{"id": "a"}], "process": [{"workflow": "w"}]}
TEXT = json.dumps(PAYLOAD)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(TEXT, id="raw"),
        pytest.param(json.dumps({"Type": "Notification", "Message": TEXT}), id="sns"),
        pytest.param(json.dumps({"Message": TEXT}), id="message-without-type"),
        pytest.param(json.dumps({"TopicArn": "arn:aws:sns:x", "Message": TEXT}), id="topic-arn"),
    ],
)
def test_payload_envelopes_are_opened(body: str) -> None:
    assert json.loads(unwrap_body(body)) == PAYLOAD


def test_a_batch_output_is_read_as_its_url_out() -> None:
    body = json.dumps({"Parameters": {"url": "s3://b/in.json", "url_out": "s3://b/out.json"}})
    assert json.loads(unwrap_body(body)) == {"url": "s3://b/out.json"}
