"""The heartbeat renews the claims and messages of the batch in hand, and no others.

A long execution keeps its claim past the lease, so no other worker runs it too; a payload
already finished is no longer renewed, so no claim is reported lost for it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import pytest

from cirrus.runtime.jobs import execution_key, execution_name
from cirrus.storage import open_store
from tests.runtime.conftest import Proj, item, logged, payload, payload_id, runs


def test_run_one_keeps_its_claim_while_a_long_execution_runs(
    proj: Proj, open_pipeline: Any
) -> None:
    log = proj.root / "exec.log"
    lease = 0.9  # the heartbeat renews every max(0.5 s, lease / 3)
    one = payload(item("a"), workflow="stamp-only", tasks=logged(log, sleep_ms=2000))
    pipeline = open_pipeline(lease_seconds=lease)
    outcome: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: outcome.update(result=pipeline.run_one(one)))
    runner.start()
    try:
        time.sleep(lease + 0.4)  # still running, past its first lease
        # `cirrus worker` running beside `cirrus run-workflow` on the same project
        open_pipeline(lease_seconds=lease).drain()
    finally:
        runner.join()
    assert outcome["result"].outcome == "succeeded"
    assert runs(log) == [payload_id("a", "stamp-only")], "executed by both workers"
    assert len(pipeline.db.get(payload_id("a", "stamp-only")).executions) == 1


def test_the_heartbeat_does_not_report_lost_claims_for_payloads_already_finished(
    proj: Proj, open_pipeline: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A resumed payload concluded from its stored output ("adopted") is committed with
    the first wave, but only the wave's own jobs leave ``_in_flight_claims``: until the
    batch ends, every heartbeat tries to renew the finished record and logs "lost the
    claim on 1 payload(s)" for a payload that succeeded.
    """

    adopt = payload(item("adopt"), workflow="stamp-only")
    adopt_id = payload_id("adopt", "stamp-only")
    slow = payload(item("slow"), workflow="stamp-only", tasks={"stamp": {"sleep_ms": 2000}})
    pipeline = open_pipeline(lease_seconds=0.6)
    # a worker of another machine claimed and ran "adopt", wrote its output, and died
    db = pipeline.db
    gone = "elsewhere:1:.deadbeef"
    db.claim_many([(adopt_id, False)], owner=gone, lease_seconds=0.6)
    execution = execution_name(adopt_id, 1)
    db.start_many([(adopt_id, execution)], owner=gone, lease_seconds=1e-6)
    time.sleep(0.01)  # its lease is over
    output = {**adopt, "id": adopt_id}
    store = open_store(pipeline.settings.payload_root)
    store.put(execution_key(adopt_id, execution, "output.json"), json.dumps(output).encode())
    pipeline.submit([adopt, payload(item("fast"), workflow="stamp-only"), slow])
    with caplog.at_level(logging.WARNING, logger="cirrus.runtime"):
        counts = pipeline.drain(workers=2)
    assert counts["succeeded"] == 3
    lost = [r.getMessage() for r in caplog.records if "lost the claim" in r.getMessage()]
    assert lost == []
