"""Poison isolation: the receive limit from ``cirrus.yml``, dead letters with their reason,
``cirrus query --dead-letters``, ``cirrus redrive-dlq`` and the totals that count them."""

from __future__ import annotations

import json
from typing import Any

from cirrus.project import find_project
from cirrus.runtime import Pipeline, dead_letter_count, list_dead_letters
from cirrus.state import State
from tests.runtime.conftest import Proj, Standin, item, payload, payload_id, run_worker


def _limit(proj: Proj, max_receives: int) -> None:
    with (proj.root / "cirrus.yml").open("a") as config:
        config.write(f"max_receives: {max_receives}\n")


def test_the_receive_limit_is_a_project_setting(proj: Proj, monkeypatch: Any) -> None:
    _limit(proj, 3)
    with Pipeline.for_project(find_project(explicit=proj.root)) as pipeline:
        assert pipeline.queue.max_receives == 3
    monkeypatch.setenv("CIRRUS_MAX_RECEIVES", "7")
    with Pipeline.for_project(find_project(explicit=proj.root)) as pipeline:
        assert pipeline.queue.max_receives == 7


def test_a_message_that_breaks_its_batch_is_dead_lettered_with_the_reason_and_the_rest_run(
    proj: Proj, open_pipeline: Any
) -> None:
    poison = payload_id("poison", "stamp-only")

    pipeline = open_pipeline()

    def claim_many(items: list[tuple[str, bool]], **kwargs: Any) -> Any:
        if any(payload_id == poison for payload_id, _ in items):
            raise RuntimeError("a bug this payload trips")
        return pipeline.db.claim_many(items, **kwargs)

    good = [payload(item(f"g{n}"), workflow="stamp-only") for n in range(5)]
    pipeline.submit([*good[:2], payload(item("poison"), workflow="stamp-only"), *good[2:]])
    counts = run_worker(pipeline, state_db=Standin(pipeline.db, claim_many=claim_many))
    assert counts == {"succeeded": 5, "dead_lettered": 1}
    for n in range(5):
        record = pipeline.db.get(payload_id(f"g{n}", "stamp-only"))
        assert record is not None and record.state is State.SUCCEEDED
    [letter] = list_dead_letters(pipeline.queue)
    assert letter["payload_id"] == poison
    assert letter["reason"] == "RuntimeError: a bug this payload trips"
    assert letter["receive_count"] == pipeline.queue.max_receives
    assert pipeline.queue.counts() == (0, 0)


def test_dead_letters_are_listed_counted_and_redriven_from_the_command_line(proj: Proj) -> None:
    _limit(proj, 2)
    stuck = payload(item("stuck"), workflow="stamp-only")
    with Pipeline.for_project(find_project(explicit=proj.root)) as pipeline:
        pipeline.submit([stuck])
        for _ in range(2):  # two deliveries that never finished: a worker killed each time
            assert pipeline.queue.receive(10, visibility_seconds=0)
    worker = proj.cirrus("worker", "--until-empty", check=False)
    assert worker.json().get("dead_letters") == 1
    assert "cirrus query --dead-letters" in worker.stderr

    [letter] = proj.cirrus("query", "--dead-letters").ndjson()
    assert letter["payload_id"] == payload_id("stuck", "stamp-only")
    assert letter["receive_count"] == 2
    assert "received 2 times without being finished" in letter["reason"]
    assert json.loads(letter["body"])["features"][0]["id"] == "stuck"

    unknown = proj.cirrus("redrive-dlq", "--id", "no-such-letter")
    assert unknown.json() == {"redriven": 0, "dead_letters": 1}
    redriven = proj.cirrus("redrive-dlq", "--id", letter["id"])
    assert redriven.json() == {"redriven": 1, "dead_letters": 0}
    assert proj.cirrus("worker", "--until-empty").json() == {"succeeded": 1}
    assert proj.records()[payload_id("stuck", "stamp-only")]["state"] == "SUCCEEDED"


def test_a_refused_redriven_payload_is_rejected_not_lost(proj: Proj, open_pipeline: Any) -> None:
    pipeline = open_pipeline()
    pipeline.queue.send_many(['{"not": "a payload"}'])
    [message] = pipeline.queue.receive(1, visibility_seconds=60)
    pipeline.queue.dead_letter([message], "set aside by hand")
    assert dead_letter_count(pipeline.queue) == 1
    assert proj.cirrus("redrive-dlq").json() == {"redriven": 1, "dead_letters": 0}
    summary = proj.cirrus("worker", "--until-empty", check=False).json()
    assert summary == {"rejected": 1}


def test_poison_put_straight_into_the_queue_costs_only_itself(
    proj: Proj, open_pipeline: Any
) -> None:
    """What intake refuses may still arrive by the queue (another feeder, an SQS queue)."""
    surrogate = json.dumps(payload(item("bad\ud800"), workflow="stamp-only"))
    deep = '{"type": "FeatureCollection", "x": ' + "[" * 980 + "]" * 980 + "}"
    deeper = "[" * 100_000 + "]" * 100_000
    good = [json.dumps(payload(item(f"g{n}"), workflow="stamp-only")) for n in range(3)]
    pipeline = open_pipeline()
    pipeline.queue.send_many([good[0], surrogate, deep, good[1], deeper, good[2]])
    counts = pipeline.drain()
    assert counts == {"succeeded": 3, "rejected": 3}
    assert pipeline.queue.counts() == (0, 0)
    assert dead_letter_count(pipeline.queue) == 0, "refused at once, not after the limit"


def test_the_receive_limit_can_be_given_on_the_command_line(proj: Proj) -> None:
    with Pipeline.for_project(find_project(explicit=proj.root)) as pipeline:
        pipeline.submit([payload(item("stuck"), workflow="stamp-only")])
        assert pipeline.queue.receive(10, visibility_seconds=0)  # one delivery never finished
    summary = proj.cirrus("worker", "--until-empty", "--max-receives", "1", check=False).json()
    assert summary == {"dead_letters": 1}
