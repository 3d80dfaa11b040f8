"""Payloads per second through a 3-task workflow with full state tracking and storage.

Prints, for N payloads of one item each (default 10,000):

- the embedded pipeline (SQLite state, local payload and data stores, in-process engine);
- the limit: a bare loop calling the same three tasks in-process, no state, no storage;
- what users do today: each task run as its own process per payload (stactask style),
  measured on a sample and reported per payload.

Also prints peak memory (max RSS) of the pipeline run at N and N/4, to show it stays flat.

    python benchmarks/pipeline_throughput.py [--payloads 10000] [--processes 2] [--workers 4]
        [--task-work-ms 0] [--sample 20] [--repeat 1]

``--task-work-ms`` makes every task spend that much CPU time per call, to see how the
pipeline's fixed cost per payload compares with tasks that do real work. The machine's
speed varies from run to run; ``--repeat`` runs the pipeline several times and keeps the best.

``--against DIR`` compares with another checkout of cirrus (made with ``git worktree add DIR
<commit>``): each round runs that version's pipeline, then this one's, on the same project,
and the medians of the rounds and their ratio are printed::

    python benchmarks/pipeline_throughput.py --repeat 3 --against ../cirrus-before
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

TASKS = {
    "stamp": ("Stamps the item", 'item["properties"]["stamped"] = True'),
    "measure": ("Adds a size", 'item["properties"]["size"] = len(json.dumps(item))'),
    "tag": ("Tags the item", 'item["properties"]["tags"] = sorted({"a", "b", item["id"][-1]})'),
}

TASK_SOURCE = """
import json
import time
from typing import Any

from cirrus.task import Task


class {cls}(Task):
    name = "{name}"
    description = "{description}"
    version = "1.0.0"

    def process(self, **kwargs: Any) -> list[dict[str, Any]]:
        deadline = time.process_time() + WORK_SECONDS
        while time.process_time() < deadline:
            pass
        items = self.items_as_dicts
        for item in items:
            {body}
        return items


if __name__ == "__main__":
    {cls}.cli()
"""

WORKFLOW = """\
description: three tasks in a row
definition:
  StartAt: stamp
  States:
    stamp: {Type: Task, Resource: "cirrus:lambda:stamp", Next: measure}
    measure: {Type: Task, Resource: "cirrus:lambda:measure", Next: tag}
    tag: {Type: Task, Resource: "cirrus:lambda:tag", End: true}
"""


def make_project(root: Path, workers: int, processes: int, work_ms: float) -> None:
    """A project with the three tasks and the workflow."""
    subprocess.run(
        [sys.executable, "-m", "cirrus", "init", str(root)], check=True, capture_output=True
    )
    (root / "cirrus.yml").write_text(
        f"name: bench\nworkers: {workers}\nprocesses: {processes}\npublish_log: ''\n"
    )
    for name, (description, body) in TASKS.items():
        folder = root / "tasks" / name
        (folder / "src" / "task").mkdir(parents=True)
        (folder / "definition.yml").write_text(f"description: {description}\nlambda: {{}}\n")
        (folder / "README.md").write_text(f"# {name}\n\n{description}\n")
        source = TASK_SOURCE.format(cls=name.title(), name=name, description=description, body=body)
        source = source.replace("WORK_SECONDS", repr(work_ms / 1000))
        (folder / "src" / "task" / "task.py").write_text(textwrap.dedent(source))
    (root / "workflows" / "three").mkdir(parents=True)
    (root / "workflows" / "three" / "definition.yml").write_text(WORKFLOW)
    (root / "workflows" / "three" / "README.md").write_text("# three\n")


def payload(index: int) -> dict[str, object]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "stac_extensions": [],
                "id": f"item-{index:07d}",
                "collection": "bench",
                "geometry": None,
                "properties": {"datetime": "2024-01-01T00:00:00Z"},
                "links": [],
                "assets": {},
            }
        ],
        "process": [{"workflow": "three"}],
    }


def run_pipeline(root: Path, count: int, code_from: Path | None = None) -> tuple[float, int, float]:
    """Submit and drain ``count`` payloads in a fresh process (with the cirrus of the checkout
    ``code_from``, if given).

    Returns (seconds, max RSS KiB, CPU seconds of the process and its children): on a busy
    machine the CPU time is the steadier figure.
    """
    source = root / f"payloads-{count}.ndjson"
    with source.open("w") as stream:
        for index in range(count):
            stream.write(json.dumps(payload(index)) + "\n")
    code = textwrap.dedent(
        f"""
        import resource, sys, time
        from cirrus.project import find_project
        from cirrus.runtime import Pipeline
        project = find_project(explicit={str(root)!r})
        def cpu():
            own = resource.getrusage(resource.RUSAGE_SELF)
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
        with Pipeline.for_project(project) as pipeline:
            start, start_cpu = time.perf_counter(), cpu()
            with open({str(source)!r}) as stream:  # as cirrus process FILE --wait does
                _, counts = pipeline.process_stream(stream)
            elapsed, used = time.perf_counter() - start, cpu() - start_cpu
        assert counts.get("succeeded") == {count}, counts
        print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, used)
        """
    )
    env = dict(os.environ)
    if code_from is not None:  # its worker processes inherit the path too
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code_from), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False, env=env
    )
    if result.returncode != 0:
        raise SystemExit(f"pipeline run failed:\n{result.stderr[-3000:]}")
    elapsed, rss, used = result.stdout.split()
    return float(elapsed), int(rss), float(used)


def run_bare_loop(root: Path, count: int) -> float:
    """The same three tasks called in-process with no state or storage."""
    sys.path.insert(0, str(root))
    from cirrus.task.loader import load_task_class

    classes = [
        load_task_class(root / "tasks" / name / "src" / "task" / "task.py") for name in TASKS
    ]
    start = time.perf_counter()
    for index in range(count):
        data = payload(index)
        for task_class in classes:
            data = task_class.handler(data)  # type: ignore[attr-defined]
    return time.perf_counter() - start


def run_process_per_task(root: Path, sample: int) -> float:
    """Each task as its own process per payload, files in between (stactask style)."""
    work = root / "per-process"
    work.mkdir()
    start = time.perf_counter()
    for index in range(sample):
        current = work / f"{index}-in.json"
        current.write_text(json.dumps(payload(index)))
        for name in TASKS:
            output = work / f"{index}-{name}.json"
            script = root / "tasks" / name / "src" / "task" / "task.py"
            subprocess.run(
                [sys.executable, str(script), "run", str(current), "--output", str(output)],
                check=True,
                capture_output=True,
            )
            current = output
    return time.perf_counter() - start


def compare(root: Path, count: int, rounds: int, against: Path) -> None:
    """Run the pipeline of ``against`` and this one alternately; print medians and ratio."""
    rates: dict[str, list[float]] = {"before": [], "after": []}
    cpus: dict[str, list[float]] = {"before": [], "after": []}
    for attempt in range(max(rounds, 3)):
        for name, code_from in (("before", against.absolute()), ("after", None)):
            seconds, _, used = run_pipeline(root, count, code_from)
            (root / ".cirrus").rename(root / f".cirrus-{name}-{attempt}")
            rates[name].append(count / seconds)
            cpus[name].append(used / count * 1e6)
            print(
                f"  round {attempt + 1}, {name}: {count / seconds:,.0f} payloads/s",
                file=sys.stderr,
            )
    before, after = statistics.median(rates["before"]), statistics.median(rates["after"])
    print(
        f"before ({against}), median of {len(rates['before'])}: {before:10,.0f} payloads/s", end=""
    )
    print(f", {statistics.median(cpus['before']):,.0f} µs CPU per payload")
    print(f"after (this checkout), median:     {after:10,.0f} payloads/s", end="")
    print(f", {statistics.median(cpus['after']):,.0f} µs CPU per payload")
    print(f"after / before:                      {after / before:10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--payloads", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--workers", type=int, default=4, help="threads per process")
    parser.add_argument("--task-work-ms", type=float, default=0.0, help="CPU time per task call")
    parser.add_argument("--sample", type=int, default=20, help="payloads for the per-process run")
    parser.add_argument("--repeat", type=int, default=1, help="pipeline runs; the best counts")
    parser.add_argument("--dir", default=".bench", help="folder for the temporary project")
    parser.add_argument(
        "--against", type=Path, help="another checkout of cirrus to compare with (see above)"
    )
    args = parser.parse_args()
    if args.against is not None and not (args.against / "cirrus" / "__init__.py").is_file():
        raise SystemExit(
            f"--against {args.against}: no cirrus package there; give a checkout of cirrus, "
            "such as one made with: git worktree add ../cirrus-before <commit>"
        )
    for name in list(os.environ):
        if name.startswith("AWS_") or name.startswith("CIRRUS_"):
            del os.environ[name]
    # the project lives where projects live (here, not /tmp, which is a slower
    # filesystem on some machines); --dir picks another place
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cirrus-bench-", dir=args.dir) as folder:
        root = Path(folder).absolute() / "project"
        make_project(root, args.workers, args.processes, args.task_work_ms)
        small = max(1, args.payloads // 4)
        _, small_rss, _ = run_pipeline(root, small)
        (root / ".cirrus").rename(root / ".cirrus-small")
        runs = []
        for attempt in range(args.repeat):
            runs.append(run_pipeline(root, args.payloads))
            (root / ".cirrus").rename(root / f".cirrus-{attempt}")
        seconds, rss, _ = min(runs)
        cpu = min(used for _, _, used in runs)
        if args.against is not None:
            compare(root, args.payloads, args.repeat, args.against)
        bare = run_bare_loop(root, args.payloads)
        per_process = run_process_per_task(root, args.sample)
    pipeline_rate = args.payloads / seconds
    bare_rate = args.payloads / bare
    process_rate = args.sample / per_process
    print(
        f"payloads: {args.payloads}, one item each, 3 lambda-type tasks of "
        f"{args.task_work_ms:g} ms CPU each; processes={args.processes}, workers={args.workers}"
    )
    print(f"embedded pipeline (state + storage): {pipeline_rate:10,.0f} payloads/s")
    print(
        f"  CPU time per payload:              {cpu / args.payloads * 1e6:10,.0f} µs"
        f"  ({args.payloads / cpu:,.0f} payloads per CPU-second; steadier on a busy machine)"
    )
    print(f"bare in-process loop (the limit):    {bare_rate:10,.0f} payloads/s  (one core)")
    print(
        f"one process per task (today):        {process_rate:10,.1f} payloads/s"
        f"  (sample of {args.sample})"
    )
    print(
        f"pipeline / bare loop:                {pipeline_rate / bare_rate:10.2f}"
        "  (the loop keeps no state and stores nothing; --task-work-ms 0.1 shows tasks that work)"
    )
    print(f"pipeline / process per task:         {pipeline_rate / process_rate:10,.0f}x")
    print(
        f"peak memory of the main process: {small_rss / 1024:.0f} MiB at {small} payloads, "
        f"{rss / 1024:.0f} MiB at {args.payloads}"
    )


if __name__ == "__main__":
    main()
