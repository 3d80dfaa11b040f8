"""Payloads the worker can never run are rejected at once; the rest of the batch goes on.

A rejected message is deleted (kept under ``tmp/invalid/`` with the reason), so the queue
empties and ``cirrus process --wait`` ends; nothing of a rejected payload is run, claimed
or published.
"""

from __future__ import annotations

import json
from typing import Any

from cirrus.state import State
from tests.runtime.conftest import Proj, item, payload, payload_id


def test_a_payload_with_a_malformed_id_is_rejected_and_the_batch_goes_on(
    proj: Proj, open_pipeline: Any
) -> None:
    bad = payload(item("a"), workflow="stamp-only")
    bad["id"] = "not-a-payload-id"
    pipeline = open_pipeline()
    report = pipeline.submit([bad, payload(item("b"), workflow="stamp-only")])
    assert report.queued == 1 and len(report.rejected) == 1, "refused when submitted"
    pipeline.queue.send_many([json.dumps(bad)])  # as if queued by someone else: the worker
    counts = pipeline.drain()  # raises PayloadError from claim_many: a poison message
    assert counts == {"rejected": 1, "succeeded": 1}
    assert pipeline.queue.counts() == (0, 0)


def test_an_item_id_that_would_climb_out_of_the_payload_root_is_rejected(
    proj: Proj, open_pipeline: Any
) -> None:
    pipeline = open_pipeline()
    pipeline.submit([payload(item(".."), workflow="stamp-only")])
    counts = pipeline.drain()  # raises PathEscapeError from Worker._start
    assert set(counts) <= {"rejected", "invalid"}
    assert pipeline.db.query(state=State.CLAIMED).records == []
    assert pipeline.queue.counts() == (0, 0)


def test_a_reference_that_can_never_be_read_is_rejected(proj: Proj, open_pipeline: Any) -> None:
    pipeline = open_pipeline()
    pipeline.submit([{"url": "ftp://example.com/payload.json"}])
    worker = pipeline.worker()
    try:
        messages = pipeline.queue.receive(10, visibility_seconds=60, owner=worker.owner)
        results = worker.handle(messages)
    finally:
        worker.close()
    # `cirrus process --wait` would otherwise never end: the message stays in flight
    assert [result.outcome for result in results] == ["rejected"]
    assert pipeline.queue.counts() == (0, 0)


def test_a_payload_that_does_not_succeed_publishes_nothing(proj: Proj, open_pipeline: Any) -> None:
    link = {"workflow": "stamp-only", "chain_filter": "@@@ not a filter"}
    pipeline = open_pipeline()
    report = pipeline.submit([payload(item("a"), workflow="stamp-only", chain=[link])])
    if report.queued:
        counts = pipeline.drain()
        assert "succeeded" not in counts
        pid = payload_id("a", "stamp-only")
        assert counts == {"rejected": 1}, "a bad chain_filter is refused before anything runs"
        record = pipeline.db.get(pid)
        assert record is None or record.state is not State.SUCCEEDED
        assert proj.published == [], "items of a payload that did not succeed were announced"
        assert proj.outputs(pid) == []
