"""``cirrus payload get-id | validate | template``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.cli.conftest import run_cirrus

ONE = {
    "type": "FeatureCollection",
    "features": [{"id": "S2B_17HQD_20201103_0_L2A", "collection": "sentinel-s2-l2a"}],
    "process": [{"workflow": "cog-archive"}],
}


def test_get_id_of_one_item() -> None:
    result = run_cirrus("payload", "get-id", stdin=json.dumps(ONE))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "sentinel-s2-l2a/workflow-cog-archive/S2B_17HQD_20201103_0_L2A"


def test_get_id_of_two_collections(tmp_path: object) -> None:
    two = dict(
        ONE, features=[{"id": "z-item", "collection": "zz"}, {"id": "a-item", "collection": "aa"}]
    )
    result = run_cirrus("payload", "get-id", stdin=json.dumps(two))
    assert result.stdout.strip() == "aa/zz/workflow-cog-archive/a-item/z-item"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("{not json", "not JSON", id="not-json"),
        pytest.param(
            json.dumps({"features": [{"id": "x"}]}), "$.process is required", id="no-process"
        ),
        pytest.param(json.dumps(dict(ONE, process=[])), "$.process is empty", id="empty-process"),
        pytest.param(
            json.dumps(dict(ONE, process=[{}])), "$.process[0].workflow", id="no-workflow"
        ),
        pytest.param(
            json.dumps(dict(ONE, features=[{"collection": "c"}])), "$.features[0].id", id="no-id"
        ),
    ],
)
def test_validate_rejects_naming_the_field(text: str, message: str) -> None:
    result = run_cirrus("payload", "validate", stdin=text)
    assert result.returncode != 0
    assert message in result.stderr


def test_validate_accepts_a_valid_payload() -> None:
    result = run_cirrus("payload", "validate", "-", stdin=json.dumps(ONE))
    assert result.returncode == 0, result.stderr


def test_template_fills_variables(tmp_path: object) -> None:
    text = '{"process": [{"workflow": "${WORKFLOW?cog}", "upload_options": {"path_template": "s3://$BUCKET/x"}}]}'
    result = run_cirrus("payload", "template", "--var", "BUCKET", "my-bucket", stdin=text)
    assert result.returncode == 0, result.stderr
    process = json.loads(result.stdout)["process"][0]
    assert process == {"workflow": "cog", "upload_options": {"path_template": "s3://my-bucket/x"}}


def test_validate_accepts_public_assets_all() -> None:
    options = {"path_template": "s3://b/${collection}/${id}", "public_assets": "ALL"}
    data = dict(ONE, process=[{"workflow": "cog-archive", "upload_options": options}])
    result = run_cirrus("payload", "validate", stdin=json.dumps(data))
    assert result.returncode == 0, result.stderr
    options["public_assets"] = "all"
    result = run_cirrus("payload", "validate", stdin=json.dumps(data))
    assert result.returncode != 0
    assert 'public_assets must be true, false, "ALL" or a list of asset keys' in result.stderr


@pytest.mark.parametrize(
    "envelope",
    [
        pytest.param(lambda text: {"Type": "Notification", "Message": text}, id="sns"),
        pytest.param(lambda text: {"Message": text}, id="sqs-message-without-type"),
        pytest.param(
            lambda text: {"Records": [{"body": json.dumps({"Message": text})}]}, id="sqs-event"
        ),
        pytest.param(lambda text: {"Records": [{"Sns": {"Message": text}}]}, id="sns-event"),
    ],
)
def test_get_id_opens_envelopes_as_process_does(envelope: Any) -> None:
    result = run_cirrus("payload", "get-id", stdin=json.dumps(envelope(json.dumps(ONE))))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "sentinel-s2-l2a/workflow-cog-archive/S2B_17HQD_20201103_0_L2A"


def test_template_keeps_path_template_variables_and_escapes_dollars() -> None:
    text = json.dumps(
        dict(
            ONE,
            note="costs $$5",
            process=[
                {
                    "workflow": "${WORKFLOW}",
                    "upload_options": {"path_template": "s3://$BUCKET/${collection}/${id}"},
                }
            ],
        )
    )
    result = run_cirrus(
        "payload", "template", "--var", "WORKFLOW", "cog", "--var", "BUCKET", "b", stdin=text
    )
    assert result.returncode == 0, result.stderr
    rendered = json.loads(result.stdout)
    assert rendered["note"] == "costs $5"
    assert rendered["process"][0]["workflow"] == "cog"
    assert rendered["process"][0]["upload_options"]["path_template"] == "s3://b/${collection}/${id}"


def test_template_silenced_errors_leave_unknown_variables() -> None:
    text = json.dumps(dict(ONE, note="${UNKNOWN}"))
    failed = run_cirrus("payload", "template", stdin=text)
    assert failed.returncode != 0 and "$UNKNOWN has no value" in failed.stderr
    result = run_cirrus("payload", "template", "--silence-templating-errors", stdin=text)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["note"] == "${UNKNOWN}"
