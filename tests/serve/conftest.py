"""Fixtures for the server tests: a real project with succeeded, failed and running payloads,
a real ``cirrus worker`` and a real ``cirrus serve`` on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.runtime.conftest import Proj, item, payload, payload_id, project_template, proj

__all__ = ["Served", "project_template", "proj", "served"]

TOKEN = "s3cret-token"
SLOW_SECONDS = 30


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


def add_slow_workflow(proj: Proj) -> None:
    folder = proj.root / "workflows" / "slow"
    folder.mkdir(parents=True, exist_ok=True)
    definition = {
        "StartAt": "nap",
        "States": {"nap": {"Type": "Task", "Resource": "cirrus:lambda:nap", "End": True}},
    }
    (folder / "definition.yml").write_text(
        json.dumps({"description": "naps", "definition": definition})
    )
    (folder / "README.md").write_text("# slow\n")


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


@pytest.fixture
def served(proj: Proj) -> Iterator[Served]:
    add_slow_workflow(proj)
    processes: list[subprocess.Popen[str]] = []
    try:
        yield _serve(proj, processes)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


def _serve(proj: Proj, processes: list[subprocess.Popen[str]]) -> Served:
    good = [payload(item(f"good-{n}"), workflow="stamp-only") for n in range(3)]
    bad = [payload(item(f"bad-{n}", fail=True)) for n in range(2)]
    proj.cirrus("process", "--wait", input="\n".join(json.dumps(p) for p in good + bad), check=False)
    worker = proj.popen("worker", "--workers", "2")
    processes.append(worker)
    slow = payload(item("slow-1"), workflow="slow", tasks={"nap": {"seconds": SLOW_SECONDS}})
    proj.cirrus("process", input=json.dumps(slow))
    running = payload_id("slow-1", "slow")
    url = start_server(proj, processes, "--token", TOKEN)
    result = Served(
        proj,
        url,
        TOKEN,
        succeeded=[payload_id(f"good-{n}", "stamp-only") for n in range(3)],
        failed=[payload_id(f"bad-{n}") for n in range(2)],
        running=running,
        processes=processes,
    )
    wait_for(lambda: result.state(running) == "PROCESSING", what="the slow payload to run")
    return result
