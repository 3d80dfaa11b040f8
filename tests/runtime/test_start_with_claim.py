"""A new payload is claimed and started in one write; no input of an earlier run is replaced.

The worker stores the input of each payload's first execution before the claim, where no
input is stored yet, and the claim of a payload that has no record marks it PROCESSING at
once. Everything else (reruns, an input left by a crash before the claim) takes the claim,
then the start.
"""

from __future__ import annotations

import json
from typing import Any

from cirrus.runtime.jobs import execution_key, execution_name
from cirrus.state import EventType
from tests.runtime.conftest import Proj, Standin, item, payload, payload_id, run_worker


def _counting_starts(pipeline: Any) -> tuple[Standin, list[list[Any]]]:
    calls: list[list[Any]] = []

    def start_many(items: Any, **kwargs: Any) -> Any:
        calls.append(list(items))
        return pipeline.db.start_many(items, **kwargs)

    return Standin(pipeline.db, start_many=start_many), calls


def _input(proj: Proj, pid: str, number: int) -> Any:
    key = execution_key(pid, execution_name(pid, number), "input.json")
    return json.loads(proj.payload_store.get(key))


def test_a_new_payload_is_started_with_its_claim(proj: Proj, open_pipeline: Any) -> None:
    pipeline = open_pipeline()
    pid = payload_id("fresh")
    pipeline.submit([payload(item("fresh"))])
    db, starts = _counting_starts(pipeline)

    assert run_worker(pipeline, state_db=db) == {"succeeded": 1}

    assert starts == []  # no second write of the record
    record = pipeline.db.get(pid)
    assert record is not None and record.executions == (execution_name(pid, 1),)
    assert record.duration is not None  # it was PROCESSING, with its start time
    events = [event.event_type for event in pipeline.db.events(pid)]
    assert events == [
        EventType.CLAIMED_PROCESSING,
        EventType.STARTED_PROCESSING,
        EventType.SUCCEEDED,
    ]
    assert _input(proj, pid, 1)["id"] == pid


def test_a_rerun_never_replaces_the_input_of_an_earlier_execution(
    proj: Proj, open_pipeline: Any
) -> None:
    pipeline = open_pipeline()
    pid = payload_id("again")
    pipeline.submit([payload(item("again", cloud_cover=10))])
    assert run_worker(pipeline) == {"succeeded": 1}
    pipeline.submit([payload(item("again", cloud_cover=90), replace=True)])
    db, starts = _counting_starts(pipeline)

    assert run_worker(pipeline, state_db=db) == {"succeeded": 1}

    assert len(starts) == 1  # claimed, then started: the payload had a record
    first, second = _input(proj, pid, 1), _input(proj, pid, 2)
    assert first["features"][0]["properties"]["cloud_cover"] == 10
    assert second["features"][0]["properties"]["cloud_cover"] == 90


def test_an_input_left_by_a_crash_before_the_claim_is_written_again(
    proj: Proj, open_pipeline: Any
) -> None:
    """A worker that stored a first input and died before its claim left the input but no
    record: the next one claims, then stores its own input, then starts."""
    pipeline = open_pipeline()
    pid = payload_id("left")
    key = execution_key(pid, execution_name(pid, 1), "input.json")
    proj.payload_store.put(key, b'{"left": "by a crash"}')
    pipeline.submit([payload(item("left"))])
    db, starts = _counting_starts(pipeline)

    assert run_worker(pipeline, state_db=db) == {"succeeded": 1}

    assert len(starts) == 1
    stored = _input(proj, pid, 1)
    assert stored["id"] == pid and "left" not in stored
    record = pipeline.db.get(pid)
    assert record is not None and record.executions == (execution_name(pid, 1),)


def test_a_state_backend_without_start_claims_then_starts(open_pipeline: Any) -> None:
    """A backend from another distribution, written before ``claim_many`` took ``start``."""
    pipeline = open_pipeline()
    pipeline.submit([payload(item("plugged"))])

    def claim_many(items: Any, *, owner: str, lease_seconds: float, events: Any = ()) -> Any:
        return pipeline.db.claim_many(
            items, owner=owner, lease_seconds=lease_seconds, events=events
        )

    starts: list[Any] = []

    def start_many(items: Any, **kwargs: Any) -> Any:
        starts.append(list(items))
        return pipeline.db.start_many(items, **kwargs)

    db = Standin(pipeline.db, claim_many=claim_many, start_many=start_many)
    assert run_worker(pipeline, state_db=db) == {"succeeded": 1}
    assert len(starts) == 1
