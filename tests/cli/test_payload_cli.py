"""``cirrus payload get-id | validate | template``."""

from __future__ import annotations

import json

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
