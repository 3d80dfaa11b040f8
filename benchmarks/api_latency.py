"""Latency of ``cirrus serve``'s API and dashboard on big SQLite state databases.

Fills a state database with N records (three workflows, a fifth FAILED, a few PROCESSING,
updated over 60 days, with a finishing event each), serves it on 127.0.0.1 as ``cirrus
serve`` does, and prints the median and worst time of each route the dashboard's pages
load, for N = 10,000, 100,000 and 1,000,000. The target: every page under 100 ms.

    .venv/bin/python benchmarks/api_latency.py [--sizes 10000,100000,1000000] [--repeat 15]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn

from cirrus.project import Project
from cirrus.runtime import Pipeline, RuntimeSettings
from cirrus.serve import build_app
from cirrus.state import EventType, FinishUpdate, NewEvent, SQLiteStateDB, State

WORKFLOWS = ("cog", "ndvi", "publish")
BATCH = 5000
START = datetime.now(UTC) - timedelta(days=60)  # the last records are fresh

# (what the dashboard shows, the route it loads)
ROUTES = [
    ("overview page: /api/status", "/api/status"),
    ("payload table: /api/payloads", "/api/payloads?limit=100"),
    ("failures: /api/payloads?state=FAILED", "/api/payloads?state=FAILED&limit=100"),
    ("failures by error", "/api/payloads?state=FAILED&error=RuntimeError&limit=100"),
    ("one workflow", "/api/payloads?workflow=ndvi&limit=100"),
    ("one workflow's failures", "/api/payloads?workflow=ndvi&state=FAILED&limit=100"),
    ("workflow list: /api/workflows", "/api/workflows"),
    ("payload page: /api/payload", "/api/payload?id={pid}"),
    ("upstream summary", "/c/workflow-cog"),
    ("upstream items", "/c/workflow-cog/items?limit=100"),
    ("upstream items, FAILED", "/c/workflow-cog/items?state=FAILED&limit=100"),
    ("upstream record", "/{pid}"),
    ("dashboard HTML", "/ui/"),
    ("upstream /stats (60 days of events; cached 1 min)", "/stats"),
]


def fill(path: Path, size: int) -> str:
    """``size`` records over 60 days; returns one payload id."""
    span = timedelta(days=60) / max(size // BATCH, 1)
    now = [START]
    db = SQLiteStateDB(path, clock=lambda: now[0])
    sample = ""
    for start in range(0, size, BATCH):
        updates, events = [], []
        for n in range(start, min(start + BATCH, size)):
            workflow = WORKFLOWS[n % len(WORKFLOWS)]
            payload_id = f"c/workflow-{workflow}/item-{n:08d}"
            failed = n % 5 == 0
            error = f"RuntimeError: failed {n}" if failed else None
            state = State.FAILED if failed else State.SUCCEEDED
            updates.append(FinishUpdate(payload_id, state, owner=None, error=error))
            events.append(NewEvent(payload_id, EventType(state.value), execution="e", error=error))
            sample = payload_id
        db.finish_many(updates, events=events)
        now[0] += span
    running = [f"c/workflow-cog/running-{n}" for n in range(20)]
    db.claim_many([(p, False) for p in running], owner="bench", lease_seconds=3600)
    db.start_many([(p, "run") for p in running], owner="bench", lease_seconds=3600)
    db.close()
    return sample


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure(url: str, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=60) as response:
            response.read()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def run(size: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        started = time.perf_counter()
        sample = fill(root / "state.db", size)
        filled = time.perf_counter() - started
        settings = RuntimeSettings.from_config(Project.embedded(root).config).with_changes(
            state_db=str(root / "state.db"), queue=str(root / "queue.db")
        )
        pipeline = Pipeline(settings, Project.embedded(root))
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(build_app(pipeline), host="127.0.0.1", port=port, log_level="error")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        print(f"\n{size:,} records (filled in {filled:.0f} s)")
        print(f"  {'route':<50} {'median ms':>10} {'worst ms':>10}")
        for label, route in ROUTES:
            median, worst = measure(base + route.format(pid=sample), repeat)
            print(f"  {label:<50} {median:>10.1f} {worst:>10.1f}")
        server.should_exit = True
        thread.join()
        pipeline.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=15)
    options = parser.parse_args()
    for size in (int(s) for s in options.sizes.split(",")):
        run(size, options.repeat)


if __name__ == "__main__":
    main()
