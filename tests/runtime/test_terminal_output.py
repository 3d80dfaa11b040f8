"""What ``cirrus process --wait`` and ``cirrus worker`` print off a terminal, and on Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from tests.runtime.conftest import Proj, clean_env, item, payload, payload_id
from tests.serve.conftest import stop_all, wait_for

LONG = "x" * 90  # an item id long enough to make the failure line wider than 80 columns


def _run(proj: Proj, *args: str, input: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cirrus", *args],
        cwd=proj.root,
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean_env(), **env},
        check=False,
    )


def test_off_a_terminal_failures_are_single_plain_lines_and_progress_is_periodic(
    proj: Proj,
) -> None:
    good = [
        payload(item(f"good-{n}"), workflow="stamp-only", tasks={"stamp": {"sleep_ms": 150}})
        for n in range(12)
    ]
    bad = [payload(item(f"{LONG}-{n}", fail=True)) for n in range(2)]
    run = _run(
        proj,
        "process",
        "--wait",
        "--workers",
        "1",
        input="\n".join(json.dumps(p) for p in good + bad),
        CIRRUS_PROGRESS_SECONDS="0.3",
    )

    assert run.returncode == 1  # some failed
    lines = run.stderr.splitlines()
    failures = [line for line in lines if line.startswith("failed ")]
    assert len(failures) == 2
    for line in failures:
        assert line.startswith(f"failed {payload_id(LONG)}") or LONG in line
        assert line.endswith(f"RuntimeError: asked to fail {line.split('/')[-1].split(' ')[0]}")
    assert len(max(failures, key=len)) > 100  # not wrapped at 80 columns
    assert not any("[red]" in line or "\x1b[" in line for line in lines)
    progress = [line for line in lines if line.startswith("progress: ")]
    assert progress, run.stderr
    # the total is what was read: never above 14, never the queue's guess
    assert all(line.split()[1].split("/")[1] in ("?", "14") for line in progress)
    assert json.loads(run.stdout)["succeeded"] == 12


def test_worker_prints_a_line_per_payload_and_ctrl_c_summarises(proj: Proj) -> None:
    worker = subprocess.Popen(
        [sys.executable, "-m", "cirrus", "worker"],
        cwd=proj.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        payloads = [payload(item("ok"), workflow="stamp-only"), payload(item("no", fail=True))]
        proj.cirrus("process", input="\n".join(json.dumps(p) for p in payloads))
        proj.cirrus(
            "process",
            input=json.dumps(payload(item("nap"), workflow="task-timeout", tasks={"nap": {}})),
        )
        wait_for(
            lambda: (
                proj.records().get(payload_id("nap", "task-timeout"), {}).get("state")
                == "SUCCEEDED"
            ),
            30,
            "three payloads done",
        )
        time.sleep(0.5)
        worker.send_signal(signal.SIGINT)
        out, err = worker.communicate(timeout=30)
    finally:
        stop_all([worker])

    assert worker.returncode == 130
    lines = err.splitlines()
    assert f"succeeded {payload_id('ok', 'stamp-only')}" in lines
    assert any(line.startswith(f"failed {payload_id('no')} RuntimeError") for line in lines)
    assert any(line.startswith("interrupted: 3 payload(s) finished") for line in lines)
    assert "finish the rest with: cirrus worker --until-empty" in lines
    assert json.loads(out.splitlines()[-1])["interrupted"] is True


def test_ctrl_c_while_processing_leaves_a_way_to_finish(proj: Proj) -> None:
    slow = payload(item("slow"), workflow="stamp-only", tasks={"stamp": {"sleep_ms": 3000}})
    source = proj.write_payloads([slow])
    process = subprocess.Popen(
        [sys.executable, "-m", "cirrus", "process", "--wait", str(source)],
        cwd=proj.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        pid = payload_id("slow", "stamp-only")
        wait_for(lambda: proj.records().get(pid, {}).get("state") == "PROCESSING", 30, "start")
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    finally:
        stop_all([process])

    assert process.returncode == 130
    assert "in flight: 1 payload(s) being processed" in err
    assert "finish the rest with: cirrus worker --until-empty" in err
    assert "Traceback" not in err
    finished = proj.cirrus("worker", "--until-empty", timeout=60)
    assert json.loads(finished.stdout) == {"succeeded": 1}
    assert proj.records()[pid]["state"] == "SUCCEEDED"
