"""Whatever a task does costs only its own payload.

``sys.exit`` (even ``sys.exit(0)``) and ``KeyboardInterrupt`` raised by a task fail that
payload with a clear error, wherever the task runs. In a process of its own a task may also
``os._exit`` or crash (a segfault): the process dies, the payload fails as Lambda reports it
(``Runtime.ExitError``). A thread-run task that calls ``os._exit`` takes its worker down; the
queue hands the batch back, one message at a time, and its receive limit moves the poison to
the dead letters while every other payload of the batch succeeds.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.reliability.conftest import add_task, add_workflow
from tests.runtime.conftest import Proj, item, payload, payload_id


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        pytest.param("lambda: {}\n", {}, id="in-a-thread"),
        pytest.param(
            "lambda:\n  timeout: 30\n",
            {
                "os_exit": "Runtime.ExitError",
                "segfault": "Runtime.ExitError",
            },
            id="in-a-process-of-its-own",
        ),
    ],
)
def test_exits_and_interrupts_cost_only_their_payload(
    proj: Proj, definition: str, expected: dict[str, str]
) -> None:
    add_task(proj, "poison", definition)
    add_workflow(proj, "poison", "cirrus:lambda:poison")
    kinds = {"exit0": {"do": "sys_exit", "code": 0}, "exit3": {"do": "sys_exit", "code": 3}}
    kinds["interrupt"] = {"do": "keyboard"}
    for kind in expected:
        kinds[kind] = {"do": kind}
    items = [item(name, **props) for name, props in kinds.items()]
    items += [item("good-1"), item("good-2")]
    proj.write_payloads([payload(one, workflow="poison") for one in items])
    run = proj.cirrus("process", "in.ndjson", "--wait", check=False)
    assert run.returncode == 1
    summary = json.loads(run.stdout)  # the summary is on stdout, whatever the tasks did
    assert summary["succeeded"] == 2
    assert summary["failed"] == len(kinds)
    records = proj.records()
    errors = {name: records[payload_id(name, "poison")]["last_error"] for name in kinds}
    assert errors["exit0"] == ("SystemExit: the task called sys.exit(0); a task returns or raises")
    assert errors["exit3"].startswith("SystemExit: the task called sys.exit(3)")
    assert errors["interrupt"] == "KeyboardInterrupt: the task raised KeyboardInterrupt"
    assert errors.get("os_exit", "Runtime.ExitError").startswith("Runtime.ExitError")
    if "os_exit" in errors:
        assert errors["os_exit"].endswith("Runtime exited with error: exit status 3")
        assert errors["segfault"].endswith("Runtime exited with error: signal: segmentation fault")
    for good in ("good-1", "good-2"):
        assert records[payload_id(good, "poison")]["state"] == "SUCCEEDED"


def test_run_workflow_with_sys_exit_0_fails_with_a_message(proj: Proj) -> None:
    add_task(proj, "poison")
    add_workflow(proj, "poison", "cirrus:lambda:poison")
    (proj.root / "one.json").write_text(
        json.dumps(payload(item("bye", do="sys_exit", code=0), workflow="poison"))
    )
    run = proj.cirrus("run-workflow", "one.json", check=False)
    assert run.returncode == 10
    assert run.stdout == ""
    assert "SystemExit: the task called sys.exit(0)" in run.stderr


def test_a_thread_run_task_that_kills_its_worker_is_dead_lettered_alone(proj: Proj) -> None:
    add_task(proj, "poison")
    add_workflow(proj, "poison", "cirrus:lambda:poison")
    goods = [f"good-{number}" for number in range(4)]
    items = [item(goods[0]), item(goods[1]), item("killer", do="os_exit")]
    items += [item(name) for name in goods[2:]]
    proj.write_payloads([payload(one, workflow="poison") for one in items])
    runs = []
    for _ in range(12):  # each run that meets the poison dies with it, as os._exit does
        run = proj.cirrus("process", "in.ndjson", "--wait", check=False)
        runs.append(run.returncode)
        proj.write_payloads([], name="in.ndjson")  # submitted once: later runs only drain
        states = {name: state(proj, payload_id(name, "poison")) for name in goods}
        if all(value == "SUCCEEDED" for value in states.values()) and not _queued(proj):
            break
    assert states == dict.fromkeys(goods, "SUCCEEDED"), runs
    assert 3 in runs  # the worker did die with the task
    with sqlite3.connect(proj.cirrus_dir / "queue.db") as db:
        dead = [json.loads(body) for (body,) in db.execute("SELECT body FROM dead_letters")]
    assert [one["features"][0]["id"] for one in dead] == ["killer"]


def state(proj: Proj, pid: str) -> str | None:
    record = proj.cirrus("get-state", pid, check=False)
    return json.loads(record.stdout)["state"] if record.returncode == 0 else None


def _queued(proj: Proj) -> int:
    with sqlite3.connect(proj.cirrus_dir / "queue.db") as db:
        (count,) = db.execute("SELECT count(*) FROM messages").fetchone()
    return int(count)


def test_tasks_get_their_environment_and_never_each_others(proj: Proj) -> None:
    # project < component < lambda, as upstream merges them
    with (proj.root / "cirrus.yml").open("a") as config:
        config.write("environment:\n  FROM_PROJECT: p\n  SHARED: project\n")
    add_task(
        proj,
        "with-env",
        "environment:\n  SHARED: component\n  ONLY_HERE: yes-here\n"
        "lambda:\n  environment:\n    SHARED: lambda\n",
    )
    add_task(proj, "plain")
    add_workflow(proj, "with-env", "cirrus:lambda:with-env")
    add_workflow(proj, "plain", "cirrus:lambda:plain")
    names = ["SHARED", "ONLY_HERE", "FROM_PROJECT"]
    proj.write_payloads(
        [
            payload(item("e1", do="env", names=names), workflow="with-env"),
            payload(item("p1", do="env", names=names), workflow="plain"),
        ]
    )
    proj.cirrus("process", "in.ndjson", "--wait")
    (with_env,) = proj.outputs(payload_id("e1", "with-env"))
    assert with_env["features"][0]["properties"]["env"] == {
        "SHARED": "lambda",
        "ONLY_HERE": "yes-here",
        "FROM_PROJECT": "p",
    }
    (plain,) = proj.outputs(payload_id("p1", "plain"))
    assert plain["features"][0]["properties"]["env"] == {
        "SHARED": "project",
        "ONLY_HERE": None,
        "FROM_PROJECT": "p",
    }


@pytest.mark.slow
def test_a_soak_of_poisons_of_every_kind_costs_only_the_poisons(proj: Proj) -> None:
    add_task(proj, "poison")
    add_task(proj, "boxed", "lambda:\n  timeout: 30\n")
    add_workflow(proj, "poison", "cirrus:lambda:poison")
    add_workflow(proj, "boxed", "cirrus:lambda:boxed")
    poisons = {
        "poison": [{"do": "sys_exit"}, {"do": "keyboard"}, {"do": "os_exit"}, {"do": "os_exit"}],
        "boxed": [{"do": "os_exit"}, {"do": "segfault"}, {"do": "sys_exit", "code": 2}],
    }
    payloads, goods, killers = [], [], []
    for workflow, kinds in poisons.items():
        for number in range(30):
            goods.append(payload_id(f"{workflow}-good-{number}", workflow))
            payloads.append(payload(item(f"{workflow}-good-{number}"), workflow=workflow))
            if number % 8 == 3 and kinds:
                props = kinds.pop()
                name = f"{workflow}-bad-{number}"
                payloads.append(payload(item(name, **props), workflow=workflow))
                if workflow == "poison" and props["do"] == "os_exit":
                    killers.append(name)
    proj.write_payloads(payloads)
    for _ in range(25):
        proj.cirrus("process", "in.ndjson", "--wait", check=False)
        proj.write_payloads([], name="in.ndjson")
        if not _queued(proj):
            break
    records = proj.records()
    assert {pid: records[pid]["state"] for pid in goods} == dict.fromkeys(goods, "SUCCEEDED")
    with sqlite3.connect(proj.cirrus_dir / "queue.db") as db:
        dead = sorted(
            json.loads(body)["features"][0]["id"]
            for (body,) in db.execute("SELECT body FROM dead_letters")
        )
    assert dead == sorted(killers)
