"""Several worker processes draining one queue: every payload once, counts from all of them."""

from __future__ import annotations

from collections import Counter

from tests.runtime.conftest import Proj, item, payload


def test_two_processes_run_every_payload_exactly_once(proj: Proj) -> None:
    log = proj.root / "exec.log"
    payloads = [
        payload(item(f"p{i:03d}"), workflow="stamp-only", tasks={"stamp": {"exec_log": str(log)}})
        for i in range(150)
    ]
    proj.write_payloads(payloads)
    summary = proj.cirrus("process", "in.ndjson", "--wait", "--processes", "2").json()
    assert summary["succeeded"] == 150
    runs = Counter(log.read_text().split())
    assert len(runs) == 150
    assert set(runs.values()) == {1}
    states = Counter(record["state"] for record in proj.records().values())
    assert states == {"SUCCEEDED": 150}
