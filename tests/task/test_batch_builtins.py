"""The built-in pre-batch and post-batch tasks, with the inputs AWS gives them.

post-batch's failure path reads a log stream written to the moto server's CloudWatch Logs,
from a cause shaped as Step Functions hands a failed ``batch:submitJob.sync`` to a Catch
(``tests/fixtures/aws/batch-job-*.json``); run locally, the log is the kept stderr of the
batch task's process.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from cirrus.errors import ConfigError, PayloadError, TaskError
from cirrus.storage import read_json, write_bytes, write_json
from cirrus.task.builtins.post_batch import PostBatch, last_log_line
from cirrus.task.builtins.pre_batch import PreBatch
from cirrus.task.runner import BatchTaskFailed, TaskRunner
from tests.aws_server import LocalAWS

FIXTURES = Path(__file__).parent.parent / "fixtures"


def payload(item_id: str = "S2B_1", **properties: Any) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "id": item_id,
                "collection": "sentinel-2-l2a",
                "geometry": None,
                "properties": {"datetime": "2024-05-01T00:00:00Z", **properties},
                "links": [],
                "assets": {},
            }
        ],
        "process": [{"workflow": "cog", "upload_options": {"path_template": "${id}"}}],
    }


def job_detail(name: str, **changes: Any) -> dict[str, Any]:
    """A Batch job detail as Step Functions gives it (``batch-job-<name>.json``)."""
    detail: dict[str, Any] = json.loads((FIXTURES / "aws" / f"batch-job-{name}.json").read_text())
    detail.update(changes)
    return detail


def caught(detail: dict[str, Any], error: str = "States.TaskFailed") -> dict[str, Any]:
    """The error a Catch puts at ``ResultPath: $.error``: the job detail as JSON in Cause."""
    return {"Error": error, "Cause": json.dumps(detail, separators=(",", ":"))}


def with_stream(detail: dict[str, Any], stream: str | None) -> dict[str, Any]:
    """The job detail with its log stream renamed (or removed, for None)."""
    for container in (detail["Attempts"][-1]["Container"], detail["Container"]):
        container.pop("LogStreamName", None)
        if stream is not None:
            container["LogStreamName"] = stream
    return detail


def write_log(aws: LocalAWS, lines: list[str], group: str = "/aws/batch/job") -> str:
    """A new log stream in ``group`` on the moto server holding ``lines``; its name."""
    logs: Any = aws.client("logs")
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        logs.create_log_group(logGroupName=group)
    stream = f"cirrus-dev-make-cog/default/{uuid.uuid4().hex}"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    now = int(time.time() * 1000)
    events = [{"timestamp": now + i, "message": line} for i, line in enumerate(lines)]
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
    return stream


# ------------------------------------------------------------------------------ pre-batch


def test_pre_batch_stores_the_payload_under_tmp_batch(tmp_path: Path) -> None:
    root = tmp_path.as_uri()
    reference = PreBatch.handler(payload(), payload_root=root)
    assert set(reference) == {"url", "url_out"}
    folder = f"{root}/tmp/batch/sentinel-2-l2a/workflow-cog/S2B_1/"
    assert reference["url"].startswith(folder)
    assert reference["url_out"] == reference["url"].removesuffix(".json") + "_out.json"
    assert read_json(reference["url"]) == payload()


def test_pre_batch_reads_a_reference_and_takes_its_root_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = (tmp_path / "in.json").as_uri()
    write_json(source, payload("S2B_2"))
    monkeypatch.setenv("CIRRUS_PAYLOAD_ROOT", (tmp_path / "payloads").as_uri())
    reference = PreBatch.handler({"url": source})
    assert "/payloads/tmp/batch/sentinel-2-l2a/workflow-cog/S2B_2/" in reference["url"]
    assert read_json(reference["url"])["features"][0]["id"] == "S2B_2"


def test_pre_batch_without_a_payload_root_says_how_to_give_one() -> None:
    with pytest.raises(ConfigError, match="CIRRUS_PAYLOAD_ROOT"):
        PreBatch.handler(payload())


def test_pre_batch_refuses_what_is_no_payload(tmp_path: Path) -> None:
    with pytest.raises(PayloadError, match=r"\$\.process"):
        PreBatch.handler({"type": "FeatureCollection", "features": []}, payload_root="memory://")


# --------------------------------------------------------------------- post-batch: success


def test_post_batch_reads_the_output_named_by_the_job_detail(tmp_path: Path) -> None:
    """Upstream's pattern: the batch state has no ResultPath, so the job detail comes in."""
    url = (tmp_path / "tmp" / "batch" / "x.json").as_uri()
    write_json(url.removesuffix(".json") + "_out.json", payload(done=True))
    detail = job_detail("failed", Status="SUCCEEDED", Parameters={"url": url})
    output = PostBatch.handler(detail)
    assert output["features"][0]["properties"]["done"] is True


def test_post_batch_reads_url_out_of_pre_batchs_reference(tmp_path: Path) -> None:
    url_out = (tmp_path / "elsewhere.json").as_uri()
    write_json(url_out, payload(done=True))
    event = {"url": "memory://in.json", "url_out": url_out, "batch": {"Status": "SUCCEEDED"}}
    assert PostBatch.handler(event)["features"][0]["properties"]["done"] is True


def test_post_batch_without_an_output_url_names_the_field() -> None:
    with pytest.raises(PayloadError, match=r"\$\.url_out is missing"):
        PostBatch.handler({"Status": "SUCCEEDED"})


# --------------------------------------------------------------- post-batch: AWS failures


@pytest.mark.parametrize(
    ("lines", "error", "message"),
    [
        pytest.param(
            ["INFO:make-cog:reading", "Traceback ...", "RuntimeError: GDAL could not open"],
            "RuntimeError",
            "GDAL could not open",
            id="named-error",
        ),
        pytest.param(
            ["InvalidInput: item S2B_1 has no data asset", "  "],
            "InvalidInput",
            "item S2B_1 has no data asset",
            id="invalid-input",
        ),
        pytest.param(
            ["stactask.exceptions.FailedValidation: no items"],
            "stactask.exceptions.FailedValidation",
            "no items",
            id="dotted-name",
        ),
        pytest.param(["Killed"], "UnknownError", "Killed", id="no-name"),
    ],
)
def test_post_batch_raises_the_last_log_line_of_the_failed_job(
    aws: LocalAWS, lines: list[str], error: str, message: str
) -> None:
    stream = write_log(aws, lines)
    event = {"url": "s3://b/x.json", "error": caught(with_stream(job_detail("failed"), stream))}
    with pytest.raises(TaskError) as raised:
        PostBatch.handler(event)
    assert (raised.value.error, raised.value.cause) == (error, message)


def test_post_batch_reads_a_catch_without_result_path_and_another_log_group(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = write_log(aws, ["ValueError: bad band"], group="/cirrus/batch")
    monkeypatch.setenv("CIRRUS_BATCH_LOG_GROUP", "/cirrus/batch")
    detail = with_stream(job_detail("failed"), stream)
    del detail["Attempts"]  # the stream of the job itself (Container.LogStreamName) serves
    with pytest.raises(TaskError) as raised:
        PostBatch.handler(caught(detail))
    assert (raised.value.error, raised.value.cause) == ("ValueError", "bad band")


def test_post_batch_when_the_container_never_ran(aws: LocalAWS) -> None:
    with pytest.raises(TaskError) as raised:
        PostBatch.handler({"error": caught(job_detail("never-ran"))})
    assert raised.value.error == "States.TaskFailed"
    assert raised.value.cause == (
        "Unable to get error log, container likely never ran. Container Reason: "
        "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed "
        "to resolve ref 123456789012.dkr.ecr.us-west-2.amazonaws.com/cirrus-dev-make-cog:"
        "latest: not found; Status Reason: Task failed to start"
    )


def test_post_batch_when_the_log_stream_does_not_exist(aws: LocalAWS) -> None:
    write_log(aws, ["x"])  # the log group exists, the job's stream does not
    event = {"error": caught(with_stream(job_detail("failed"), "cirrus-dev-make-cog/default/0"))}
    with pytest.raises(TaskError, match="container likely never ran") as raised:
        PostBatch.handler(event)
    assert "Status Reason: Essential container in task exited" in raised.value.cause


def test_post_batch_raises_a_caught_error_without_a_job_detail_as_it_is() -> None:
    """A state timeout or a refused submit: the job never produced a detail to read."""
    timeout = {"Error": "States.Timeout", "Cause": "the batch state timed out"}
    with pytest.raises(TaskError) as raised:
        PostBatch.handler({"url": "memory://x.json", "error": timeout})
    assert (raised.value.error, raised.value.cause) == (
        "States.Timeout",
        "the batch state timed out",
    )


def test_last_log_line_of_a_missing_stream_is_none(aws: LocalAWS) -> None:
    assert last_log_line("no/such/stream", log_group="/no/such/group") is None


# ------------------------------------------------------------------ post-batch: run locally


def test_post_batch_reads_the_kept_stderr_of_a_local_batch_task(tmp_path: Path) -> None:
    """The local job detail's LogStreamName is the URL of the failed process's stderr."""
    task = tmp_path / "task.py"
    task.write_text(
        "import sys\n"
        "from cirrus.task import Task\n"
        "class Broken(Task):\n"
        "    name = 'broken'\n"
        "    def process(self, **kwargs):\n"
        "        print('warming up', file=sys.stderr)\n"
        "        raise KeyError('no band B04')\n"
    )
    runner = TaskRunner(lambda name: type(name, (), {}), payload_root=tmp_path.as_uri())
    reference = PreBatch.handler(payload(), payload_root=tmp_path.as_uri())
    with pytest.raises(BatchTaskFailed) as raised:
        runner.run_batch(f"{task}:Broken", reference)
    failed = raised.value
    assert failed.exit_code == 1
    assert failed.log_url == reference["url"].removesuffix(".json") + ".log"
    assert last_log_line(failed.log_url or "") == "KeyError: 'no band B04'"
    local = with_stream(job_detail("failed"), failed.log_url)
    with pytest.raises(TaskError) as named:
        PostBatch.handler({**reference, "error": caught(local)})
    assert (named.value.error, named.value.cause) == ("KeyError", "'no band B04'")


def test_a_kept_log_that_is_gone_means_the_container_never_ran(tmp_path: Path) -> None:
    log = (tmp_path / "job.log").as_uri()
    write_bytes(log, b"\n\n")
    with pytest.raises(TaskError, match="container likely never ran"):
        PostBatch.handler(caught(with_stream(job_detail("failed"), log)))
    with pytest.raises(TaskError, match="container likely never ran"):
        PostBatch.handler(caught(with_stream(job_detail("failed"), f"{log}.gone")))
