"""Running named tasks: in-process (lambda) or as a subprocess (batch).

A :class:`TaskRunner` is given a way to find a task class by name; which names exist, and
which Task state means which task, is the project's business. Lambda-type tasks run in this
process; batch-type tasks run as ``python -m cirrus run task NAME URL --output URL_OUT`` in
their own process, with the payload passed by reference as on AWS Batch, and their own error
name and message reported back through an error file. A failure raises
:class:`~cirrus.errors.TaskError` carrying the task's error name and message.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cirrus.errors import CirrusError, TaskError
from cirrus.storage import delete, join_url, read_json, write_bytes, write_json
from cirrus.task.cli import ERROR_FILE_ENV
from cirrus.task.invoke import describe_error, invoke_task

__all__ = ["BatchTaskFailed", "TaskRunner", "batch_output_url", "batch_urls"]

_STDERR_TAIL = 2000
logger = logging.getLogger(__name__)


def batch_urls(payload_root: str, payload_id: str | None) -> tuple[str, str]:
    """Input and output URLs for a payload handed to a batch task.

    ``<payload root>/tmp/batch/<payload id>/<uuid>.json`` and the same with ``_out``.
    """
    name = uuid.uuid4().hex
    folder = join_url(payload_root, "tmp", "batch", payload_id or "no-id")
    url = f"{folder}/{name}.json"
    return url, batch_output_url(url)


def batch_output_url(url: str) -> str:
    """Where a batch task given ``url`` writes its output when told nothing else.

    The stactask convention: ``_out`` before ``.json`` (``a/b.json`` -> ``a/b_out.json``).
    """
    return url.removesuffix(".json") + "_out.json"


def _log_url(url: str) -> str:
    return url.removesuffix(".json") + ".log"


class BatchTaskFailed(TaskError):
    """A batch task's process failed.

    Attributes:
        error: the task's own error name (``States.TaskFailed`` when it reported none).
        cause: its message.
        log_url: where the process's stderr is kept, or None when it was not kept.
        exit_code: the process's exit status.
    """

    def __init__(
        self, error: str, cause: str, *, log_url: str | None = None, exit_code: int | None = None
    ) -> None:
        super().__init__(error, cause)
        self.log_url = log_url
        self.exit_code = exit_code


class TaskRunner:
    """Runs tasks by name.

    Args:
        find_class: the task class for a name (raises ``ConfigError`` for an unknown one).
        payload_root: where batch payloads are written (a temporary folder when None);
            also given to in-process tasks, for the payloads they pass by reference.
        data_root: root for relative ``path_template`` locations.
        project_root: the project a batch task's own process loads its task from.
    """

    def __init__(
        self,
        find_class: Callable[[str], type],
        payload_root: str | None = None,
        data_root: str | None = None,
        project_root: Path | None = None,
    ) -> None:
        self.find_class = find_class
        self.payload_root = payload_root
        self.data_root = data_root
        self.project_root = project_root
        self._classes: dict[str, type] = {}
        self._options = {
            key: value
            for key, value in (("data_root", data_root), ("payload_root", payload_root))
            if value
        }

    def task_class(self, name: str) -> type:
        """The task's class, looked up once."""
        if name not in self._classes:
            self._classes[name] = self.find_class(name)
        return self._classes[name]

    def run_lambda(self, name: str, event: Any, *, timeout: float | None = None) -> Any:
        """Run a task in this process; a failure raises TaskError with its name and message."""
        # every lambda-type Task state of every payload comes through here: imports and
        # class lookups happen once, not per call (stactask tasks ignore the options)
        task_class = self._classes.get(name) or self.task_class(name)
        try:
            return invoke_task(task_class, event, **self._options)
        except Exception as err:
            error, cause = describe_error(err)
            raise TaskError(error, cause) from err

    def run_batch(self, name: str, payload: Any, *, timeout: float | None = None) -> Any:
        """Run a task in its own process, passing the payload by reference.

        ``payload`` is a payload or a ``{"url", "url_out"?}`` reference; the result has the
        same form (a reference in, a reference out).

        Raises:
            BatchTaskFailed: the process failed; its stderr is kept beside the input.
            TaskError: ``States.Timeout`` when it ran out of time.
        """
        by_reference = isinstance(payload, dict) and "url" in payload and "features" not in payload
        if by_reference:
            url = payload["url"]
            url_out = payload.get("url_out") or batch_output_url(url)
        else:
            url, url_out = batch_urls(self._payload_root(), payload.get("id"))
            write_json(url, payload)
        with tempfile.TemporaryDirectory(prefix="cirrus-batch-") as scratch:
            error_file = Path(scratch) / "error.json"
            env = {**os.environ, ERROR_FILE_ENV: str(error_file)}
            if self.data_root:
                env.setdefault("CIRRUS_DATA_ROOT", self.data_root)
            command = [sys.executable, "-m", "cirrus", "run", "task"]
            if self.project_root is not None:
                command += ["--project", str(self.project_root)]
            command += [name, url, "--output", url_out]
            try:
                finished = subprocess.run(
                    command, env=env, capture_output=True, text=True, timeout=timeout, check=False
                )
            except subprocess.TimeoutExpired as err:
                raise TaskError(
                    "States.Timeout", f"batch task {name!r} ran longer than {timeout} seconds"
                ) from err
            if finished.returncode != 0:
                log_url = _keep_log(url, finished.stderr)
                status = finished.returncode
                if error_file.exists():
                    reported = json.loads(error_file.read_text())
                    raise BatchTaskFailed(
                        str(reported["error"]),
                        str(reported["cause"]),
                        log_url=log_url,
                        exit_code=status,
                    )
                raise BatchTaskFailed(
                    "States.TaskFailed",
                    f"batch task {name!r} exited with status {status}: "
                    f"{finished.stderr[-_STDERR_TAIL:].strip()}",
                    log_url=log_url,
                    exit_code=status,
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


def _keep_log(url: str, stderr: str) -> str | None:
    """Keep a failed batch process's stderr beside its input; its URL, or None if it failed.

    As on AWS Batch, where the container's output is a CloudWatch log stream that
    ``post-batch`` reads the error from.
    """
    log_url = _log_url(url)
    try:
        write_bytes(log_url, stderr.encode(), content_type="text/plain; charset=utf-8")
    except CirrusError:
        logger.warning("could not keep the log of a failed batch task at %s", log_url)
        return None
    return log_url
