"""``cirrus cost``: the arithmetic on a known workflow, measured/assumed labels, the demo.

The known workflow is the ``small`` fixture project's ``hello`` (hello → publish; hello
512 MB, publish 1024 MB, process and update-state 256 MB, all x86_64), priced with the
fixed file below and measured from a hand-written history, so every expected figure is
worked out here by hand.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cirrus.aws.build import build_stack
from cirrus.aws.cost import (
    Estimate,
    WorkflowShape,
    estimate_project,
    estimate_workflow,
    load_prices,
    measure_histories,
    workflow_shapes,
)
from cirrus.cli.main import cli
from cirrus.errors import ConfigError
from cirrus.project import Project

FIXTURES = Path(__file__).parents[1] / "fixtures" / "projects"
DEMO = Path(__file__).parents[2] / "cirrus" / "demo" / "project"

FIXED_PRICES: dict[str, Any] = {
    "date": "2000-01-01",
    "region": "test-region-1",
    "prices": {
        "step_functions": {
            "standard_per_transition": 0.00003,
            "express_per_request": 0.000002,
            "express_per_gb_second": 0.00002,
            "express_memory_chunk_mb": 64,
            "express_duration_increment_ms": 100,
        },
        "lambda": {
            "per_request": 0.0000002,
            "per_gb_second_x86_64": 0.00001,
            "per_gb_second_arm64": 0.000008,
            "duration_increment_ms": 1,
        },
        "fargate": {
            "per_vcpu_hour": 0.036,
            "per_gb_hour": 0.0036,
            "spot_per_vcpu_hour": 0.018,
            "spot_per_gb_hour": 0.0018,
            "minimum_seconds": 60,
        },
        "sqs": {"per_request": 0.0000004},
        "sns": {"per_publish_request": 0.0000005},
        "dynamodb": {"per_write_request_unit": 0.000001, "per_read_request_unit": 0.0000002},
        "s3": {"per_put_request": 0.000005, "per_get_request": 0.0000004},
    },
    "assumptions": {
        name: {"value": value, "source": "test"}
        for name, value in {
            "lambda_task_ms": 1000,
            "batch_task_seconds": 300,
            "items_per_payload": 1,
            "process_ms": 500,
            "process_payloads_per_invocation": 10,
            "update_state_ms": 300,
            "batch_helper_ms": 300,
            "express_memory_mb": 64,
            "sqs_requests_per_payload": 1.2,
            "sns_event_requests_per_payload": 1.2,
            "sns_items_per_request": 10,
            "dynamodb_write_units_per_payload": 19.3,
            "dynamodb_read_units_per_payload": 3,
            "s3_pipeline_puts_per_payload": 2,
            "s3_gets_per_task": 1,
            "s3_batch_puts": 2,
            "s3_batch_gets": 2,
        }.items()
    },
}


@pytest.fixture
def prices_file(tmp_path: Path) -> Path:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(FIXED_PRICES), encoding="utf-8")
    return path


@pytest.fixture
def small(tmp_path: Path) -> Project:
    shutil.copytree(
        FIXTURES / "small",
        tmp_path / "small",
        ignore=shutil.ignore_patterns(".cirrus", "__pycache__"),
    )
    return Project(tmp_path / "small")


@pytest.fixture
def hello(small: Project) -> WorkflowShape:
    return workflow_shapes(build_stack(small))["hello"]


def _history(events: list[tuple[float, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Events at ``seconds`` after 2026-01-01T00:00:00Z, ids in order, ISO timestamps with
    microseconds (as a kept history.json has them, at finer precision)."""
    history = []
    for number, (seconds, kind, details) in enumerate(events, start=1):
        micro = round(seconds * 1_000_000)
        event: dict[str, Any] = {
            "id": number,
            "previousEventId": number - 1,
            "timestamp": f"2026-01-01T00:00:{micro // 1_000_000:02d}.{micro % 1_000_000:06d}Z",
            "type": kind,
        }
        if details:
            event[details.pop("key")] = details
        history.append(event)
    return history


ITEM_IN = {"type": "Feature", "id": "a", "assets": {"data": {"href": "s3://in/a.tif"}}}
ITEM_OUT = {
    "type": "Feature",
    "id": "a",
    "assets": {"data": {"href": "s3://in/a.tif"}, "greeting": {"href": "s3://out/a.txt"}},
}


def _entered(name: str) -> dict[str, Any]:
    return {"key": "stateEnteredEventDetails", "name": name}


#: hello fails after 100.4 ms and is retried; the retry takes 200.5 ms; publish takes 30 ms;
#: the execution ends 360 ms after it started; one item in, one out with one new asset.
KNOWN_HISTORY = _history(
    [
        (
            0.0,
            "ExecutionStarted",
            {
                "key": "executionStartedEventDetails",
                "input": json.dumps({"type": "FeatureCollection", "features": [ITEM_IN]}),
            },
        ),
        (0.0, "TaskStateEntered", _entered("hello")),
        (0.005, "TaskScheduled", {}),
        (0.010, "TaskStarted", {}),
        (0.1104, "TaskFailed", {}),
        (0.112, "TaskScheduled", {}),
        (0.115, "TaskStarted", {}),
        (0.3155, "TaskSucceeded", {}),
        (0.316, "TaskStateExited", {}),
        (0.316, "TaskStateEntered", _entered("publish")),
        (0.318, "TaskScheduled", {}),
        (0.320, "TaskStarted", {}),
        (0.350, "TaskSucceeded", {}),
        (0.351, "TaskStateExited", {}),
        (
            0.360,
            "ExecutionSucceeded",
            {
                "key": "executionSucceededEventDetails",
                "output": json.dumps({"type": "FeatureCollection", "features": [ITEM_OUT]}),
            },
        ),
    ]
)


def _costs(estimate: Estimate) -> dict[str, float | None]:
    return {f"{line.service}: {line.item}": line.cost for line in estimate.lines}


def test_the_arithmetic_on_a_known_workflow(hello: WorkflowShape, prices_file: Path) -> None:
    measurement = measure_histories([KNOWN_HISTORY])
    estimate = estimate_workflow(hello, measurement, load_prices(prices_file), payloads=1000)
    costs = {name: cost * 1000 for name, cost in _costs(estimate).items() if cost is not None}
    # Every figure below is per 1,000 payloads: quantity per payload x unit price x 1000.
    expected = {
        # Standard: 2 states entered + 1 retry = 3 transitions x $0.00003
        "Step Functions: Standard: state transitions": 3 * 0.00003 * 1000,  # 0.09
        # Express: 1 request x $0.000002
        "Step Functions: Express: requests": 1 * 0.000002 * 1000,  # 0.002
        # 360 ms rounds up to 400 ms; 64 MB = 0.0625 GB: 0.4 s x 0.0625 GB x $0.00002
        "Step Functions: Express: GB-seconds (64 MB, 400 ms billed)": 0.4
        * 0.0625
        * 0.00002
        * 1000,  # 0.0005
        # hello: attempts of 100.4 ms and 200.5 ms bill 101 and 201 ms (1 ms rounding), mean
        # 151 ms; 2 attempts x 0.151 s x 0.5 GB x $0.00001
        "Lambda: hello: GB-seconds (512 MB x 151 ms billed)": 2
        * 0.151
        * 0.5
        * 0.00001
        * 1000,  # 0.00151
        "Lambda: hello: requests": 2 * 0.0000002 * 1000,  # 0.0004
        # publish: 30 ms x 1 GB x $0.00001
        "Lambda: publish: GB-seconds (1024 MB x 30 ms billed)": 0.030 * 1 * 0.00001 * 1000,
        "Lambda: publish: requests": 1 * 0.0000002 * 1000,
        # process: 1 invocation per 10 payloads x 0.5 s x 0.25 GB x $0.00001
        "Lambda: process: GB-seconds (256 MB x 500 ms billed)": 0.1 * 0.5 * 0.25 * 0.00001 * 1000,
        "Lambda: process: requests": 0.1 * 0.0000002 * 1000,
        # update-state: 1 invocation x 0.3 s x 0.25 GB x $0.00001
        "Lambda: update-state: GB-seconds (256 MB x 300 ms billed)": 0.3 * 0.25 * 0.00001 * 1000,
        "Lambda: update-state: requests": 1 * 0.0000002 * 1000,
        # SQS: 1.2 requests x $0.0000004
        "SQS: requests (send, receive, delete)": 1.2 * 0.0000004 * 1000,
        # SNS: 1.2 event requests + ceil(1 item / 10) = 2.2 x $0.0000005
        "SNS: publish requests (workflow events + items)": 2.2 * 0.0000005 * 1000,
        # DynamoDB: 19.3 WRU x $0.000001, 3 RRU x $0.0000002
        "DynamoDB: write request units": 19.3 * 0.000001 * 1000,
        "DynamoDB: read request units": 3 * 0.0000002 * 1000,
        # S3 PUT: input.json + output.json + 1 new asset + 1 published item = 4 x $0.000005
        "S3: PUT requests (payloads, assets, items)": 4 * 0.000005 * 1000,
        # S3 GET: 2 tasks x 1 x $0.0000004
        "S3: GET requests (task inputs)": 2 * 0.0000004 * 1000,
    }
    assert costs == pytest.approx(expected)
    express_only = {
        "Step Functions: Express: requests",
        "Step Functions: Express: GB-seconds (64 MB, 400 ms billed)",
    }
    standard_only = {"Step Functions: Standard: state transitions"}
    common = sum(v for k, v in expected.items() if k not in express_only | standard_only)
    assert estimate.total("standard") == pytest.approx(common + 0.09)
    assert estimate.total("express") == pytest.approx(common + 0.002 + 0.0005)
    # 0.09 + 0.00151 + 0.0004 + 0.0003 + 0.0002 + 0.000125 + 0.00002 + 0.00075 + 0.0002
    # + 0.00048 + 0.0011 + 0.0193 + 0.0006 + 0.02 + 0.0008
    assert estimate.total("standard") == pytest.approx(0.135785)
    # the same without the 0.09 of transitions, with 0.002 + 0.0005 of Express
    assert estimate.total("express") == pytest.approx(0.048285)
    assert estimate.executions_measured == 1


def test_each_line_says_what_was_measured_and_what_assumed(
    hello: WorkflowShape, prices_file: Path
) -> None:
    prices = load_prices(prices_file)
    measured = estimate_workflow(hello, measure_histories([KNOWN_HISTORY]), prices)
    lines = {f"{line.service}: {line.item.split(' (')[0]}": line for line in measured.lines}
    assert lines["Step Functions: Standard: state transitions"].basis == "measured"
    assert lines["Step Functions: Express: requests"].basis == "exact"
    express = lines["Step Functions: Express: GB-seconds"]
    assert (express.measured, express.assumed) == (("duration",), ("memory",))
    hello_time = lines["Lambda: hello: GB-seconds"]
    assert hello_time.measured == ("invocations", "duration") and not hello_time.assumed
    assert lines["Lambda: process: GB-seconds"].assumed == ("invocations", "duration")
    assert lines["SQS: requests"].basis == "assumed"
    assert lines["DynamoDB: write request units"].basis == "assumed"
    sns = lines["SNS: publish requests"]
    assert sns.basis == "mixed" and sns.measured == ("items",)
    assert not any("no execution history" in note for note in measured.notes)

    assumed = estimate_workflow(hello, None, prices)
    assert {line.basis for line in assumed.lines} == {"assumed", "exact"}
    transitions = assumed.lines[0]
    assert (transitions.quantity, transitions.basis) == (2, "assumed")
    assert "keep_history: all" in assumed.notes[0]
    assert "cirrus process" in assumed.notes[0]
    as_json = assumed.to_dict()
    assert as_json["measured"] is False
    assert as_json["lines"][0]["assumed"] == ["transitions"]


def test_batch_jobs_are_priced_on_fargate_and_rule_out_express(
    tmp_path: Path, prices_file: Path
) -> None:
    shutil.copytree(FIXTURES / "mixed", tmp_path / "mixed")
    shape = workflow_shapes(build_stack(Project(tmp_path / "mixed")))["scenes"]
    assert not shape.express_ok
    assert shape.batch_groups == ["custom", "heavy"]
    estimate = estimate_workflow(shape, None, load_prices(prices_file), payloads=1000)
    costs = _costs(estimate)
    # heavy: 2 vCPU, 8192 MB, 300 s assumed (over Fargate's 60 s minimum):
    # 600 vCPU-s x $0.036 / 3600, 2400 GB-s x $0.0036 / 3600
    heavy = "Batch: heavy (fargate, 300 s billed)"
    assert costs[f"{heavy}: vCPU-seconds (2 vCPU)"] == pytest.approx(600 * 0.036 / 3600)
    assert costs[f"{heavy}: GB-seconds (8192 MB)"] == pytest.approx(2400 * 0.0036 / 3600)
    # scan runs on an EC2 GPU queue: billed per instance, not priced
    assert costs["Batch: scan (ec2, 300 s billed): vCPU-seconds (4 vCPU)"] is None
    # alert is only reached by a Catch: assumed never to run
    assert costs["other: alert: arn:aws:states:::sns:publish"] is None
    # convert, heavy (4: Parallel, pre-batch, job, post-batch), scan, custom (4), segment,
    # again, note (Pass), publish
    assert estimate.lines[0].quantity == 14
    assert estimate.total("express") is None
    assert any("Express" in note and ".sync" in note for note in estimate.notes)


def test_a_batch_job_shorter_than_a_minute_is_billed_a_minute() -> None:
    from cirrus.aws.cost import Step

    shape = WorkflowShape(
        "w",
        [
            Step(
                "job",
                "job",
                "batch",
                "JobDefinition",
                vcpu=1,
                memory_mb=2048,
                capacity="FARGATE_SPOT",
            )
        ],
        express_ok=False,
        path_transitions=1,
    )
    history = _history(
        [
            (0.0, "ExecutionStarted", {}),
            (0.0, "TaskStateEntered", _entered("job")),
            (0.1, "TaskStarted", {}),
            (12.3, "TaskSucceeded", {}),
            (12.4, "ExecutionSucceeded", {}),
        ]
    )
    prices = load_prices()
    estimate = estimate_workflow(shape, measure_histories([history]), prices)
    vcpu = next(line for line in estimate.lines if line.unit == "vCPU-second")
    assert vcpu.quantity == 60  # max(60, ceil(12.2)) x 1 vCPU
    assert vcpu.unit_price == pytest.approx(prices.price("fargate", "spot_per_vcpu_hour") / 3600)
    assert vcpu.measured == ("duration", "jobs")


def test_demo_json_gives_every_workflow_an_estimate(tmp_path: Path) -> None:
    shutil.copytree(DEMO, tmp_path / "demo", ignore=shutil.ignore_patterns(".cirrus"))
    result = CliRunner().invoke(cli, ["cost", "--project", str(tmp_path / "demo"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["payloads"] == 1000
    assert report["prices"]["region"] == "us-east-1" and report["prices"]["date"]
    by_name = {workflow["workflow"]: workflow for workflow in report["workflows"]}
    assert set(by_name) == {"cog-thumbnail", "publish-only"}
    cog = by_name["cog-thumbnail"]
    assert cog["measured"] is False and "keep_history: all" in cog["notes"][0]
    assert cog["total"]["standard"] > 0 and cog["total"]["express"] > 0
    lines = {line["item"]: line for line in cog["lines"]}
    # memory from the build: make-cog's definition.yml asks for 2048 MB
    make_cog = lines["make-cog: GB-seconds (2048 MB x 1000 ms billed)"]
    assert make_cog["basis"] == "assumed" and make_cog["quantity"] == pytest.approx(2000)
    assert {line["basis"] for line in cog["lines"]} == {"assumed", "exact"}


def test_sample_payloads_and_kept_histories_are_measured(small: Project, tmp_path: Path) -> None:
    payload = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "a",
                "collection": "c",
                "stac_version": "1.1.0",
                "geometry": None,
                "properties": {"datetime": "2026-01-01T00:00:00Z"},
                "links": [],
                "assets": {},
            }
        ],
        "process": [{"workflow": "hello"}],
    }
    sample = tmp_path / "sample.json"
    sample.write_text(json.dumps(payload), encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["cost", "hello", "--project", str(small.root), "--sample", str(sample), "--json"]
    )
    assert result.exit_code == 0, result.output
    (hello,) = json.loads(result.stdout)["workflows"]
    assert hello["measured"] is True and hello["executions_measured"] == 1
    lines = {line["item"].split(" (")[0]: line for line in hello["lines"]}
    assert lines["Standard: state transitions"]["per_payload"] == 2
    assert lines["Standard: state transitions"]["basis"] == "measured"
    assert lines["hello: GB-seconds"]["measured"] == ["invocations", "duration"]

    # a kept history.json under the payload root counts as well
    from cirrus.storage import join_url, write_json

    key = "executions/c/workflow-hello/a/e-0001/history.json"
    write_json(join_url(small.config.payload_root, key), KNOWN_HISTORY)
    (estimate,) = estimate_project(small, "hello")
    assert estimate.executions_measured == 1
    assert estimate.lines[0].quantity == 3


def test_an_unknown_workflow_is_a_clear_error(small: Project) -> None:
    with pytest.raises(ConfigError, match=r"no workflow named 'nope'.*hello, publish-only"):
        estimate_project(small, "nope")
    result = CliRunner().invoke(cli, ["cost", "nope", "--project", str(small.root)])
    assert result.exit_code != 0
    assert "no workflow named 'nope'" in result.stderr
    assert "known workflows: hello, publish-only" in result.stderr


def test_a_price_file_overrides_the_shipped_one_key_by_key(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps({"region": "eu-west-1", "prices": {"lambda": {"per_request": 0.5}}}),
        encoding="utf-8",
    )
    shipped, mine = load_prices(), load_prices(path)
    assert mine.region == "eu-west-1" and mine.date == shipped.date
    assert mine.price("lambda", "per_request") == 0.5
    assert mine.price("sqs", "per_request") == shipped.price("sqs", "per_request")
    assert mine.files[-1] == str(path)
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ConfigError, match="expected an object"):
        load_prices(path)
    with pytest.raises(ConfigError, match=r"prices\.lambda\.nope"):
        shipped.price("lambda", "nope")


def test_the_shipped_prices_name_their_date_region_and_sources() -> None:
    prices = load_prices()
    assert prices.date and prices.region == "us-east-1"
    assert all(url.startswith("https://aws.amazon.com/") for url in prices.sources.values())
    for name, assumption in prices.assumptions.items():
        assert assumption["source"], name


def test_without_a_history_the_main_path_is_counted() -> None:
    from cirrus.aws.cost.shape import path_transitions

    definition = {
        "StartAt": "pick",
        "States": {
            "pick": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "BooleanEquals": True, "Next": "other"}],
                "Default": "each",
            },
            "other": {"Type": "Succeed"},
            "each": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "a",
                    "States": {
                        "a": {"Type": "Pass", "Next": "b"},
                        "b": {"Type": "Pass", "End": True},
                    },
                },
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "failed"}],
                "Next": "done",
            },
            "done": {"Type": "Succeed"},
            "failed": {"Type": "Fail"},
        },
    }
    # pick, each (+ a, b for one item), done; `other` is not the Default, `failed` a Catch
    assert path_transitions(definition) == 5
