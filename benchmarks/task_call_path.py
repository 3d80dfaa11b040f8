"""Microseconds per step of the in-process task path, on one realistic 1-item payload.

The workflow engine runs every lambda-type Task state through
``TaskRunner.run_lambda`` → ``invoke_task`` → ``Task.handler``; the pipeline worker
validates each payload with ``Payload.from_dict`` on the way in and again on the way out.
This prints the cost of each of those, for a task whose ``process`` does nothing but
return its items, so what is left is the framework's own overhead, and, for scale, one
engine execution of a three-state workflow calling that task three times::

    .venv/bin/python benchmarks/task_call_path.py [--seconds 0.2] [--rounds 15]

Every figure is CPU time of this process (time spent waiting for a core does not count),
the best of ``--rounds`` short rounds (other work on the machine only ever adds time). The
payload dict is reused across calls: the task writes back the same items, so each call sees
the same input, and no JSON parsing is counted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from cirrus.payload import Payload
from cirrus.project.task_resolver import ProjectTaskResolver
from cirrus.task import Task
from cirrus.task.runner import TaskRunner


class Noop(Task):
    """Returns its items unchanged; reads its parameters as every task does."""

    name = "noop"
    description = "Returns its items"
    version = "1.0.0"

    def process(self, **kwargs: Any) -> list[dict[str, Any]]:
        return self.items_as_dicts


def noop_runner() -> TaskRunner:
    """A runner that knows only the no-op task."""
    return TaskRunner({"noop": Noop}.__getitem__)


THREE_TASKS = {
    "StartAt": "one",
    "States": {
        "one": {"Type": "Task", "Resource": "cirrus:lambda:noop", "Next": "two"},
        "two": {"Type": "Task", "Resource": "cirrus:lambda:noop", "Next": "three"},
        "three": {"Type": "Task", "Resource": "cirrus:lambda:noop", "End": True},
    },
}


def make_payload() -> dict[str, Any]:
    """A one-item payload of about 1 KB, shaped like a real Sentinel-2 one."""
    return {
        "type": "FeatureCollection",
        "id": "sentinel-2-l2a/workflow-cog-archive/S2B_17HQD_20201103_0_L2A",
        "features": [
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "stac_extensions": ["https://stac-extensions.github.io/eo/v1.0.0/schema.json"],
                "id": "S2B_17HQD_20201103_0_L2A",
                "collection": "sentinel-2-l2a",
                "bbox": [-78.1, -34.4, -76.9, -33.4],
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[-78.1, -34.4], [-76.9, -34.4], [-76.9, -33.4], [-78.1, -33.4]]
                    ],
                },
                "properties": {
                    "datetime": "2020-11-03T15:22:04Z",
                    "platform": "sentinel-2b",
                    "eo:cloud_cover": 12.5,
                    "mgrs:utm_zone": 17,
                },
                "links": [
                    {
                        "rel": "self",
                        "href": "s3://source/sentinel-2-l2a/S2B_17HQD_20201103_0_L2A.json",
                    }
                ],
                "assets": {
                    "visual": {
                        "href": "s3://source/S2B_17HQD_20201103_0_L2A/TCI.tif",
                        "type": "image/tiff; application=geotiff",
                        "roles": ["visual"],
                    },
                    "metadata": {
                        "href": "s3://source/S2B_17HQD_20201103_0_L2A/metadata.xml",
                        "type": "application/xml",
                        "roles": ["metadata"],
                    },
                },
            }
        ],
        "process": [
            {
                "workflow": "cog-archive",
                "upload_options": {
                    "path_template": "s3://data/${collection}/${year}/${month}/${id}",
                    "public_assets": ["visual"],
                },
                "workflow_options": {"log_level": "info"},
                "tasks": {"noop": {"resolution": 10}, "publish": {"public": True}},
            }
        ],
    }


def best_us(call: Callable[[], Any], seconds: float, rounds: int) -> float:
    """Lowest mean µs per call over ``rounds`` timed rounds of about ``seconds`` each."""
    # size a batch so the clock is read rarely
    clock = time.process_time
    start = clock()
    count = 0
    while clock() - start < 0.05:
        call()
        count += 1
    batch = max(1, int(count * seconds / 0.05 / 20))
    best = float("inf")
    for _ in range(rounds):
        calls = 0
        start = clock()
        while True:
            for _ in range(batch):
                call()
            calls += batch
            elapsed = clock() - start
            if elapsed >= seconds:
                break
        best = min(best, elapsed / calls * 1e6)
    return best


def measure(seconds: float, rounds: int) -> dict[str, float]:
    """Label -> best µs per call."""
    from cirrus.engine import StateMachine, run_execution

    data = make_payload()
    text = json.dumps(data)
    runner = noop_runner()
    resolver = ProjectTaskResolver({"noop": frozenset({"lambda"})}, runner)
    machine = StateMachine.from_dict(THREE_TASKS, resolver=resolver)
    if run_execution(machine, make_payload()).output != make_payload():
        raise SystemExit("the three-task workflow changed its payload")
    # the first call fills the per-class caches; the output must equal the input
    if runner.run_lambda("noop", data) != make_payload():
        raise SystemExit("the no-op task changed its payload")
    task = Noop(data)
    return {
        "json.loads (reference)": best_us(lambda: json.loads(text), seconds, rounds),
        "Payload.from_dict(copy_data=False)": best_us(
            lambda: Payload.from_dict(data, copy_data=False), seconds, rounds
        ),
        "Payload.from_dict() (deep copy)": best_us(
            lambda: Payload.from_dict(data), seconds, rounds
        ),
        "Task.__init__": best_us(lambda: Noop(data), seconds, rounds),
        "task.parameters": best_us(lambda: task.parameters, seconds, rounds),
        "task.assign_collections()": best_us(task.assign_collections, seconds, rounds),
        "Task.handler": best_us(lambda: Noop.handler(data), seconds, rounds),
        "TaskRunner.run_lambda": best_us(lambda: runner.run_lambda("noop", data), seconds, rounds),
        "engine: 3-task workflow execution": best_us(
            lambda: run_execution(machine, data), seconds, rounds
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=0.2, help="CPU seconds of one round")
    parser.add_argument("--rounds", type=int, default=15, help="rounds per figure; best counts")
    args = parser.parse_args()
    size = len(json.dumps(make_payload()))
    print(
        f"payload: 1 item, {size} bytes of JSON; python {sys.version.split()[0]}; "
        f"best of {args.rounds} rounds of {args.seconds:g} s"
    )
    figures = measure(args.seconds, args.rounds)
    print(f"    {'step':<38}{'µs/call':>10}")
    for label, micros in figures.items():
        print(f"    {label:<38}{micros:>10.2f}")
    per_payload = (
        3 * figures["TaskRunner.run_lambda"] + 2 * figures["Payload.from_dict(copy_data=False)"]
    )
    print(
        f"    3 task calls + 2 worker validations per payload: {per_payload:.1f} µs "
        f"({1e6 / per_payload:,.0f} payloads/s on one core, this part alone)"
    )


if __name__ == "__main__":
    main()
