"""Fixtures for the pipeline end-to-end tests: a real project in a temporary folder.

Every test gets its own copy of a project made by ``cirrus init`` with four tasks and
five workflows, and drives it through the ``cirrus`` command in real subprocesses or through
the library (``Pipeline``, ``Worker``), so the state database, work queue and stores are
real SQLite files and folders.

Tasks (all lambda-type, copied from ``tests/fixtures/tasks/`` to
``tasks/<name>/src/task/task.py``):

- ``stamp``: sets ``properties.stamped = true``; with ``sleep_ms`` it sleeps first, and with
  ``exec_log`` it appends the payload id to that file (``O_APPEND``, one write per run), so
  a test can count how often each payload was executed;
- ``maybe-fail``: raises ``RuntimeError("asked to fail <item id>")`` when an item has
  ``properties.fail`` set;
- ``check``: raises cirrus ``InvalidInput`` when an item has ``properties.invalid ==
  "cirrus"``, stactask's ``InvalidInput`` when it is ``"stactask"``;
- ``nap``: sleeps ``seconds``.

Workflows: ``three`` (stamp, maybe-fail, check, publish), ``stamp-only`` (stamp, publish),
``on-batch`` (stamp and maybe-fail as batch tasks, then publish), ``timeout`` (a state
machine with ``TimeoutSeconds: 1`` that waits 3 s) and ``task-timeout`` (a ``nap`` Task
state with ``TimeoutSeconds: 1``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cirrus.project import find_project
from cirrus.runtime import Pipeline, Worker
from cirrus.storage import ObjectStore, open_store

FIXTURE_TASKS = Path(__file__).parent.parent / "fixtures" / "tasks"
TASKS: dict[str, Path] = {
    "stamp": FIXTURE_TASKS / "stamp.py",
    "maybe-fail": FIXTURE_TASKS / "maybe_fail.py",
    "check": FIXTURE_TASKS / "check.py",
    "nap": FIXTURE_TASKS / "nap.py",
}
"""Task name -> its code, copied to ``tasks/<name>/src/task/task.py``."""


def _task_state(task: str, next_state: str | None) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Task", "Resource": f"cirrus:lambda:{task}"}
    if next_state is None:
        state["End"] = True
    else:
        state["Next"] = next_state
    return state


def _chain(tasks: Sequence[str]) -> dict[str, Any]:
    states = {
        task: _task_state(task, tasks[i + 1] if i + 1 < len(tasks) else None)
        for i, task in enumerate(tasks)
    }
    return {"StartAt": tasks[0], "States": states}


WORKFLOWS: dict[str, dict[str, Any]] = {
    "three": _chain(["stamp", "maybe-fail", "check", "publish"]),
    "stamp-only": _chain(["stamp", "publish"]),
    "on-batch": {
        "StartAt": "stamp",
        "States": {
            "stamp": {"Type": "Task", "Resource": "cirrus:batch:stamp", "Next": "check"},
            "check": {"Type": "Task", "Resource": "cirrus:batch:maybe-fail", "Next": "publish"},
            "publish": _task_state("publish", None),
        },
    },
    "timeout": {
        "TimeoutSeconds": 1,
        "StartAt": "wait",
        "States": {
            "wait": {"Type": "Wait", "Seconds": 3, "Next": "publish"},
            "publish": _task_state("publish", None),
        },
    },
    "task-timeout": {
        "StartAt": "nap",
        "States": {"nap": {**_task_state("nap", None), "TimeoutSeconds": 1}},
    },
}


def _write_project_files(root: Path) -> None:
    for name, code in TASKS.items():
        folder = root / "tasks" / name
        (folder / "src" / "task").mkdir(parents=True, exist_ok=True)
        # stamp and maybe-fail also run as batch tasks (a process of their own)
        batch = "batch:\n  vcpu: 1\n" if name in ("stamp", "maybe-fail") else ""
        (folder / "definition.yml").write_text(
            f'description: "{name} test task"\nlambda:\n  handler: task.handler\n{batch}'
        )
        shutil.copyfile(code, folder / "src" / "task" / "task.py")
        (folder / "README.md").write_text(f"# {name}\n\nA task of the runtime tests.\n")
    for name, definition in WORKFLOWS.items():
        folder = root / "workflows" / name
        folder.mkdir(parents=True, exist_ok=True)
        document = {"description": f"{name} test workflow", "definition": definition}
        # JSON is YAML: the definition is written exactly as built
        (folder / "definition.yml").write_text(json.dumps(document, indent=2))
        (folder / "README.md").write_text(f"# {name}\n\nA workflow of the runtime tests.\n")


@pytest.fixture(scope="session")
def project_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project made once by ``cirrus init``, with the test tasks and workflows added."""
    root = tmp_path_factory.mktemp("template") / "proj"
    result = subprocess.run(
        [sys.executable, "-m", "cirrus", "init", str(root)],
        capture_output=True,
        text=True,
        check=False,
        env=clean_env(),
    )
    assert result.returncode == 0, result.stderr
    _write_project_files(root)
    with (root / "cirrus.yml").open("a") as config:
        # short leases so a killed worker's payloads come back quickly
        config.write("lease_seconds: 2\nworkers: 2\n")
    return root


def clean_env() -> dict[str, str]:
    """The environment for subprocesses: no AWS or CIRRUS settings leak in."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "CIRRUS_", "COV_"))
    }
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


@dataclass
class Run:
    """A finished ``cirrus`` command."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """Stdout as one JSON document."""
        return json.loads(self.stdout)

    def ndjson(self) -> list[Any]:
        """Stdout as NDJSON."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


@dataclass
class Proj:
    """A test project and the ways to drive it."""

    root: Path

    def cirrus(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 120
    ) -> Run:
        """Run ``cirrus ARGS`` in the project folder; with ``check``, demand exit status 0."""
        result = subprocess.run(
            [sys.executable, "-m", "cirrus", *args],
            cwd=self.root,
            input=input,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            env=clean_env(),
        )
        run = Run(list(args), result.returncode, result.stdout, result.stderr)
        if check:
            assert result.returncode == 0, f"cirrus {' '.join(args)}: {result.stderr}"
        return run

    def popen(self, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
        """Start ``cirrus ARGS`` in the project folder without waiting."""
        return subprocess.Popen(
            [sys.executable, "-m", "cirrus", *args],
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(),
            **kwargs,
        )

    def write_payloads(self, payloads: Iterable[dict[str, Any]], name: str = "in.ndjson") -> Path:
        """Write payloads as NDJSON into the project folder."""
        path = self.root / name
        path.write_text("".join(json.dumps(p) + "\n" for p in payloads))
        return path

    @property
    def cirrus_dir(self) -> Path:
        """The embedded deployment's folder."""
        return self.root / ".cirrus"

    @property
    def payload_store(self) -> ObjectStore:
        """The embedded payload store (``.cirrus/payloads.db``)."""
        return open_store(self.payload_url())

    def payload_url(self, key: str = "") -> str:
        """The URL of a key of the payload store (of the store itself without one)."""
        root = f"sqlite://{(self.cirrus_dir / 'payloads.db').as_posix()}"
        return f"{root}/{key}" if key else root

    def stored(self, prefix: str) -> dict[str, Any]:
        """The payload store's JSON objects under ``prefix``, by key below it.

        Other objects (the kept log of a failed batch task) are in :meth:`stored_text`.
        """
        store = self.payload_store
        keys = [key for key in store.list(prefix) if key.endswith(".json")]
        return {key[len(prefix) + 1 :]: json.loads(store.get(key)) for key in keys}

    def stored_text(self, prefix: str, suffix: str) -> dict[str, str]:
        """The payload store's objects under ``prefix`` ending in ``suffix``, as text."""
        store = self.payload_store
        keys = [key for key in store.list(prefix) if key.endswith(suffix)]
        return {key[len(prefix) + 1 :]: store.get(key).decode() for key in keys}

    @property
    def published(self) -> list[dict[str, Any]]:
        """Every line of the publish log."""
        path = self.cirrus_dir / "published.ndjson"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def records(self, *filters: str) -> dict[str, dict[str, Any]]:
        """State records from ``cirrus query FILTERS``, by payload id."""
        return {r["payload_id"]: r for r in self.cirrus("query", *filters).ndjson()}

    def execution_names(self, payload_id: str) -> list[str]:
        """The executions that stored something for a payload."""
        return sorted({key.split("/")[0] for key in self.stored(f"executions/{payload_id}")})

    def outputs(self, payload_id: str) -> list[Any]:
        """Every output payload stored for a payload."""
        stored = self.stored(f"executions/{payload_id}")
        return [value for key, value in sorted(stored.items()) if key.endswith("/output.json")]


@pytest.fixture
def proj(project_template: Path, tmp_path: Path) -> Iterator[Proj]:
    """A fresh copy of the test project."""
    root = tmp_path / "proj"
    shutil.copytree(project_template, root)
    yield Proj(root)


def add_workflow(proj: Proj, name: str, states: list[tuple[str, str]]) -> None:
    """A workflow of Task states ``(name, resource)`` run one after the other."""
    folder = proj.root / "workflows" / name
    folder.mkdir(parents=True, exist_ok=True)
    definition: dict[str, Any] = {"StartAt": states[0][0], "States": {}}
    for index, (state, resource) in enumerate(states):
        step: dict[str, Any] = {"Type": "Task", "Resource": resource}
        if index + 1 < len(states):
            step["Next"] = states[index + 1][0]
        else:
            step["End"] = True
        definition["States"][state] = step
    document = {"description": f"{name} workflow", "definition": definition}
    (folder / "definition.yml").write_text(json.dumps(document))
    (folder / "README.md").write_text(f"# {name}\n")


def item(item_id: str, collection: str = "test", **properties: Any) -> dict[str, Any]:
    """A small STAC item."""
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": item_id,
        "collection": collection,
        "geometry": {"type": "Point", "coordinates": [10.0, 50.0]},
        "bbox": [10.0, 50.0, 10.0, 50.0],
        "properties": {"datetime": "2024-01-01T00:00:00Z", **properties},
        "links": [],
        "assets": {},
    }


def payload(
    *items: dict[str, Any],
    workflow: str = "three",
    tasks: dict[str, Any] | None = None,
    chain: Sequence[Any] = (),
    **options: Any,
) -> dict[str, Any]:
    """A payload running ``workflow`` on ``items``, then the ``chain`` links."""
    first: dict[str, Any] = {
        "workflow": workflow,
        "upload_options": {"path_template": "${collection}/${id}"},
        "tasks": tasks or {},
        **options,
    }
    return {"type": "FeatureCollection", "features": list(items), "process": [first, *chain]}


def payload_id(item_id: str, workflow: str = "three", collection: str = "test") -> str:
    """The id cirrus gives a one-item payload."""
    return f"{collection}/workflow-{workflow}/{item_id}"


# ---------------------------------------------------------------- driving the library


@pytest.fixture
def open_pipeline(proj: Proj) -> Iterator[Callable[..., Pipeline]]:
    """Opens pipelines on the test project (settings changed by keywords); closes them all."""
    opened: list[Pipeline] = []

    def make(**overrides: Any) -> Pipeline:
        pipeline = Pipeline.for_project(find_project(explicit=proj.root), time_scale=0, **overrides)
        opened.append(pipeline)
        return pipeline

    yield make
    for pipeline in opened:
        pipeline.close()


class Standin:
    """A backend (state database, work queue) with some of its methods replaced.

    The worker takes its backends as constructor arguments; handing it a stand-in there makes
    one step fail, or happen at a chosen moment, without reaching into the worker::

        queue = Standin(pipeline.queue, delete_many=crash)
        run_worker(pipeline, queue=queue)

    Every other attribute is the real backend's.
    """

    def __init__(self, backend: Any, **methods: Callable[..., Any]) -> None:
        self._backend = backend
        self._methods = methods

    def __getattr__(self, name: str) -> Any:
        method = self._methods.get(name)
        return method if method is not None else getattr(self._backend, name)


def run_worker(
    pipeline: Pipeline,
    *,
    state_db: Any = None,
    queue: Any = None,
    stop: threading.Event | None = None,
    more_coming: Callable[[], bool] | None = None,
    **settings: Any,
) -> Counter[str]:
    """Drain the pipeline's queue with one worker, on stand-ins for the backends if given.

    ``stop`` and ``more_coming`` are passed to :meth:`Worker.run`; ``settings`` change the
    pipeline's settings for this worker.

    Returns:
        How many payloads ended each way.
    """
    worker = Worker(
        pipeline.settings.with_changes(**settings),
        pipeline.project,
        state_db=state_db or pipeline.db,
        queue=queue or pipeline.queue,
    )
    try:
        return worker.run(until_empty=True, stop=stop, more_coming=more_coming)
    finally:
        worker.close()


def logged(log: Path, **stamp: Any) -> dict[str, Any]:
    """Task options making ``stamp`` log each execution's payload id to ``log``."""
    return {"stamp": {"exec_log": str(log), **stamp}}


def runs(log: Path) -> list[str]:
    """The payload ids ``stamp`` logged, one per execution."""
    return log.read_text().splitlines() if log.exists() else []
