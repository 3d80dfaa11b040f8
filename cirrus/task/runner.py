"""Running named tasks for the workflow engine: in-process (lambda) or as a subprocess (batch).

The engine calls a :class:`LocalTaskRunner` for every Task state. Lambda-type tasks run in
this process; batch-type tasks run as ``python -m cirrus run task NAME URL --output URL_OUT``
in their own process, with the payload passed by reference as on AWS Batch, and their own
error name and message reported back through an error file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cirrus.task.cli import ERROR_FILE_ENV
from cirrus.task.invoke import describe_error, invoke_task

if TYPE_CHECKING:
    from cirrus.project import Project

__all__ = ["LocalTaskRunner", "batch_urls"]

_STDERR_TAIL = 2000


def batch_urls(payload_root: str, payload_id: str | None) -> tuple[str, str]:
    """Input and output URLs for a payload handed to a batch task.

    ``<payload root>/tmp/batch/<payload id>/<uuid>.json`` and the same with ``_out``.
    """
    from cirrus.storage import join_url

    name = uuid.uuid4().hex
    folder = join_url(payload_root, "tmp", "batch", payload_id or "no-id")
    return f"{folder}/{name}.json", f"{folder}/{name}_out.json"


class LocalTaskRunner:
    """Finds tasks by name (project, built-in, plugin) and runs them.

    Args:
        project: project whose tasks are visible; found from the working directory when None.
        payload_root: where batch payloads are written; the project's payload root, or a
            temporary folder, when None.
        data_root: root for relative ``path_template`` locations.
    """

    def __init__(
        self,
        project: Project | None = None,
        payload_root: str | None = None,
        data_root: str | None = None,
        *,
        find: bool = True,
    ) -> None:
        if project is None and find:
            try:
                from cirrus.project import find_project

                project = find_project()
            except ImportError:
                project = None
        self.project = project
        config = project.config if project is not None else None
        self.payload_root = payload_root or (config.payload_root if config else None)
        self.data_root = data_root or (config.data_root if config else None)
        self._classes: dict[str, type] = {}

    @cached_property
    def _names(self) -> dict[str, frozenset[str]]:
        from cirrus.task.registry import builtin_task_names

        names: dict[str, frozenset[str]] = {
            name: frozenset({"lambda", "batch"}) for name in builtin_task_names()
        }
        if self.project is not None:
            for name, component in self.project.tasks().items():
                names[name] = frozenset(component.types) or frozenset({"lambda"})
        return names

    def has_task(self, name: str) -> bool:
        """Whether a task of that name exists."""
        return name in self._names

    def task_types(self, name: str) -> set[str]:
        """How the task may run: ``lambda``, ``batch`` or both."""
        return set(self._names.get(name, ()))

    def task_class(self, name: str) -> type:
        """The task's class, imported once."""
        if name not in self._classes:
            from cirrus.task.registry import resolve_task

            self._classes[name] = resolve_task(name, self.project)
        return self._classes[name]

    def run_lambda(self, name: str, event: Any, *, timeout: float | None = None) -> Any:
        """Run a task in this process; failures become the engine's TaskFailure."""
        # every lambda-type Task state of every payload comes through here: imports and
        # class lookups happen once, not per call (stactask tasks ignore ``data_root``)
        task_class = self._classes.get(name) or self.task_class(name)
        try:
            if self.data_root:
                return invoke_task(task_class, event, data_root=self.data_root)
            return invoke_task(task_class, event)
        except Exception as err:
            from cirrus.engine import TaskFailure

            error, cause = describe_error(err)
            raise TaskFailure(error, cause) from err

    def run_batch(self, name: str, payload: Any, *, timeout: float | None = None) -> Any:
        """Run a task in its own process, passing the payload by reference.

        ``payload`` is a payload or a ``{"url", "url_out"?}`` reference; the result has the
        same form (a reference in, a reference out).
        """
        from cirrus.engine import TaskFailure
        from cirrus.storage import delete, read_json, write_json

        by_reference = isinstance(payload, dict) and "url" in payload and "features" not in payload
        if by_reference:
            url = payload["url"]
            url_out = payload.get("url_out") or url.removesuffix(".json") + "_out.json"
        else:
            url, url_out = batch_urls(self._payload_root(), payload.get("id"))
            write_json(url, payload)
        with tempfile.TemporaryDirectory(prefix="cirrus-batch-") as scratch:
            error_file = Path(scratch) / "error.json"
            env = {**os.environ, ERROR_FILE_ENV: str(error_file)}
            if self.data_root:
                env.setdefault("CIRRUS_DATA_ROOT", self.data_root)
            command = [sys.executable, "-m", "cirrus", "run", "task"]
            if self.project is not None:
                command += ["--project", str(self.project.root)]
            command += [name, url, "--output", url_out]
            try:
                finished = subprocess.run(
                    command, env=env, capture_output=True, text=True, timeout=timeout, check=False
                )
            except subprocess.TimeoutExpired as err:
                raise TaskFailure(
                    "States.Timeout", f"batch task {name!r} ran longer than {timeout} seconds"
                ) from err
            if finished.returncode != 0:
                if error_file.exists():
                    reported = json.loads(error_file.read_text())
                    raise TaskFailure(str(reported["error"]), str(reported["cause"]))
                raise TaskFailure(
                    "States.TaskFailed",
                    f"batch task {name!r} exited with status {finished.returncode}: "
                    f"{finished.stderr[-_STDERR_TAIL:].strip()}",
                )
        if by_reference:
            return {"url": url_out}
        output = read_json(url_out)
        # the copies were only for the crossing; a failed run keeps them for a look
        for transient in (url, url_out):
            delete(transient)
        return output

    def _payload_root(self) -> str:
        if self.payload_root is None:
            self.payload_root = Path(tempfile.mkdtemp(prefix="cirrus-payloads-")).as_uri()
        return self.payload_root
