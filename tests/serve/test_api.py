"""The API of ``cirrus serve``: every route, upstream Cirrus's shapes, paging, the token."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from cirrus.state import EventType, FinishUpdate, NewEvent, SQLiteStateDB, State
from tests.runtime.conftest import Proj
from tests.serve.conftest import Served, start_server, stop_all, wait_for

UPSTREAM_ITEM_KEYS = {
    "payload_id",
    "collections",
    "workflow",
    "items",
    "state",
    "created",
    "updated",
    "input_payload_url",
    "output_payload_url",
    "executions",
    "catid",
    "catalog",
}


def test_root_links_every_collections_workflow(served: Served) -> None:
    root = served.get("/")

    assert root["id"].endswith("-state-api") and "description" in root
    children = {link["href"] for link in root["links"] if link["rel"] == "child"}
    assert f"{served.url}/test/workflow-stamp-only" in children
    assert f"{served.url}/test/workflow-flaky" in children
    assert all(set(link) == {"title", "rel", "type", "href"} for link in root["links"])


def test_summary_counts_every_state(served: Served) -> None:
    summary = served.get("/test/workflow-flaky")

    assert summary["collections"] == "test" and summary["workflow"] == "flaky"
    assert summary["counts"]["FAILED"] == 2
    assert set(summary["counts"]) == {state.value for state in State}
    assert served.get("/test/workflow-stamp-only?limit=2")["counts"]["SUCCEEDED"] == "2+"


def test_items_and_record_have_upstreams_shape(served: Served) -> None:
    items = served.get("/test/workflow-flaky/items?state=FAILED")["items"]

    assert {item["payload_id"] for item in items} == set(served.failed)
    for item in items:
        assert set(item) >= UPSTREAM_ITEM_KEYS
        assert item["catid"] == item["payload_id"] and item["catalog"] == item["input_payload_url"]
        assert item["last_error"].startswith("ConnectionError: upstream outage: outage exists")
        assert item["duration"] is not None and item["duration"] >= 0
    record = served.get("/" + served.succeeded[0])
    assert set(record) >= UPSTREAM_ITEM_KEYS
    assert record["state"] == "SUCCEEDED" and record["output_payload_url"].endswith("output.json")
    assert served.get("/test/workflow-flaky/items?state=SUCCEEDED") == {"items": []}


def test_stats_count_transitions_per_day_and_hour(served: Served) -> None:
    stats = served.get("/stats")["state_transitions"]

    assert set(stats) == {"daily", "hourly", "hourly_rolling"}
    (today,) = stats["daily"]
    assert today["interval"] == "day"
    states = {entry["state"]: entry for entry in today["states"]}
    assert states["SUCCEEDED"]["count"] == 3 and states["FAILED"]["unique_count"] == 2
    assert states["PROCESSING"]["count"] >= 6
    assert stats["hourly"][-1]["period"].endswith(":00:00Z")


def test_every_answer_carries_upstreams_cors_headers(served: Served) -> None:
    for path in ("/", "/stats", "/api/status", "/no/such/thing"):
        _, _, headers = served.request(path, method="GET")
        assert headers["access-control-allow-origin"] == "*"
        assert headers["access-control-allow-credentials"] == "true"


def test_errors_are_json_with_a_status(served: Served) -> None:
    status, body, _ = served.request("/test/workflow-flaky/nothing-here", method="GET")
    assert status == 404 and "nothing-here" in body["error"]
    status, body, _ = served.request("/not-a-payload", method="GET")
    assert status == 404 and "payload ids look like" in body["error"]
    status, body, _ = served.request("/test/workflow-flaky/items?limit=zero", method="GET")
    assert status == 400 and "limit" in body["error"]
    status, body, _ = served.request("/test/workflow-flaky/items?since=yesterday", method="GET")
    assert status == 400 and "since" in body["error"]
    status, body, _ = served.request("/api/payload", method="GET")
    assert status == 400 and "id" in body["error"]


def test_status_route_is_cirrus_status(served: Served) -> None:
    status = served.get("/api/status")

    assert status["counts"]["stamp-only"] == {"SUCCEEDED": 3}
    assert status["counts"]["flaky"] == {"FAILED": 2}
    assert status["counts"]["slow"] == {"PROCESSING": 1}
    (failure,) = status["failures_last_hour"]
    assert failure["prefix"] == "ConnectionError" and failure["count"] == 2
    assert status["oldest_processing"]["payload_id"] == served.running
    assert sum(minute["count"] for minute in status["finished_per_minute"]) == 5
    assert status["queue"]["dead_letters"] == 0


def test_cirrus_status_prints_the_same_figures(served: Served) -> None:
    as_json = served.proj.cirrus("status", "--json").json()
    assert as_json["counts"] == served.get("/api/status")["counts"]
    assert as_json["oldest_processing"]["payload_id"] == served.running

    lines = served.proj.cirrus("status").stdout.splitlines()
    header = lines[0].split()
    assert header == ["workflow", "PROCESSING", "SUCCEEDED", "FAILED"]
    assert lines[1].split() == ["flaky", "0", "0", "2"]
    assert any(line.startswith("throughput: ") and "payloads/s" in line for line in lines)
    assert f"oldest PROCESSING: {served.running} for" in "\n".join(lines)
    assert any(line.split()[:2] == ["2", "ConnectionError"] for line in lines)


def test_payload_table_filters_and_searches(served: Served) -> None:
    failed = served.get("/api/payloads?state=FAILED")["payloads"]
    assert {p["payload_id"] for p in failed} == set(served.failed)
    assert served.get("/api/payloads?workflow=stamp-only&limit=2")["next"] is not None
    by_error = served.get("/api/payloads?q=ConnectionError")["payloads"]
    assert {p["payload_id"] for p in by_error} == set(served.failed)
    by_id = served.get("/api/payloads?q=" + served.succeeded[1])["payloads"]
    assert [p["payload_id"] for p in by_id] == [served.succeeded[1]]


def test_payload_shows_executions_timeline_and_published_items(served: Served) -> None:
    good = served.get("/api/payload?id=" + served.succeeded[0])
    (execution,) = good["executions"]
    assert execution["status"] == "SUCCEEDED" and execution["duration"] >= 0
    assert execution["started"] <= execution["ended"]
    assert {"input.json", "output.json"} <= set(execution["files"])
    events = [event["event_type"] for event in good["timeline"]]
    assert events == ["CLAIMED_PROCESSING", "STARTED_PROCESSING", "SUCCEEDED"]
    assert all("seconds_until_next" in event for event in good["timeline"][:-1])
    (published,) = good["items"]
    assert published["id"] == "good-0"

    running = served.get("/api/payload?id=" + served.running)
    assert running["executions"][-1]["status"] == "RUNNING"
    assert running["executions"][-1]["ended"] is None


def test_execution_has_input_history_spans_and_logs(served: Served) -> None:
    record = served.get("/" + served.failed[0])
    execution = record["executions"][-1]
    detail = served.get(f"/api/execution?id={served.failed[0]}&execution={execution}")

    assert detail["input"]["id"] == served.failed[0]
    assert detail["output"] is None
    assert detail["times"]["status"] == "FAILED"
    types = [event["type"] for event in detail["history"]]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionFailed"
    (flaky,) = [span for span in detail["states"] if span["name"] == "flaky"]
    assert flaky["type"] == "Task" and flaky["duration"] >= 0
    with urllib.request.urlopen(
        f"{served.url}/api/logs?id={served.failed[0]}&execution={execution}", timeout=10
    ) as response:
        assert response.headers["content-type"].startswith("text/plain")


def test_workflows_with_definition_and_durations(served: Served) -> None:
    names = {w["name"] for w in served.get("/api/workflows")["workflows"]}
    assert {"flaky", "slow", "stamp-only", "three"} <= names

    flaky = served.get("/api/workflows/flaky")
    assert flaky["definition"]["StartAt"] == "flaky"
    assert flaky["counts"] == {"FAILED": 2}
    assert flaky["durations"]["count"] == 2
    assert flaky["state_durations"]["flaky"]["count"] == 2  # failed executions keep histories
    status, body, _ = served.request("/api/workflows/nope", method="GET")
    assert status == 404 and "flaky" in body["error"]


def test_files_are_served_only_from_the_roots(served: Served) -> None:
    record = served.get("/" + served.succeeded[0])
    with urllib.request.urlopen(
        f"{served.url}/api/file?url={record['output_payload_url']}", timeout=10
    ) as response:
        assert json.loads(response.read())["id"] == served.succeeded[0]
    thumbnail = served.proj.cirrus_dir / "data" / "test" / "thumb.png"
    thumbnail.parent.mkdir(parents=True, exist_ok=True)
    thumbnail.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    for url in (str(thumbnail), thumbnail.as_uri()):  # asset hrefs come in both forms
        with urllib.request.urlopen(f"{served.url}/api/file?url={url}", timeout=10) as response:
            assert response.headers["content-type"] == "image/png"
            assert response.read().startswith(b"\x89PNG")
    for outside in ("file:///etc/passwd", f"{thumbnail.parent}/../../../../etc/passwd"):
        status, body, _ = served.request(f"/api/file?url={outside}", method="GET")
        assert status == 400 and "outside" in body["error"]


def test_openapi_lists_every_route(served: Served) -> None:
    document = served.get("/api/openapi.json")

    assert document["openapi"].startswith("3.")
    for path in (
        "/",
        "/stats",
        "/{collections}/workflow-{workflow}",
        "/{collections}/workflow-{workflow}/items",
        "/{payload_id}",
        "/api/status",
        "/api/payloads",
        "/api/payload",
        "/api/execution",
        "/api/logs",
        "/api/workflows",
        "/api/workflows/{name}",
        "/api/file",
        "/api/rerun",
        "/api/abort",
    ):
        assert path in document["paths"], path


def test_writes_need_the_token(fresh_served: Served) -> None:
    served = fresh_served
    status, body, _ = served.request("/api/rerun", {"ids": [served.failed[0]]})
    assert status == 401 and "token" in body["error"]
    status, body, _ = served.request("/api/rerun", {"ids": [served.failed[0]]}, token="wrong")
    assert status == 401
    assert served.state(served.failed[0]) == "FAILED"

    status, body, _ = served.request("/api/rerun", {"ids": [served.failed[0]]}, token=served.token)
    assert status == 200 and body["queued"] == 1
    wait_for(lambda: served.state(served.failed[0]) == "SUCCEEDED", what="the rerun to succeed")

    status, body, _ = served.request(
        "/api/rerun", {"filter": {"state": "FAILED"}}, token=served.token
    )
    assert status == 200 and body["ids"] == [served.failed[1]]
    wait_for(lambda: served.state(served.failed[1]) == "SUCCEEDED", what="the filtered rerun")


def test_abort_through_the_api(fresh_served: Served) -> None:
    served = fresh_served
    status, body, _ = served.request("/api/abort", {"id": served.running})
    assert status == 401
    status, body, _ = served.request("/api/abort", {"id": served.running}, token=served.token)
    assert status == 200 and body["state"] == "ABORTED"
    status, body, _ = served.request("/api/abort", {"id": served.running}, token=served.token)
    assert status == 400 and "not running" in body["error"]


def test_a_server_without_token_is_read_only(proj: Proj) -> None:
    processes: list = []
    try:
        url = start_server(proj, processes)
        request = urllib.request.Request(
            url + "/api/rerun",
            data=b'{"ids": []}',
            headers={"Authorization": "Bearer anything"},
            method="POST",
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 403
        assert "read-only" in json.loads(refused.value.read())["error"]
    finally:
        stop_all(processes)


# ---------------------------------------------------------------- paging over many records

RECORDS = 10_500


@pytest.fixture
def big(proj: Proj) -> Iterator[str]:
    """``cirrus serve`` on a project with 10,500 records of workflow ``w``, one a second."""
    start = datetime(2024, 5, 1, tzinfo=UTC)
    now = [start]
    db = SQLiteStateDB(proj.cirrus_dir / "state.db", clock=lambda: now[0])
    ids = [f"c/workflow-w/item-{n:05d}" for n in range(RECORDS)]
    for chunk in range(0, RECORDS, 500):
        batch = ids[chunk : chunk + 500]
        for payload_id in batch:
            now[0] += timedelta(seconds=1)
            db.claim_many([(payload_id, False)], owner="o", lease_seconds=60)
        db.start_many([(p, "run") for p in batch], owner="o", lease_seconds=60)
        db.finish_many(
            [
                FinishUpdate(
                    p,
                    State.SUCCEEDED if n % 3 else State.FAILED,
                    owner="o",
                    error=None if n % 3 else "E: x",
                )
                for n, p in enumerate(batch, start=chunk)
            ],
            events=[NewEvent(p, EventType.SUCCEEDED) for p in batch],
        )
    db.close()
    processes: list = []
    try:
        yield start_server(proj, processes)
    finally:
        stop_all(processes)


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def test_items_page_over_ten_thousand_records_with_nextkey(big: str) -> None:
    seen: list[str] = []
    nextkey = ""
    while True:
        page = _get(f"{big}/c/workflow-w/items?limit=1000&nextkey={nextkey}")
        seen.extend(item["payload_id"] for item in page["items"])
        if "nextkey" not in page:
            break
        assert page["nextkey"] == page["items"][-1]["payload_id"]
        nextkey = page["nextkey"]

    assert len(seen) == RECORDS == len(set(seen))
    assert seen == sorted(seen, reverse=True)  # newest first; the ids grow with time


def test_items_page_oldest_first_and_by_state(big: str) -> None:
    first = _get(f"{big}/c/workflow-w/items?limit=3&sort_ascending=1")["items"]
    assert [item["payload_id"] for item in first] == [
        f"c/workflow-w/item-{n:05d}" for n in range(3)
    ]

    failed: list[str] = []
    nextkey = ""
    while True:
        page = _get(f"{big}/c/workflow-w/items?state=FAILED&limit=700&nextkey={nextkey}")
        failed.extend(item["payload_id"] for item in page["items"])
        if "nextkey" not in page:
            break
        nextkey = page["nextkey"]
    assert len(failed) == RECORDS // 3
    assert _get(f"{big}/c/workflow-w")["counts"]["FAILED"] == RECORDS // 3


def test_dashboard_table_pages_over_ten_thousand_records(big: str) -> None:
    seen = 0
    token = ""
    while True:
        page = _get(f"{big}/api/payloads?workflow=w&limit=1000&next={token}")
        seen += len(page["payloads"])
        if page["next"] is None:
            break
        token = page["next"]
    assert seen == RECORDS
