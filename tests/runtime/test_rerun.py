"""Bulk reruns: ``cirrus get-input-payloads --state FAILED --rerun | cirrus process - --wait``."""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections import Counter

from tests.runtime.conftest import Proj, clean_env, item, payload, payload_id

CIRRUS = f"{shlex.quote(sys.executable)} -m cirrus"
# drops properties.fail from every item of every payload read on stdin
FIX = (
    f'{shlex.quote(sys.executable)} -c "import json, sys\n'
    "for line in sys.stdin:\n"
    "    p = json.loads(line)\n"
    "    for f in p['features']: f['properties'].pop('fail', None)\n"
    '    print(json.dumps(p))"'
)


def pipeline(proj: Proj, command: str) -> subprocess.CompletedProcess[str]:
    """Run a shell pipeline in the project folder."""
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=proj.root,
        capture_output=True,
        text=True,
        check=False,
        env=clean_env(),
        timeout=120,
    )


def test_failed_payloads_are_rerun_exactly_and_succeed_once_fixed(proj: Proj) -> None:
    log = proj.root / "exec.log"
    tasks = {"stamp": {"exec_log": str(log)}}
    proj.write_payloads(
        [payload(item(f"ok{n}"), tasks=tasks) for n in range(3)]
        + [payload(item(f"bad{n}", fail=True), tasks=tasks) for n in range(2)]
    )
    first = proj.cirrus("process", "in.ndjson", "--wait", check=False)
    assert first.returncode == 1
    failed = {payload_id("bad0"), payload_id("bad1")}
    assert set(proj.records("--state", "FAILED")) == failed

    # what --rerun prints: the stored inputs, with replace set
    listed = proj.cirrus("get-input-payloads", "--state", "FAILED", "--rerun").ndjson()
    assert {p["id"] for p in listed} == failed
    assert all(p["process"][0]["replace"] is True for p in listed)
    one = proj.cirrus("get-input-payload", payload_id("bad0"), "--rerun").json()
    assert one == next(p for p in listed if p["id"] == payload_id("bad0"))
    stored = proj.stored(f"executions/{payload_id('bad0')}")
    (first,) = [value for key, value in stored.items() if key.endswith("/input.json")]
    assert "replace" not in first["process"][0]  # stored as sent

    # rerun as they are: exactly the failed ones run again, and fail again
    again = pipeline(
        proj,
        f"{CIRRUS} get-input-payloads --state FAILED --rerun | {CIRRUS} process - --wait",
    )
    assert again.returncode == 1, again.stderr
    assert '"failed": 2' in again.stdout and '"queued": 2' in again.stdout
    runs = Counter(log.read_text().splitlines())
    assert runs == {**{payload_id(f"ok{n}"): 1 for n in range(3)}, **dict.fromkeys(failed, 2)}

    # fix the cause in the payloads on their way back in: now they succeed
    fixed = pipeline(
        proj,
        f"{CIRRUS} get-input-payloads --state FAILED --rerun | {FIX} | {CIRRUS} process - --wait",
    )
    assert fixed.returncode == 0, fixed.stderr
    records = proj.records()
    assert {pid: r["state"] for pid, r in records.items()} == {
        **{payload_id(f"ok{n}"): "SUCCEEDED" for n in range(3)},
        **dict.fromkeys(failed, "SUCCEEDED"),
    }
    for pid in failed:
        assert len(records[pid]["executions"]) == 3
        assert proj.execution_names(pid) == records[pid]["executions"]
    for n in range(3):
        assert len(records[payload_id(f"ok{n}")]["executions"]) == 1
    assert Counter(log.read_text().splitlines()) == {
        **{payload_id(f"ok{n}"): 1 for n in range(3)},
        **dict.fromkeys(failed, 3),
    }
    assert proj.records("--state", "FAILED") == {}
    assert sorted(line["item"]["id"] for line in proj.published) == [
        "bad0",
        "bad1",
        "ok0",
        "ok1",
        "ok2",
    ]
