"""``cirrus abort`` and ``cirrus purge`` on a real project, worker and task processes."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

import psutil

from tests.runtime.conftest import Proj, add_workflow, item, payload, payload_id
from tests.serve.conftest import add_server_test_tasks, stop_all, wait_for


def _state(proj: Proj, pid: str) -> str | None:
    run = proj.cirrus("get-state", pid, check=False)
    return json.loads(run.stdout)["state"] if run.returncode == 0 else None


def _nap_processes(worker: psutil.Process) -> list[psutil.Process]:
    found = []
    for child in worker.children(recursive=True):
        try:
            if "nap" in child.cmdline():
                found.append(child)
        except psutil.Error:
            continue
    return found


def test_abort_stops_a_running_30_second_task_within_seconds(proj: Proj) -> None:
    add_server_test_tasks(proj)
    worker = proj.popen("worker", "--workers", "2")
    try:
        slow = payload(item("slow-1"), workflow="slow", tasks={"nap": {"seconds": 30}})
        proj.cirrus("process", input=json.dumps(slow))
        pid = payload_id("slow-1", "slow")
        wait_for(lambda: _state(proj, pid) == "PROCESSING", what="the slow payload to run")
        (nap,) = wait_for(lambda: _nap_processes(psutil.Process(worker.pid)), what="its task")

        asked = time.monotonic()
        run = proj.cirrus("abort", pid)
        assert json.loads(run.stdout)["state"] == "ABORTED"
        assert _state(proj, pid) == "ABORTED"
        wait_for(
            lambda: not nap.is_running() or nap.status() == psutil.STATUS_ZOMBIE, 10, "nap gone"
        )
        assert time.monotonic() - asked < 10

        # the worker lives on, leaves the record ABORTED and logs the abort once
        quick = payload(item("quick"), workflow="stamp-only")
        proj.cirrus("process", input=json.dumps(quick))
        wait_for(lambda: _state(proj, payload_id("quick", "stamp-only")) == "SUCCEEDED", 30)
        assert worker.poll() is None
        assert _state(proj, pid) == "ABORTED"
        events = proj.cirrus("get-execution-events", pid, "--workflow-events").ndjson()
        assert [e["event_type"] for e in events].count("ABORTED") == 1
        assert [e["event_type"] for e in events][-1] == "ABORTED"
        record = proj.records()[pid]
        assert record["last_error"].startswith("Aborted:")
    finally:
        stop_all([worker])


def test_abort_refuses_a_payload_that_is_not_running(proj: Proj) -> None:
    proj.cirrus("process", "--wait", input=json.dumps(payload(item("done"), workflow="stamp-only")))

    run = proj.cirrus("abort", payload_id("done", "stamp-only"), check=False)
    assert run.returncode == 1
    assert "SUCCEEDED, not running" in run.stderr and "Traceback" not in run.stderr
    missing = proj.cirrus("abort", "test/workflow-x/nope", check=False)
    assert missing.returncode == 1 and "no state record" in missing.stderr


def test_purge_drops_queued_payloads_of_a_workflow_after_confirmation(proj: Proj) -> None:
    queued = [payload(item(f"a-{n}"), workflow="stamp-only") for n in range(3)]
    queued += [payload(item(f"b-{n}")) for n in range(2)]
    proj.cirrus("process", input="\n".join(json.dumps(p) for p in queued))

    refused = proj.cirrus("purge", "--workflow", "three", check=False)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert "2 queued payload(s) of workflow three" in refused.stderr

    purged = proj.cirrus("purge", "--workflow", "three", "--yes")
    assert purged.json()["purged"] == 2
    # looking is not a delivery: the payloads kept were never received, as far as the
    # receive limit counts
    with sqlite3.connect(proj.cirrus_dir / "queue.db") as queue:
        counts = [row[0] for row in queue.execute("SELECT receive_count FROM messages")]
    assert counts == [0, 0, 0]

    summary = proj.cirrus("process", "--wait", input="").json()
    assert summary.get("succeeded") == 3 and "failed" not in summary
    assert proj.cirrus("purge", "--yes").json() == {"purged": 0}


def test_a_payload_aborted_before_it_started_is_not_run_again(
    proj: Proj, open_pipeline: Any, tmp_path: Any
) -> None:
    """An abort between the claim and the start ends the payload at once: its message is
    deleted instead of coming back after the lease.

    Only a payload that has a record is claimed and started in two steps (a new one is
    started with its claim): here, a rerun.
    """
    from cirrus.runtime.steer import abort
    from tests.runtime.conftest import Standin, logged, run_worker, runs

    log = tmp_path / "runs.log"
    pipeline = open_pipeline()
    pid = payload_id("early", "stamp-only")
    pipeline.submit([payload(item("early"), workflow="stamp-only", tasks=logged(log))])
    assert run_worker(pipeline) == {"succeeded": 1}
    pipeline.submit(
        [payload(item("early"), workflow="stamp-only", tasks=logged(log), replace=True)]
    )

    def start_many(items: Any, **kwargs: Any) -> Any:
        abort(pipeline.db, pid, cause="changed my mind")
        return pipeline.db.start_many(items, **kwargs)

    counts = run_worker(pipeline, state_db=Standin(pipeline.db, start_many=start_many))

    assert counts == {"aborted": 1}
    assert len(runs(log)) == 1  # the first run only
    assert pipeline.queue.counts() == (0, 0)  # the message is gone, not coming back
    record = pipeline.db.get(pid)
    assert record is not None and record.state.value == "ABORTED"
    assert record.last_error == "Aborted: changed my mind"


ABORT_SELF = '''
from typing import Any

from cirrus.runtime.steer import abort
from cirrus.state import open_state_db
from cirrus.task import Task


class AbortSelf(Task):
    """Aborts its own payload, as an operator would, and returns at once."""

    name = "abort-self"
    description = "aborts its own payload"
    version = "1.0.0"

    def process(self, state_db: str = "", **kwargs: Any) -> list[dict[str, Any]]:
        with open_state_db(state_db) as db:
            abort(db, self._payload["id"], cause="while it ended")
        return self.items_as_dicts
'''


def test_a_payload_aborted_as_its_execution_ends_is_not_announced_or_chained(
    proj: Proj, open_pipeline: Any
) -> None:
    """The worker looks for aborts every second; an execution that ends in between is
    committed only if its worker still holds the payload."""
    from cirrus.runtime import Worker
    from tests.runtime.conftest import payload_id

    folder = proj.root / "tasks" / "abort-self"
    (folder / "src" / "task").mkdir(parents=True)
    (folder / "definition.yml").write_text(
        "description: aborts\nlambda:\n  handler: task.handler\n"
    )
    (folder / "src" / "task" / "task.py").write_text(ABORT_SELF)
    (folder / "README.md").write_text("# abort-self\n\nAborts its own payload.\n")
    steps = [("abort", "cirrus:lambda:abort-self"), ("publish", "cirrus:lambda:publish")]
    add_workflow(proj, "abort-self", steps)
    pipeline = open_pipeline()
    state_db = str(proj.cirrus_dir / "state.db")
    tasks = {"abort-self": {"state_db": state_db}}
    chain = [{"workflow": "publish-only"}]
    pipeline.submit([payload(item("late"), workflow="abort-self", tasks=tasks, chain=chain)])
    worker = Worker(pipeline.settings, pipeline.project, state_db=pipeline.db, queue=pipeline.queue)
    worker.abort_watch.interval = 3600  # the worker does not notice before the end
    try:
        counts = worker.run(until_empty=True)
    finally:
        worker.close()

    pid = payload_id("late", "abort-self")
    assert counts == {"aborted": 1}
    record = pipeline.db.get(pid)
    assert record is not None and record.state.value == "ABORTED"
    assert record.last_error == "Aborted: while it ended"
    assert proj.published == []  # its items were not announced
    assert set(proj.records()) == {pid}  # nor its next link queued
    ends = [e.event_type.value for e in pipeline.db.events(pid)]
    assert ends[-1] == "ABORTED" and "SUCCEEDED" not in ends
