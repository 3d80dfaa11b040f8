"""``cirrus process --wait`` end to end: states, stored payloads, publishing, events, skips.

One mixed submission (a payload that succeeds, one whose task fails, two whose tasks say the
input is invalid, and two unreadable lines) is run once per module; the tests below read
what it left behind. Tests that change the project get their own copy; one drives the
library (``Pipeline``) to set a batch size the command does not take.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.conftest import Proj, Run, item, logged, payload, payload_id, runs

OK = payload_id("a")
FAILS = payload_id("b")
INVALID_CIRRUS = payload_id("c")
INVALID_STACTASK = payload_id("d")


@dataclass
class Mixed:
    proj: Proj
    run: Run
    records: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def mixed(project_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Mixed:
    root = tmp_path_factory.mktemp("mixed") / "proj"
    shutil.copytree(project_template, root)
    proj = Proj(root)
    path = proj.write_payloads(
        [
            payload(item("a")),
            payload(item("b", fail=True)),
            payload(item("c", invalid="cirrus")),
            payload(item("d", invalid="stactask")),
            {"type": "FeatureCollection", "features": [{"id": "e"}]},  # no process array
        ]
    )
    with path.open("a") as stream:
        stream.write("this line is not JSON\n")
    run = proj.cirrus("process", path.name, "--wait", check=False)
    return Mixed(proj, run, proj.records())


def test_process_exits_1_and_prints_a_summary_when_any_payload_did_not_succeed(
    mixed: Mixed,
) -> None:
    assert mixed.run.returncode == 1
    summary = mixed.run.json()
    # the payload without a process array is refused when submitted, like the text line
    assert (summary["queued"], summary["rejected"]) == (4, 2)
    assert (summary["succeeded"], summary["failed"], summary["invalid"]) == (1, 1, 2)
    assert "failed test/workflow-three/b RuntimeError: asked to fail b" in mixed.run.stderr


def test_every_readable_payload_has_exactly_one_terminal_record(mixed: Mixed) -> None:
    states = {pid: record["state"] for pid, record in mixed.records.items()}
    assert states == {
        OK: "SUCCEEDED",
        FAILS: "FAILED",
        INVALID_CIRRUS: "INVALID",
        INVALID_STACTASK: "INVALID",
    }
    for record in mixed.records.values():
        assert len(record["executions"]) == 1
        assert record["claim_owner"] is None and record["lease_expires"] is None


def test_succeeded_payload_keeps_input_and_output_under_its_execution(mixed: Mixed) -> None:
    record = mixed.records[OK]
    (execution,) = record["executions"]
    stored = mixed.proj.stored(f"executions/{OK}/{execution}")
    stored_input, stored_output = stored["input.json"], stored["output.json"]
    assert stored_input["id"] == OK
    assert "stamped" not in stored_input["features"][0]["properties"]
    assert stored_output["features"][0]["properties"]["stamped"] is True
    output_key = f"executions/{OK}/{execution}/output.json"
    assert record["output_url"] == mixed.proj.payload_url(output_key)
    assert mixed.proj.cirrus("get-output-payload", OK).json() == stored_output
    assert mixed.proj.cirrus("get-input-payload", OK).json() == stored_input


def test_succeeded_items_are_written_to_the_catalog_and_announced(mixed: Mixed) -> None:
    location = mixed.proj.cirrus_dir / "data" / "test" / "a" / "a.json"
    catalog_item = json.loads(location.read_text())
    assert catalog_item["properties"]["stamped"] is True
    links = {link["rel"]: link["href"] for link in catalog_item["links"]}
    assert Path(links["self"]) == location
    announced = mixed.proj.published
    # each line names its item and the execution that published it, not the payload id
    (execution,) = mixed.records[OK]["executions"]
    keys = ("id", "collection", "workflow", "execution")
    lines = [tuple(line[key] for key in keys) for line in announced]
    assert lines == [("a", "test", "three", execution)]
    assert "payload_id" not in announced[0]
    # the attributes in SNS's form, as upstream Cirrus sends them
    assert announced[0]["attributes"]["collection"] == {"DataType": "String", "StringValue": "test"}
    assert announced[0]["item"] == catalog_item


def test_workflow_events_and_execution_history_are_recorded(mixed: Mixed) -> None:
    (execution,) = mixed.records[OK]["executions"]
    events = mixed.proj.cirrus("get-execution-events", OK, "--workflow-events").ndjson()
    kinds = [event["event_type"] for event in events]
    assert kinds[-2:] == ["STARTED_PROCESSING", "SUCCEEDED"]
    assert all(event["execution"] == execution for event in events[-2:])
    assert events[-1]["output_url"] == mixed.records[OK]["output_url"]

    # the state history is kept for executions that did not succeed
    history = mixed.proj.cirrus("get-execution-events", FAILS).ndjson()
    assert history[0]["type"] == "ExecutionStarted"
    assert history[-1]["type"] == "ExecutionFailed"
    assert history[-1]["executionFailedEventDetails"]["error"] == "RuntimeError"
    entered = [
        event["stateEnteredEventDetails"]["name"]
        for event in history
        if event["type"] == "TaskStateEntered"
    ]
    assert entered == ["stamp", "maybe-fail"]


def test_claiming_a_payload_is_a_recorded_event(mixed: Mixed) -> None:
    events = mixed.proj.cirrus("get-execution-events", OK, "--workflow-events").ndjson()
    assert [event["event_type"] for event in events] == [
        "CLAIMED_PROCESSING",
        "STARTED_PROCESSING",
        "SUCCEEDED",
    ]


def test_failing_task_gives_failed_with_error_name_and_message(mixed: Mixed) -> None:
    record = mixed.records[FAILS]
    assert record["state"] == "FAILED"
    assert record["last_error"] == "RuntimeError: asked to fail b"
    assert record["output_url"] is None
    (execution,) = record["executions"]
    stored = mixed.proj.stored(f"executions/{FAILS}/{execution}")
    assert "input.json" in stored
    assert "output.json" not in stored
    described = mixed.proj.cirrus("get-execution", FAILS).json()
    assert described["status"] == "FAILED"
    assert described["error"] == "RuntimeError: asked to fail b"
    assert described["output"] is None
    events = mixed.proj.cirrus("get-execution-events", FAILS, "--workflow-events").ndjson()
    assert events[-1]["event_type"] == "FAILED"
    assert events[-1]["error"] == "RuntimeError: asked to fail b"


@pytest.mark.parametrize(
    ("pid", "message"),
    [
        pytest.param(INVALID_CIRRUS, "item c is not usable", id="cirrus-InvalidInput"),
        pytest.param(INVALID_STACTASK, "item d is not usable either", id="stactask-InvalidInput"),
    ],
)
def test_invalid_input_error_gives_invalid(mixed: Mixed, pid: str, message: str) -> None:
    record = mixed.records[pid]
    assert record["state"] == "INVALID"
    assert record["last_error"] == f"InvalidInput: {message}"
    item_id = pid.rsplit("/", 1)[-1]
    assert all(line["id"] != item_id for line in mixed.proj.published)


def test_unreadable_input_is_kept_under_tmp_invalid_with_the_reason(mixed: Mixed) -> None:
    stored = mixed.proj.stored("tmp/invalid")
    kept = list(stored.values())
    reasons = sorted(entry["reason"] for entry in kept)
    # what the rejection message names is readable with the command line
    first = mixed.proj.payload_url(f"tmp/invalid/{min(stored)}")
    assert mixed.proj.cirrus("payload", "cat", first).json() == stored[min(stored)]
    assert len(kept) == 2
    assert "process is required" in reasons[0]
    assert "line 6 is not JSON" in reasons[1]
    bodies = {entry["body"].strip() for entry in kept}
    assert "this line is not JSON" in bodies
    assert any('"id": "e"' in body for body in bodies)
    assert mixed.run.stderr.count("rejected") >= 2
    # the lines around them still ran
    assert mixed.records[OK]["state"] == "SUCCEEDED"


def test_summary_counts_every_rejected_input(mixed: Mixed) -> None:
    assert mixed.run.json()["rejected"] == 2


def test_query_filters(mixed: Mixed) -> None:
    proj = mixed.proj
    assert set(proj.records("--state", "INVALID")) == {INVALID_CIRRUS, INVALID_STACTASK}
    assert set(proj.records("--error-prefix", "RuntimeError")) == {FAILS}
    assert set(proj.records("--collections-workflow", "test_three", "--since", "1h")) == set(
        mixed.records
    )
    assert set(proj.records("--workflow", "publish-only")) == set()
    assert len(proj.records("--limit", "3")) == 3


def test_mgmt_local_query_works_like_query(mixed: Mixed) -> None:
    direct = mixed.proj.cirrus("query", "--state", "FAILED").ndjson()
    upstream = mixed.proj.cirrus("mgmt", "local", "query", "--state", "FAILED").ndjson()
    assert upstream == direct
    assert [record["payload_id"] for record in upstream] == [FAILS]
    state = mixed.proj.cirrus("mgmt", "local", "get-state", FAILS).json()
    assert state["last_error"] == "RuntimeError: asked to fail b"


def test_mgmt_refuses_an_unknown_deployment(mixed: Mixed) -> None:
    # no AWS settings here: nothing to look "prod" up in, and no traceback
    run = mixed.proj.cirrus("mgmt", "prod", "query", check=False)
    assert run.returncode == 2
    assert "'local'" in run.stderr and "AWS_REGION" in run.stderr
    assert "Traceback" not in run.stderr


def test_resubmitting_a_succeeded_payload_skips_it(proj: Proj) -> None:
    log = proj.root / "exec.log"
    proj.write_payloads([payload(item("a"), tasks={"stamp": {"exec_log": str(log)}})])
    assert proj.cirrus("process", "in.ndjson", "--wait").json()["succeeded"] == 1

    again = proj.cirrus("process", "in.ndjson", "--wait")
    assert again.returncode == 0
    assert again.json() == {"queued": 1, "rejected": 0, "already_succeeded": 1}
    record = proj.records()[OK]
    assert record["state"] == "SUCCEEDED"
    assert record["executions"] == proj.execution_names(OK)
    assert len(record["executions"]) == 1
    assert log.read_text().splitlines() == [OK]
    kinds = [
        e["event_type"]
        for e in proj.cirrus("get-execution-events", OK, "--workflow-events").ndjson()
    ]
    assert kinds[-1] == "ALREADY_SUCCEEDED"
    assert len(proj.published) == 1


def test_replace_reruns_a_succeeded_payload(proj: Proj) -> None:
    log = proj.root / "exec.log"
    first = payload(item("a"), tasks={"stamp": {"exec_log": str(log)}})
    replace = json.loads(json.dumps(first))
    replace["process"][0]["replace"] = True
    proj.write_payloads([first], "first.ndjson")
    proj.write_payloads([replace], "replace.ndjson")
    assert proj.cirrus("process", "first.ndjson", "--wait").json()["succeeded"] == 1
    assert proj.cirrus("process", "replace.ndjson", "--wait").json()["succeeded"] == 1

    record = proj.records()[OK]
    assert record["state"] == "SUCCEEDED"
    assert log.read_text().splitlines() == [OK, OK]
    assert len(record["executions"]) == 2
    assert proj.execution_names(OK) == record["executions"]
    for execution in record["executions"]:
        assert set(proj.stored(f"executions/{OK}/{execution}")) == {"input.json", "output.json"}
    assert record["output_url"].endswith(f"{record['executions'][1]}/output.json")
    assert [line["item"]["id"] for line in proj.published] == ["a", "a"]


def test_the_same_payload_twice_in_one_submission_runs_once(proj: Proj) -> None:
    log = proj.root / "exec.log"
    same = payload(item("a"), tasks={"stamp": {"exec_log": str(log)}})
    proj.write_payloads([same, same])
    summary = proj.cirrus("process", "in.ndjson", "--wait").json()
    assert summary["succeeded"] == 1
    assert summary["duplicate"] == 1
    assert log.read_text().splitlines() == [OK]


def test_the_same_id_twice_in_one_submission_runs_once_even_in_separate_batches(
    proj: Proj, open_pipeline: Any
) -> None:
    log = proj.root / "exec.log"
    failing = payload(item("a", fail=True), tasks=logged(log))
    # a submission larger than one batch (batch_size 200 by default) with the copy far apart
    pipeline = open_pipeline(batch_size=1)
    report = pipeline.submit([failing, payload(item("b"), tasks=logged(log)), failing])
    assert report.duplicates == [payload_id("a")]
    counts = pipeline.drain()
    assert runs(log).count(payload_id("a")) == 1
    assert counts == {"failed": 1, "succeeded": 1}


def test_chain_with_branches_and_chain_filter_runs_every_link(proj: Proj) -> None:
    upload = {"path_template": "${collection}/${id}"}
    chained = payload(
        item("x1", cloud=5),
        item("x2", cloud=50),
        workflow="stamp-only",
        chain=[
            {"workflow": "three", "upload_options": upload},
            [
                {
                    "workflow": "stamp-only",
                    "upload_options": {"path_template": "clear/${id}"},
                    "chain_filter": "@.properties.cloud < 10",
                },
                {"workflow": "publish-only", "upload_options": {"path_template": "all/${id}"}},
            ],
        ],
    )
    proj.write_payloads([chained])
    run = proj.cirrus("process", "in.ndjson", "--wait")
    assert run.json()["succeeded"] == 4

    records = proj.records()
    assert {pid: r["state"] for pid, r in records.items()} == {
        "test/workflow-stamp-only/x1/x2": "SUCCEEDED",
        "test/workflow-three/x1/x2": "SUCCEEDED",
        "test/workflow-stamp-only/x1": "SUCCEEDED",  # the filtered branch: only x1
        "test/workflow-publish-only/x1/x2": "SUCCEEDED",
    }
    # the second link got the first link's output, with the process array popped
    second = proj.cirrus("get-input-payload", "test/workflow-three/x1/x2").json()
    assert [f["properties"]["stamped"] for f in second["features"]] == [True, True]
    assert second["process"][0]["workflow"] == "three"
    assert isinstance(second["process"][1], list)
    branch = proj.cirrus("get-input-payload", "test/workflow-stamp-only/x1").json()
    assert [f["id"] for f in branch["features"]] == ["x1"]
    assert len(branch["process"]) == 1
    data = proj.cirrus_dir / "data"
    assert (data / "clear" / "x1" / "x1.json").exists()
    assert not (data / "clear" / "x2").exists()
    assert (data / "all" / "x1" / "x1.json").exists()
    assert (data / "all" / "x2" / "x2.json").exists()


def test_envelopes_and_url_references_are_accepted(proj: Proj) -> None:
    def text(item_id: str) -> str:
        return json.dumps(payload(item(item_id)))

    stored = proj.root / "stored.json"
    stored.write_text(text("u1"))
    batch_out = proj.root / "batch-out.json"
    batch_out.write_text(text("b1"))
    everything_public = payload(item("pa"))
    everything_public["process"][0]["upload_options"]["public_assets"] = "ALL"
    proj.write_payloads(
        [
            {"Records": [{"body": text("q1")}, {"body": text("q2")}]},  # SQS event
            {"Messages": [{"Body": text("q3")}]},  # SQS ReceiveMessage result
            {"Type": "Notification", "Message": text("n1")},  # SNS notification
            {"Records": [{"Sns": {"Message": text("n2")}}]},  # SNS event
            {"Records": [{"body": json.dumps({"Type": "Notification", "Message": text("n3")})}]},
            {"Records": [{"body": json.dumps({"Message": text("m1")})}]},  # no "Type"
            {"Parameters": {"url": str(stored), "url_out": str(batch_out)}},  # a Batch output
            {"url": str(stored)},
            everything_public,
            {"url": str(proj.root / "missing.json")},
        ]
    )
    run = proj.cirrus("process", "in.ndjson", "--wait", check=False)
    assert run.returncode == 1  # the missing reference is a rejected payload
    summary = run.json()
    assert summary["succeeded"] == 10
    succeeded = {r["itemids"] for r in proj.records("--state", "SUCCEEDED").values()}
    assert succeeded == {"q1", "q2", "q3", "n1", "n2", "n3", "m1", "b1", "u1", "pa"}
    kept = list(proj.stored("tmp/invalid").values())
    assert len(kept) == 1
    assert "missing.json" in kept[0]["reason"]


def test_process_without_wait_only_queues_and_a_worker_drains(proj: Proj) -> None:
    text = json.dumps(payload(item("w1"))) + "\n"
    assert proj.cirrus("process", "-", input=text).json() == {"queued": 1, "rejected": 0}
    assert proj.records() == {}
    assert proj.cirrus("worker", "--until-empty").json() == {"succeeded": 1}
    assert proj.records()[payload_id("w1")]["state"] == "SUCCEEDED"
