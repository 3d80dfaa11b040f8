"""What a kill costs, and how memory grows with the size of one payload.

Prints:

- **redundant task calls per kill**: ``--payloads`` payloads (default 300) whose task sleeps
  ``--sleep-ms`` (default 50) and logs each call; a runner (``cirrus worker --until-empty``)
  is killed with SIGKILL ``--kills`` times (default 10), then one runs to the end. A task
  call is redundant when its payload had already been through that task, i.e. work a kill
  threw away. Also: duplicate announcements, and a check that every payload ended once;
- **peak memory** (max RSS of a fresh process) running one payload of 1k, 10k and 100k
  features (``--features``) through ``publish-only``, and the size of the publish log it
  leaves, beside the payload's own size;
- the pipeline's **payloads/s**, from ``benchmarks/pipeline_throughput.py`` (``--throughput``).

    python benchmarks/reliability.py [--payloads 300] [--kills 10] [--sleep-ms 50]
        [--features 1000,10000,100000] [--throughput] [--dir .bench-reliability] [--keep]

Run it with another cirrus on ``PYTHONPATH`` to compare versions.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

NAP_TASK = """
import os
import time
from typing import Any

from cirrus.task import Task


class Nap(Task):
    name = "nap"
    description = "sleeps, then logs the call"
    version = "1.0.0"

    def process(self, ms: float = 0, log: str = "", **kwargs: Any) -> list[dict[str, Any]]:
        time.sleep(ms / 1000)
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{self._payload.get('id')}\\n".encode())
        finally:
            os.close(fd)
        return self.items_as_dicts
"""

WORKFLOW = {
    "description": "one nap, then publish",
    "definition": {
        "StartAt": "nap",
        "States": {
            "nap": {"Type": "Task", "Resource": "cirrus:lambda:nap", "Next": "publish"},
            "publish": {"Type": "Task", "Resource": "cirrus:lambda:publish", "End": True},
        },
    },
}


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CIRRUS_"))}


def _cirrus(root: Path, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cirrus", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        env=_env(),
        **kwargs,  # type: ignore[arg-type]
    )


def _init(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
    root.parent.mkdir(parents=True, exist_ok=True)
    _cirrus(root.parent, "init", str(root))


# ---------------------------------------------------------------- kills


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def kill_loop(root: Path, payloads: int, kills: int, sleep_ms: float) -> None:
    _init(root)
    task = root / "tasks" / "nap"
    (task / "src" / "task").mkdir(parents=True)
    (task / "src" / "task" / "task.py").write_text(textwrap.dedent(NAP_TASK))
    (task / "definition.yml").write_text("description: naps\nlambda: {handler: task.handler}\n")
    (task / "README.md").write_text("# nap\n\nSleeps.\n")
    (root / "workflows" / "napping").mkdir(parents=True)
    (root / "workflows" / "napping" / "definition.yml").write_text(json.dumps(WORKFLOW))
    (root / "workflows" / "napping" / "README.md").write_text("# napping\n\nNaps.\n")
    log = root / "calls.log"
    with (root / "in.ndjson").open("w") as stream:
        for n in range(payloads):
            document = {
                "type": "FeatureCollection",
                "features": [{"type": "Feature", "id": f"p{n:05d}", "collection": "k"}],
                "process": [
                    {"workflow": "napping", "tasks": {"nap": {"ms": sleep_ms, "log": str(log)}}}
                ],
            }
            stream.write(json.dumps(document) + "\n")
    _cirrus(root, "process", "in.ndjson")
    step = payloads // (kills + 2)
    for kill in range(kills):
        runner = subprocess.Popen(
            [sys.executable, "-m", "cirrus", "worker", "--until-empty"],
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=_env(),
            start_new_session=True,
        )
        deadline = time.monotonic() + 300
        while len(_lines(log)) < (kill + 1) * step and runner.poll() is None:
            if time.monotonic() > deadline:
                raise SystemExit(f"no progress after kill {kill}")
            time.sleep(0.01)
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
        runner.wait()
    _cirrus(root, "worker", "--until-empty", timeout=900)
    calls = Counter(_lines(log))
    records = [json.loads(line) for line in _cirrus(root, "query").stdout.splitlines()]
    states = Counter(record["state"] for record in records)
    published = [json.loads(line) for line in _lines(root / ".cirrus" / "published.ndjson")]
    announced = Counter(line.get("id") or line["item"]["id"] for line in published)
    redundant = sum(calls.values()) - len(calls)
    print(
        f"{kills} kills over {payloads} payloads ({sleep_ms:g} ms task): "
        f"{redundant} redundant task calls, {redundant / kills:.1f} per kill; "
        f"{sum(announced.values()) - len(announced)} duplicate announcements"
    )
    once = states == {"SUCCEEDED": payloads} and len(calls) == payloads
    print(f"  every payload ended once: {'yes' if once else f'NO ({dict(states)})'}")


# ---------------------------------------------------------------- memory

MEMORY_RUN = """
import resource, sys, time
from cirrus.project import find_project
from cirrus.runtime import Pipeline
with Pipeline.for_project(find_project(explicit=sys.argv[1])) as pipeline:
    start = time.perf_counter()
    with open(sys.argv[2]) as stream:
        _, counts = pipeline.process_stream(stream)
    elapsed = time.perf_counter() - start
assert counts.get("succeeded") == 1, counts
print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def memory(root: Path, features: int) -> None:
    _init(root)
    source = root / "one.json"
    document = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "id": f"item-{n:07d}",
                "collection": "big",
                "geometry": None,
                "bbox": [0, 0, 1, 1],
                "properties": {"datetime": "2024-01-01T00:00:00Z"},
                "links": [],
                "assets": {},
            }
            for n in range(features)
        ],
        "process": [{"workflow": "publish-only"}],
    }
    source.write_text(json.dumps(document))
    del document
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_RUN, str(root), str(source)],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env=_env(),
    )
    if result.returncode != 0:
        print(f"{features:>7,} features: failed ({result.stderr.strip()[-300:]})")
        return
    elapsed, rss = result.stdout.split()
    log = root / ".cirrus" / "published.ndjson"
    print(
        f"{features:>7,} features: peak {int(rss) / 1024:7.0f} MiB in {float(elapsed):5.1f} s; "
        f"payload {source.stat().st_size / 2**20:6.1f} MiB, "
        f"publish log {log.stat().st_size / 2**20:7.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--payloads", type=int, default=300)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--sleep-ms", type=float, default=50)
    parser.add_argument("--features", default="1000,10000,100000")
    parser.add_argument("--throughput", action="store_true", help="also run the throughput one")
    parser.add_argument("--dir", default=".bench-reliability")
    parser.add_argument("--keep", action="store_true", help="keep the projects in --dir")
    args = parser.parse_args()
    base = Path(args.dir).absolute()
    if args.kills:
        kill_loop(base / "kills", args.payloads, args.kills, args.sleep_ms)
    for features in (int(n) for n in args.features.split(",") if n):
        memory(base / f"memory-{features}", features)
    if args.throughput:
        script = Path(__file__).with_name("pipeline_throughput.py")
        result = subprocess.run(
            [sys.executable, str(script), "--sample", "1", "--repeat", "3", "--dir", str(base)],
            capture_output=True,
            text=True,
            check=True,
        )
        print(result.stdout.splitlines()[1])
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
