"""Engine cost per Task state: executions per second of a 3-Task-state workflow.

The workflow is the pipeline's ``stamp -> measure -> tag`` (no paths, no Retry/Catch); its
function names resolve to tiny in-process Python callables, so what is
measured is the engine's own work: history events, the task input copy, data flow.
The input is a one-item STAC payload of about 1 KB.

Prints executions per second, microseconds per execution and per Task state (best of
``--repeat`` runs), plus the cost of exporting the history and of copying one payload.
Times are CPU time of this process, so other work on a shared machine disturbs them less.

On the 2-core development machine (best of 20 x 2,000 executions, several runs), the engine
went from about 175 µs per execution (58 µs per Task state; 28 µs per input copy, 320 µs per
history export) to about 77 µs (26 µs per Task state; 16 µs per copy, 120 µs per export).

    .venv/bin/python benchmarks/engine_task_states.py [--executions 2000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from cirrus.engine import PythonFunctions, StateMachine, run_execution
from cirrus.engine.task_io import copy_json

DEFINITION: dict[str, Any] = {
    "StartAt": "stamp",
    "States": {
        "stamp": {"Type": "Task", "Resource": "stamp", "Next": "measure"},
        "measure": {"Type": "Task", "Resource": "measure", "Next": "tag"},
        "tag": {"Type": "Task", "Resource": "tag", "End": True},
    },
}
TASK_STATES = 3


def _items(payload: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = payload["features"]
    return items


def stamp(payload: dict[str, Any]) -> dict[str, Any]:
    for item in _items(payload):
        item["properties"]["stamped"] = True
    return payload


def measure(payload: dict[str, Any]) -> dict[str, Any]:
    for item in _items(payload):
        item["properties"]["size"] = len(item["assets"])
    return payload


def tag(payload: dict[str, Any]) -> dict[str, Any]:
    for item in _items(payload):
        item["properties"]["tags"] = sorted({"a", "b", item["id"][-1]})
    return payload


TASKS = {"stamp": stamp, "measure": measure, "tag": tag}


def stac_payload() -> dict[str, Any]:
    """A one-item payload of about 1 KB, shaped like the pipeline's input."""
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "bench-item-0001",
        "collection": "sentinel-2-l2a",
        "bbox": [10.0, 45.0, 11.0, 46.0],
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[10.0, 45.0], [11.0, 45.0], [11.0, 46.0], [10.0, 46.0], [10.0, 45.0]]],
        },
        "properties": {
            "datetime": "2024-05-01T10:20:30Z",
            "platform": "sentinel-2a",
            "eo:cloud_cover": 12.5,
            "proj:epsg": 32632,
        },
        "assets": {
            "visual": {
                "href": "s3://bucket/sentinel-2-l2a/bench-item-0001/visual.tif",
                "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                "roles": ["visual"],
            },
            "metadata": {
                "href": "s3://bucket/sentinel-2-l2a/bench-item-0001/metadata.xml",
                "type": "application/xml",
                "roles": ["metadata"],
            },
        },
        "links": [
            {"rel": "collection", "href": "s3://bucket/sentinel-2-l2a/collection.json"},
        ],
    }
    return {
        "type": "FeatureCollection",
        "features": [item],
        "process": [
            {
                "workflow": "three-tasks",
                "upload_options": {"path_template": "/${collection}/${id}"},
                "tasks": {"stamp": {}, "measure": {}, "tag": {}},
            }
        ],
    }


def best_rate(machine: StateMachine, payload: Any, executions: int, repeat: int) -> float:
    """Best executions per second over ``repeat`` runs of ``executions`` executions."""
    best = 0.0
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(executions):
            result = run_execution(machine, payload, time_scale=0)
        elapsed = time.process_time() - started
        if not result.succeeded or result.output["features"][0]["properties"]["tags"] != [
            "1",
            "a",
            "b",
        ]:
            raise RuntimeError(f"workflow failed: {result.error_document()}")
        best = max(best, executions / elapsed)
    return best


def best_per_call(call: Any, count: int, repeat: int) -> float:
    """Best microseconds per ``call()`` over ``repeat`` runs of ``count`` calls."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(count):
            call()
        best = min(best, (time.process_time() - started) / count)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--executions", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    machine = StateMachine.from_dict(DEFINITION, resolver=PythonFunctions(TASKS))
    payload = stac_payload()
    rate = best_rate(machine, payload, args.executions, args.repeat)
    per_execution = 1e6 / rate
    result = run_execution(machine, payload, time_scale=0)
    history = best_per_call(result.history, 200, args.repeat)
    copy = best_per_call(lambda: copy_json(payload), 2_000, args.repeat)

    print(f"payload: {len(json.dumps(payload)):,} bytes, {len(result.events)} history events")
    print(f"{'executions/s':28} {rate:10,.0f}")
    print(f"{'µs per execution':28} {per_execution:10.1f}")
    print(f"{'µs per Task state':28} {per_execution / TASK_STATES:10.1f}")
    print(f"{'µs per history() export':28} {history:10.1f}")
    print(f"{'µs per task input copy':28} {copy:10.1f}")


if __name__ == "__main__":
    main()
