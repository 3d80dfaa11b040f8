"""The generic task handler, fed events as Step Functions sends them to a Lambda task.

A project folder in a temporary directory stands in for the Lambda zip (``tasks/<name>/``);
payloads by reference and results too big for Step Functions go to S3 on the moto server.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cirrus.aws.handlers import task as handler_module
from cirrus.aws.handlers.task import MAX_RESULT_BYTES, lambda_handler, task_error
from cirrus.errors import ConfigError, InvalidInput
from cirrus.project import Project
from cirrus.task.builtins.copy_assets import CopyAssets
from tests.aws_server import LocalAWS

FIXTURES = Path(__file__).parent.parent / "fixtures"
TASKS = {"stamp": "stamp.py", "check": "check.py", "pad": "pad.py"}


@pytest.fixture(autouse=True)
def _fresh_class_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts as a new Lambda container: no task class imported yet."""
    monkeypatch.setattr(handler_module, "_CLASSES", {})


@pytest.fixture
def zip_root(tmp_path: Path) -> Path:
    """What a Lambda zip holds of a project: ``tasks/<name>/`` with their code."""
    root = tmp_path / "var-task"
    for name, code in TASKS.items():
        folder = root / "tasks" / name
        (folder / "src" / "task").mkdir(parents=True)
        (folder / "definition.yml").write_text(f"description: {name}\nlambda: {{}}\n")
        shutil.copyfile(FIXTURES / "tasks" / code, folder / "src" / "task" / "task.py")
    return root


@pytest.fixture
def bucket(aws: LocalAWS, s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The payload bucket, named to the handler as a deployment names it."""
    monkeypatch.setenv("CIRRUS_PAYLOAD_BUCKET", s3_bucket)
    yield s3_bucket


@pytest.fixture
def function(zip_root: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Configures the function's environment for a task: ``function("stamp")``."""

    def configure(task: str) -> Any:
        monkeypatch.setenv("CIRRUS_TASK", task)
        monkeypatch.setenv("CIRRUS_PROJECT", str(zip_root))
        return lambda_handler

    return configure


def payload(item_id: str = "i1", tasks: dict[str, Any] | None = None, **properties: Any) -> Any:
    return {
        "type": "FeatureCollection",
        "id": f"test/workflow-lambda/{item_id}",
        "features": [
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "id": item_id,
                "collection": "test",
                "geometry": None,
                "properties": {"datetime": "2024-01-01T00:00:00Z", **properties},
                "links": [],
                "assets": {},
            }
        ],
        "process": [{"workflow": "lambda", "tasks": tasks or {}}],
    }


def s3_json(aws: LocalAWS, url: str) -> Any:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    body = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return json.loads(body)


def test_a_payload_in_the_event_gives_the_output_payload(function: Any) -> None:
    output = function("stamp")(payload(), None)
    assert output["features"][0]["properties"]["stamped"] is True
    assert output["process"] == payload()["process"]


def test_a_url_reference_is_read_from_the_payload_bucket(
    function: Any, aws: LocalAWS, bucket: str
) -> None:
    key = "cirrus/executions/test/workflow-lambda/i1/e1/input.json"
    aws.client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps(payload()).encode())
    output = function("stamp")({"url": f"s3://{bucket}/{key}"}, None)
    assert output["features"][0]["properties"]["stamped"] is True


def test_a_result_too_big_for_step_functions_goes_by_url(
    function: Any, aws: LocalAWS, bucket: str
) -> None:
    handler = function("pad")
    size = MAX_RESULT_BYTES + 10
    result = handler(payload(tasks={"pad": {"size": size}}), None)
    assert set(result) == {"url"}
    assert result["url"].startswith(f"s3://{bucket}/cirrus/tmp/results/test/workflow-lambda/i1/")
    stored = s3_json(aws, result["url"])
    assert len(stored["features"][0]["properties"]["padding"]) == size
    # a result that fits is returned as it is
    small = handler(payload(tasks={"pad": {"size": MAX_RESULT_BYTES // 2}}), None)
    assert "features" in small


def test_the_payload_root_prefix_and_root_settings_are_honoured(
    function: Any, aws: LocalAWS, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = payload(tasks={"pad": {"size": MAX_RESULT_BYTES}})
    monkeypatch.setenv("CIRRUS_PAYLOAD_ROOT_PREFIX", "deploy/dev")
    assert function("pad")(big, None)["url"].startswith(f"s3://{bucket}/deploy/dev/tmp/results/")
    monkeypatch.setenv("CIRRUS_PAYLOAD_ROOT", f"s3://{bucket}/elsewhere")
    assert function("pad")(big, None)["url"].startswith(f"s3://{bucket}/elsewhere/tmp/results/")


@pytest.mark.parametrize("library", ["cirrus", "stactask"])
def test_invalid_input_keeps_its_name(function: Any, library: str) -> None:
    with pytest.raises(Exception) as raised:
        function("check")(payload(invalid=library), None)
    assert type(raised.value).__name__ == "InvalidInput"
    assert "i1 is not usable" in str(raised.value)


def test_an_error_named_apart_from_its_class_is_raised_under_its_name() -> None:
    named = task_error("ValueError", "bad band")
    assert (type(named).__name__, str(named)) == ("ValueError", "bad band")
    assert not isinstance(named, InvalidInput)
    invalid = task_error("InvalidInput", "no items")
    assert isinstance(invalid, InvalidInput)
    refused = task_error("FailedValidation", "no items")  # FAILED, as upstream records it
    assert not isinstance(refused, InvalidInput)
    assert type(refused).__name__ == "FailedValidation"
    assert type(task_error("ValueError", "again")) is type(named)


def test_the_task_class_is_imported_once_per_container(
    function: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked_up: list[str] = []
    task_class = Project.task_class

    def counting(self: Project, spec: str) -> type:
        looked_up.append(spec)
        return task_class(self, spec)

    monkeypatch.setattr(Project, "task_class", counting)
    handler = function("stamp")
    for item_id in ("a", "b", "c"):
        assert handler(payload(item_id), None)["features"][0]["id"] == item_id
    assert looked_up == ["stamp"]


def test_the_project_defaults_to_the_lambda_task_root(
    zip_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIRRUS_TASK", "stamp")
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(zip_root))
    assert lambda_handler(payload(), None)["features"][0]["properties"]["stamped"] is True


def test_a_built_in_task_needs_no_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIRRUS_TASK", "copy-assets")
    monkeypatch.setenv("CIRRUS_PROJECT", str(tmp_path))
    assert lambda_handler(payload(), None)["features"][0]["id"] == "i1"
    assert handler_module._CLASSES[("copy-assets", tmp_path.resolve())] is CopyAssets


def test_without_a_task_named_the_function_says_what_to_set() -> None:
    with pytest.raises(ConfigError, match="CIRRUS_TASK is not set"):
        lambda_handler(payload(), None)


# ------------------------------------------------------- pre-batch and post-batch on AWS


def _put_log(aws: LocalAWS, stream: str, lines: list[str]) -> None:
    logs: Any = aws.client("logs")
    if not logs.describe_log_groups(logGroupNamePrefix="/aws/batch/job")["logGroups"]:
        logs.create_log_group(logGroupName="/aws/batch/job")
    logs.create_log_stream(logGroupName="/aws/batch/job", logStreamName=stream)
    now = int(time.time() * 1000)
    events = [{"timestamp": now + i, "message": line} for i, line in enumerate(lines)]
    logs.put_log_events(logGroupName="/aws/batch/job", logStreamName=stream, logEvents=events)


def _failed_job(url: str, stream: str) -> dict[str, Any]:
    detail: dict[str, Any] = json.loads((FIXTURES / "aws" / "batch-job-failed.json").read_text())
    detail["Parameters"] = {"url": url}
    detail["Attempts"][-1]["Container"]["LogStreamName"] = stream
    detail["Container"]["LogStreamName"] = stream
    return detail


def test_the_batch_pattern_through_the_handler(function: Any, aws: LocalAWS, bucket: str) -> None:
    """pre-batch -> (the job) -> post-batch, each a Lambda function running the handler."""
    reference = function("pre-batch")(payload("b1"), None)
    folder = f"s3://{bucket}/cirrus/tmp/batch/test/workflow-lambda/b1/"
    assert reference["url"].startswith(folder)
    assert s3_json(aws, reference["url"]) == payload("b1")

    # the Batch job: `run Ref::url --output Ref::url_out`, stactask style
    assert function("stamp")(reference, None) == {"url": reference["url_out"]}

    # Step Functions hands post-batch the job detail (no ResultPath on the batch state)
    done = _failed_job(reference["url"], "unused") | {"Status": "SUCCEEDED"}
    output = function("post-batch")(done, None)
    assert output["features"][0]["properties"]["stamped"] is True


@pytest.mark.parametrize(
    ("line", "name", "invalid"),
    [
        pytest.param("RuntimeError: GDAL could not open", "RuntimeError", False, id="failed"),
        pytest.param("InvalidInput: no data asset", "InvalidInput", True, id="invalid"),
    ],
)
def test_post_batch_raises_the_jobs_error_under_its_name(
    function: Any, aws: LocalAWS, bucket: str, line: str, name: str, invalid: bool
) -> None:
    stream = f"cirrus-dev-make-cog/default/{uuid.uuid4().hex}"
    _put_log(aws, stream, ["reading s3://...", line])
    url = f"s3://{bucket}/cirrus/tmp/batch/x/1.json"
    caught = {
        "Error": "States.TaskFailed",
        "Cause": json.dumps(_failed_job(url, stream), separators=(",", ":")),
    }
    with pytest.raises(Exception) as raised:
        function("post-batch")({"url": url, "url_out": url[:-5] + "_out.json", "error": caught})
    assert type(raised.value).__name__ == name
    assert str(raised.value) == line.partition(": ")[2]
    assert isinstance(raised.value, InvalidInput) is invalid
