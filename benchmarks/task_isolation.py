"""What running a lambda-type task in a process of its own costs, per call.

Prints, for a small task:

- in a thread of the worker (the default);
- in a warm process of its own (a timeout, memory limit or environment; what cirrus does):
  the first call (start the process, import the task) and the calls after it;
- in a fresh process per call (the alternative cirrus did not pick).

    python benchmarks/task_isolation.py [--calls 300]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

TASK = """
from typing import Any

from cirrus.task import Task


class Stamp(Task):
    name = "stamp"
    description = "stamps"
    version = "1.0.0"

    def process(self, **kwargs: Any) -> list[dict[str, Any]]:
        items = self.items_as_dicts
        for item in items:
            item["properties"]["stamped"] = True
        return items
"""

PAYLOAD: dict[str, Any] = {
    "type": "FeatureCollection",
    "features": [{"type": "Feature", "id": "a", "properties": {}, "assets": {}, "links": []}],
    "process": [{"workflow": "w"}],
}


def per_call(runner: Any, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        runner.run_lambda("stamp", PAYLOAD)
    return (time.perf_counter() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    from cirrus.task.limits import TaskSettings
    from cirrus.task.registry import resolve_task
    from cirrus.task.runner import TaskRunner
    from cirrus.task.tasklog import ExecutionLog, bound

    with tempfile.TemporaryDirectory() as folder:
        code = Path(folder) / "task.py"
        code.write_text(textwrap.dedent(TASK))
        spec = f"{code}:Stamp"
        threaded = TaskRunner(resolve_task, settings_of=lambda name: TaskSettings(spec=spec))
        threaded.find_class = lambda name: resolve_task(spec)
        isolated = TaskRunner(
            resolve_task, settings_of=lambda name: TaskSettings(spec=spec, isolate=True)
        )
        with bound(ExecutionLog("p", "e"), "e"):
            in_thread = per_call(threaded, args.calls)
            start = time.perf_counter()
            isolated.run_lambda("stamp", PAYLOAD)
            first = time.perf_counter() - start
            warm = per_call(isolated, args.calls)
        isolated.close()
        fresh_calls = max(3, args.calls // 60)
        start = time.perf_counter()
        for _ in range(fresh_calls):
            subprocess.run(
                [sys.executable, "-m", "cirrus", "run", "task", spec, "-"],
                input=json.dumps(PAYLOAD),
                capture_output=True,
                check=True,
                text=True,
            )
        fresh = (time.perf_counter() - start) / fresh_calls
    print(f"in a thread:                      {in_thread * 1e6:10,.0f} µs per call")
    print(f"warm process of its own, first:   {first * 1e3:10,.0f} ms (start + import)")
    print(f"warm process of its own, after:   {warm * 1e6:10,.0f} µs per call")
    print(f"fresh process per call:           {fresh * 1e3:10,.0f} ms per call")


if __name__ == "__main__":
    main()
