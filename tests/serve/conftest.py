"""Fixtures for the server tests: a real project with succeeded, failed and running payloads,
a real ``cirrus worker`` and a real ``cirrus serve`` on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.runtime.conftest import (
    FIXTURE_TASKS,
    Proj,
    add_workflow,
    item,
    payload,
    payload_id,
    proj,
    project_template,
)

__all__ = ["Served", "proj", "project_template", "served"]

TOKEN = "s3cret-token"
SLOW_SECONDS = 300


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    """A project served by ``cirrus serve`` while a worker runs its slow payload."""

    proj: Proj
    url: str
    token: str
    succeeded: list[str]
    failed: list[str]
    running: str
    processes: list[subprocess.Popen[str]] = field(default_factory=list)

    def get(self, path: str) -> Any:
        """GET a JSON route (the status must be 200)."""
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            assert response.status == 200
            return json.loads(response.read())

    def state(self, payload_id: str) -> str | None:
        """The payload's state, None while it has no record."""
        status, body, _ = self.request("/api/payload?id=" + payload_id, method="GET")
        return body["record"]["state"] if status == 200 else None

    def request(
        self, path: str, body: Any = None, token: str | None = None, method: str = "POST"
    ) -> tuple[int, Any, dict[str, str]]:
        """Any request; returns status, JSON body and headers (errors included)."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read()), dict(response.headers)
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read()), dict(err.headers)


def wait_for(check: Any, timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def add_server_test_tasks(proj: Proj) -> None:
    """``flaky`` (fails during an outage), ``nap`` as a batch task too, and their workflows:
    ``flaky`` (flaky, publish) and ``slow`` (nap in a process of its own)."""
    folder = proj.root / "tasks" / "flaky"
    (folder / "src" / "task").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FIXTURE_TASKS / "flaky.py", folder / "src" / "task" / "task.py")
    (folder / "definition.yml").write_text(
        'description: "flaky test task"\nlambda:\n  handler: task.handler\n'
    )
    (folder / "README.md").write_text("# flaky\n")
    (proj.root / "tasks" / "nap" / "definition.yml").write_text(
        'description: "nap test task"\nlambda:\n  handler: task.handler\nbatch:\n  vcpu: 1\n'
    )
    add_workflow(
        proj, "flaky", [("flaky", "cirrus:lambda:flaky"), ("publish", "cirrus:lambda:publish")]
    )
    add_workflow(proj, "slow", [("nap", "cirrus:batch:nap")])


def start_server(proj: Proj, processes: list[subprocess.Popen[str]], *args: str) -> str:
    """Start ``cirrus serve ARGS`` (added to ``processes``); its URL once it answers."""
    port = free_port()
    server = proj.popen("serve", "--port", str(port), *args)
    processes.append(server)
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            with urllib.request.urlopen(url + "/api/status", timeout=2):
                return True
        except OSError:
            assert server.poll() is None, server.communicate()[1]
            return False

    wait_for(answers, what="cirrus serve to answer")
    return url


@contextmanager
def serving(root: Path, outage: Path) -> Iterator[Served]:
    """The project at ``root`` with 3 SUCCEEDED, 2 FAILED (an outage) and 1 PROCESSING
    payload, a ``cirrus worker`` and ``cirrus serve --token`` running."""
    proj = Proj(root)
    add_server_test_tasks(proj)
    processes: list[subprocess.Popen[str]] = []
    try:
        yield _serve(proj, outage, processes)
    finally:
        stop_all(processes)


def stop_all(processes: list[subprocess.Popen[str]]) -> None:
    """Stop the processes and every process they started (the worker's task processes)."""
    for process in processes:
        try:
            children = psutil.Process(process.pid).children(recursive=True)
        except psutil.Error:
            children = []
        process.terminate()
        for child in children:
            with contextlib.suppress(psutil.Error):
                child.kill()
    for process in processes:
        try:
            process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


@pytest.fixture(scope="module")
def served(project_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One served project for a module's read-only tests."""
    folder = tmp_path_factory.mktemp("served")
    shutil.copytree(project_template, folder / "proj")
    with serving(folder / "proj", folder / "outage") as result:
        yield result


@pytest.fixture
def fresh_served(project_template: Path, tmp_path: Path) -> Iterator[Served]:
    """A served project of its own, for a test that changes it."""
    shutil.copytree(project_template, tmp_path / "proj")
    with serving(tmp_path / "proj", tmp_path / "outage") as result:
        yield result


def _serve(proj: Proj, outage: Path, processes: list[subprocess.Popen[str]]) -> Served:
    outage.write_text("down")
    good = [payload(item(f"good-{n}"), workflow="stamp-only") for n in range(3)]
    bad = [
        payload(item(f"bad-{n}"), workflow="flaky", tasks={"flaky": {"outage": str(outage)}})
        for n in range(2)
    ]
    proj.cirrus(
        "process", "--wait", input="\n".join(json.dumps(p) for p in good + bad), check=False
    )
    outage.unlink()  # the outage is over: a rerun succeeds
    # a worker sees its batch through before it takes more: the second one is free for reruns
    # while the first runs the slow payload
    processes.extend(proj.popen("worker", "--workers", "2") for _ in range(2))
    slow = payload(item("slow-1"), workflow="slow", tasks={"nap": {"seconds": SLOW_SECONDS}})
    proj.cirrus("process", input=json.dumps(slow))
    url = start_server(proj, processes, "--token", TOKEN)
    result = Served(
        proj,
        url,
        TOKEN,
        succeeded=[payload_id(f"good-{n}", "stamp-only") for n in range(3)],
        failed=[payload_id(f"bad-{n}", "flaky") for n in range(2)],
        running=payload_id("slow-1", "slow"),
        processes=processes,
    )
    wait_for(lambda: result.state(result.running) == "PROCESSING", what="the slow payload to run")
    return result
