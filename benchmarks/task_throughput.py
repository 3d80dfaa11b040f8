"""A small task on cirrus.task.Task against the same task on stactask.Task.

Prints three comparisons on one payload (a FeatureCollection of a few items):

- in-process calls per second through ``Task.handler`` (the Lambda entry);
- start-up time of ``python task.py run payload.json --output out.json`` as a fresh process
  (the Batch entry), median of ``--runs`` runs, beside a bare ``python -c pass``; with a
  bytecode cache (as after ``pip install``) and without one (a checkout run with
  ``PYTHONDONTWRITEBYTECODE=1``, where installed packages such as stactask keep theirs);
- import cost (``python -X importtime``) of ``import cirrus``, ``import cirrus.task`` and
  ``import stactask``, and the heaviest imports of each task's command-line run.

The task files, the payload, the bytecode cache and both classes' temporary folders
(``TMPDIR``) all live under ``./.bench/task_throughput``::

    .venv/bin/python benchmarks/task_throughput.py [--runs 10] [--seconds 1.5] [--items 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

WORKSPACE = Path(".bench") / "task_throughput"
FLAVOURS = {"cirrus": "cirrus.task", "stactask": "stactask"}
"""Task flavour -> the module its ``Task`` class comes from."""

TASK_SOURCE = """\
from typing import Any

from {module} import Task


class AddTitle(Task):
    name = "add-title"
    description = "Adds a title to each item"
    version = "1.0.0"

    def process(self, title: str = "untitled", **kwargs: Any) -> list[dict[str, Any]]:
        items = self.items_as_dicts
        for item in items:
            item["properties"]["title"] = title
        return items


if __name__ == "__main__":
    AddTitle.cli()
"""

Variant = tuple[list[str], dict[str, str]]
"""A fresh-process measurement: command and environment."""
ImportRow = tuple[int, int, str]
"""One ``-X importtime`` line: self µs, cumulative µs, indented module name."""


def make_payload(items: int) -> dict[str, Any]:
    """A payload of ``items`` minimal STAC items whose process block sets the title."""
    return {
        "type": "FeatureCollection",
        "id": "bench/workflow-title/items",
        "features": [
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "stac_extensions": [],
                "id": f"item-{index}",
                "collection": "bench",
                "geometry": None,
                "properties": {"datetime": "2024-01-01T00:00:00Z"},
                "links": [],
                "assets": {},
            }
            for index in range(items)
        ],
        "process": [{"workflow": "title", "tasks": {"add-title": {"title": "benchmarked"}}}],
    }


def prepare(items: int) -> dict[str, Path]:
    """Write both task files and the payload; return their paths."""
    (WORKSPACE / "tmp").mkdir(parents=True, exist_ok=True)
    paths = {}
    for flavour, module in FLAVOURS.items():
        paths[flavour] = WORKSPACE / f"{flavour}_task.py"
        paths[flavour].write_text(TASK_SOURCE.format(module=module))
    paths["payload"] = WORKSPACE / "payload.json"
    paths["payload"].write_text(json.dumps(make_payload(items)))
    return paths


def check_output(output: dict[str, Any]) -> None:
    if not all(f["properties"]["title"] == "benchmarked" for f in output["features"]):
        raise SystemExit(f"the task did not set the title: {json.dumps(output)[:300]}")


# --------------------------------------------------------------------------- (a) in-process


def load_task(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.AddTitle


def calls_per_second(call: Callable[[], Any], seconds: float) -> float:
    """Best of three rounds of ``seconds / 3`` each (other work on the machine adds noise)."""
    best = 0.0
    for _ in range(3):
        count, start = 0, time.perf_counter()
        deadline = start + seconds / 3
        now = start
        while now < deadline:
            call()
            count += 1
            now = time.perf_counter()
        best = max(best, count / (now - start))
    return best


def in_process(paths: dict[str, Path], seconds: float) -> dict[str, float]:
    """Handler calls per second per flavour, each call on a fresh copy of the payload."""
    text = paths["payload"].read_text()
    rates = {"json.loads only": calls_per_second(lambda: json.loads(text), seconds)}
    for flavour in FLAVOURS:
        handler = load_task(paths[flavour]).handler
        check_output(handler(json.loads(text)))
        rates[flavour] = calls_per_second(lambda: handler(json.loads(text)), seconds)  # noqa: B023
    return rates


# --------------------------------------------------------------------------- (b) start-up


def environments() -> dict[str, dict[str, str]]:
    """Environments with a bytecode cache under ``.bench`` ("pyc") and without ("no .pyc")."""
    base = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
    }
    base["TMPDIR"] = str((WORKSPACE / "tmp").resolve())
    return {
        "pyc": {**base, "PYTHONPYCACHEPREFIX": str((WORKSPACE / "pycache").resolve())},
        "no .pyc": {**base, "PYTHONDONTWRITEBYTECODE": "1"},
    }


def start_up_variants(paths: dict[str, Path]) -> dict[str, Variant]:
    """Label -> (command, environment) of every fresh-process measurement."""
    envs = environments()
    variants = {"python -c pass": ([sys.executable, "-c", "pass"], envs["pyc"])}
    for mode in envs:
        for flavour in FLAVOURS:
            out = WORKSPACE / f"{flavour}-out.json"
            command = [sys.executable, str(paths[flavour]), "run", str(paths["payload"])]
            variants[f"{flavour} ({mode})"] = ([*command, "--output", str(out)], envs[mode])
    return variants


def timed_run(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{proc.stderr}")
    return elapsed


def start_up(variants: dict[str, Variant], runs: int) -> dict[str, list[float]]:
    """Wall seconds of fresh processes, the variants interleaved so load drifts hit all alike."""
    for command, env in variants.values():  # fill the bytecode and page caches first
        timed_run(command, env)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(runs):
        for name, (command, env) in variants.items():
            times[name].append(timed_run(command, env))
    for flavour in FLAVOURS:
        check_output(json.loads((WORKSPACE / f"{flavour}-out.json").read_text()))
    return times


# --------------------------------------------------------------------------- (c) imports


def import_rows(command: list[str], env: dict[str, str]) -> list[ImportRow]:
    """``-X importtime`` rows of what ``command`` imports after interpreter start-up."""
    proc = subprocess.run(
        [command[0], "-X", "importtime", *command[1:]],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows: list[ImportRow] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = line[len("import time:") :].split("|")
        if name == " site":  # everything so far is interpreter start-up, common to all
            rows = []
            continue
        rows.append((int(own), int(cumulative), name.rstrip()))
    return rows


def depth(name: str) -> int:
    return (len(name) - len(name.lstrip()) - 1) // 2


def total_ms(rows: list[ImportRow]) -> float:
    """Milliseconds of all outermost imports together."""
    return sum(cumulative for _, cumulative, name in rows if depth(name) == 0) / 1000


def import_cost(module: str, rounds: int, env: dict[str, str]) -> tuple[float, float]:
    """Median and lowest milliseconds ``import module`` takes after interpreter start-up."""
    command = [sys.executable, "-c", f"import {module}"]
    costs = [total_ms(import_rows(command, env)) for _ in range(rounds)]
    return statistics.median(costs), min(costs)


def heaviest(rows: list[ImportRow], count: int) -> list[tuple[float, float, str]]:
    """Top-level packages and cirrus/stactask modules by cumulative ms: (self, cum, name)."""
    best: dict[str, tuple[float, float, str]] = {}
    for own, cumulative, name in rows:
        bare = name.strip()
        if "." in bare and not bare.startswith(("cirrus.", "stactask.")):
            continue
        if bare not in best or best[bare][1] < cumulative / 1000:
            best[bare] = (own / 1000, cumulative / 1000, "  " * depth(name) + bare)
    return sorted(best.values(), key=lambda row: -row[1])[:count]


# --------------------------------------------------------------------------- report


def show(part: str) -> str:
    return os.path.relpath(part) if "/" in part else part


def report_in_process(rates: dict[str, float]) -> None:
    print("(a) in-process: AddTitle.handler(json.loads(payload)) in a loop, best of 3 rounds")
    print(f"    {'variant':<18}{'calls/s':>12}{'µs/call':>12}")
    for name, rate in rates.items():
        print(f"    {name:<18}{rate:>12,.0f}{1e6 / rate:>12.1f}")
    print(f"    cirrus / stactask: {rates['cirrus'] / rates['stactask']:.1f}x\n")


def report_start_up(variants: dict[str, Variant], times: dict[str, list[float]]) -> None:
    median = {name: statistics.median(values) * 1000 for name, values in times.items()}
    runs = len(next(iter(times.values())))
    print(f"(b) start-up: fresh process, median of {runs} runs (min-max)")
    print(f"    {'variant':<22}{'median ms':>10}{'range ms':>14}")
    for name, values in times.items():
        low, high = min(values) * 1000, max(values) * 1000
        print(f"    {name:<22}{median[name]:>10.0f}{f'{low:.0f}-{high:.0f}':>14}")
    base = median["python -c pass"]
    for mode in environments():
        ours, theirs = median[f"cirrus ({mode})"] - base, median[f"stactask ({mode})"] - base
        print(
            f"    above bare python ({mode}): cirrus {ours:.0f} ms, stactask {theirs:.0f} ms "
            f"({theirs / max(ours, 1e-9):.1f}x)"
        )
    print("    commands:")
    for flavour in FLAVOURS:
        print(f"      {' '.join(show(part) for part in variants[f'{flavour} (pyc)'][0])}")
    print(
        f"      pyc: PYTHONPYCACHEPREFIX={show(str(WORKSPACE / 'pycache'))}; "
        "no .pyc: PYTHONDONTWRITEBYTECODE=1\n"
    )


def report_imports(variants: dict[str, Variant], rounds: int, top: int) -> None:
    env = environments()["pyc"]
    python = show(sys.executable)
    print(f"(c) import cost after interpreter start-up (pyc), {rounds} runs")
    print(f"    {'import':<16}{'median ms':>10}{'min ms':>8}   command")
    for module in ("cirrus", "cirrus.task", "stactask"):
        median, lowest = import_cost(module, rounds, env)
        print(
            f"    {module:<16}{median:>10.1f}{lowest:>8.1f}   "
            f"{python} -X importtime -c 'import {module}'"
        )
    for flavour in FLAVOURS:
        command = variants[f"{flavour} (pyc)"][0]
        rows = import_rows(command, env)
        print(
            f"\n    heaviest imports of the {flavour} task run: {len(rows)} modules, "
            f"{total_ms(rows):.0f} ms in all ({python} -X importtime {show(command[1])} run ...)"
        )
        print(f"      {'self ms':>7} {'cum ms':>8}  module")
        for own, cumulative, name in heaviest(rows, top):
            print(f"      {own:>7.1f} {cumulative:>8.1f}  {name}")
    print("\n    (-X importtime adds overhead of its own, so these read higher than in (b))")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="fresh processes per variant")
    parser.add_argument("--seconds", type=float, default=1.5, help="in-process time per task")
    parser.add_argument("--items", type=int, default=5, help="items in the payload")
    parser.add_argument("--top", type=int, default=12, help="heaviest imports to list")
    args = parser.parse_args()

    paths = prepare(args.items)
    # stactask makes a work directory per call: keep it off a slow /tmp (TMPDIR does the same
    # for the fresh processes)
    tempfile.tempdir = str((WORKSPACE / "tmp").resolve())
    print(
        f"payload: {show(str(paths['payload']))} ({args.items} items); "
        f"python: {show(sys.executable)} {sys.version.split()[0]}\n"
    )
    report_in_process(in_process(paths, args.seconds))
    variants = start_up_variants(paths)
    report_start_up(variants, start_up(variants, args.runs))
    report_imports(variants, min(args.runs, 5), args.top)


if __name__ == "__main__":
    main()
