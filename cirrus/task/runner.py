"""Running named tasks: lambda-type in a thread or a warm process, batch-type as a subprocess.

A :class:`TaskRunner` is given a way to find a task class by name, and each task's
:class:`~cirrus.task.limits.TaskSettings`; which names exist, and which Task state means
which task, is the project's business. Lambda-type tasks run in the calling thread, unless a
timeout, a memory limit or an environment of their own applies: then in a warm process of
their own (:mod:`cirrus.task.isolation`), stopped at their limits. Batch-type tasks run as
``python -m cirrus run task NAME URL --output URL_OUT`` in their own process, with the
payload passed by reference as on AWS Batch, their own error name and message reported back
through an error file, and their timeout, memory and retry attempts honoured as AWS Batch
does. A failure raises :class:`~cirrus.errors.TaskError` carrying the task's error name and
message; what tasks write goes to the log bound to the caller's context
(:mod:`cirrus.task.tasklog`).
"""

from __future__ import annotations

import collections
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from cirrus.errors import CirrusError, TaskError
from cirrus.storage import delete, join_url, read_json, write_bytes, write_json
from cirrus.task.children import RunningTask, registered, stop_overdue
from cirrus.task.cli import ERROR_FILE_ENV, LOG_PAYLOAD_ENV
from cirrus.task.interrupts import interrupted_by_user
from cirrus.task.invoke import describe_error, describe_exit, invoke_task
from cirrus.task.isolation import HostPool, task_process_env
from cirrus.task.limits import BATCH_OUT_OF_MEMORY, BATCH_TIMED_OUT, TaskSettings
from cirrus.task.results import remember_stored_result, store_result
from cirrus.task.tasklog import LogSink, StreamLog, current_scope, enter_task, leave_task

__all__ = ["BatchTaskFailed", "TaskRunner", "batch_output_url", "batch_urls"]

_STDERR_TAIL = 2000
logger = logging.getLogger(__name__)
_task_logger = logging.getLogger("cirrus.task")
_LEVELS = {
    name: getattr(logging, name) for name in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
}
# a line already in the log's form: time, level, task, payload id, text
_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\S+Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+ \S+ ")


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
        status_reason: why AWS Batch would have stopped the job (timeout, memory), or None.
    """

    def __init__(
        self,
        error: str,
        cause: str,
        *,
        log_url: str | None = None,
        exit_code: int | None = None,
        status_reason: str | None = None,
    ) -> None:
        super().__init__(error, cause)
        self.log_url = log_url
        self.exit_code = exit_code
        self.status_reason = status_reason


class TaskRunner:
    """Runs tasks by name.

    Args:
        find_class: the task class for a name (raises ``ConfigError`` for an unknown one).
        payload_root: where batch payloads are written (a temporary folder when None);
            also given to in-process tasks, for the payloads they pass by reference.
        data_root: root for relative ``path_template`` locations.
        project_root: the project a batch task's own process loads its task from.
        settings_of: a task's limits and environment by name (none when not given).
        environment: variables of every task (the project's), under each task's own. Tasks
            share them, so they are set in this process (once, before the first task runs
            here) and handed to the processes of tasks that run in their own.
    """

    def __init__(
        self,
        find_class: Callable[[str], type],
        payload_root: str | None = None,
        data_root: str | None = None,
        project_root: Path | None = None,
        *,
        settings_of: Callable[[str], TaskSettings | None] | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        self.find_class = find_class
        self.payload_root = payload_root
        self.data_root = data_root
        self.project_root = project_root
        self.settings_of = settings_of
        self.environment = dict(environment or {})
        self._environment_set = not self.environment
        self._classes: dict[str, type] = {}
        self._settings: dict[str, TaskSettings] = {}
        self._in_thread: dict[str, bool] = {}
        self._hosts: HostPool | None = None
        self._hosts_lock = threading.Lock()
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

    def settings(self, name: str) -> TaskSettings:
        """The task's limits and environment, looked up once."""
        settings = self._settings.get(name)
        if settings is None:
            found = self.settings_of(name) if self.settings_of is not None else None
            settings = self._settings[name] = found or TaskSettings(spec=name)
        return settings

    def run_lambda(self, name: str, event: Any, *, timeout: float | None = None) -> Any:
        """Run a lambda-type task; a failure raises TaskError with its name and message.

        It runs in this process unless a timeout or memory limit applies to it or it has an
        environment of its own; then in a warm process of its own (see
        :mod:`cirrus.task.isolation`), stopped at its deadline. The result comes back
        whole; :meth:`store_result` hands on one too big for a state.
        """
        # every lambda-type Task state of every payload comes through here: imports and
        # class lookups happen once, not per call (stactask tasks ignore the options)
        in_thread = self._in_thread.get(name)
        if in_thread is None:
            in_thread = self._in_thread[name] = not self.settings(name).needs_process
        if timeout is not None or not in_thread:
            return self._run_in_process(name, self.settings(name), event, timeout)
        task_class = self._classes.get(name) or self.task_class(name)
        if not self._environment_set:
            self._set_environment()
        token = enter_task(name)
        try:
            return invoke_task(task_class, event, **self._options)
        except Exception as err:
            error, cause = describe_error(err)
            _task_logger.error("%s: %s", error, cause, exc_info=err)
            raise TaskError(error, cause) from err
        except (SystemExit, KeyboardInterrupt) as err:
            if isinstance(err, KeyboardInterrupt) and interrupted_by_user(err):
                raise  # Ctrl-C: the pipeline stops, this payload is not to blame
            error, cause = describe_exit(err)
            _task_logger.error("%s: %s", error, cause, exc_info=err)
            raise TaskError(error, cause) from err
        finally:
            leave_task(token)

    def _set_environment(self) -> None:
        with self._hosts_lock:
            if not self._environment_set:
                os.environ.update(self.environment)
                self._environment_set = True

    def _run_in_process(
        self, name: str, settings: TaskSettings, event: Any, timeout: float | None
    ) -> Any:
        scope = current_scope()
        sink = scope.sink if scope is not None else _stderr_sink()
        limit = settings.lambda_timeout
        state_binds = timeout is not None and (limit is None or timeout <= limit)
        try:
            return self.hosts.call(
                name,
                settings.spec or name,
                event,
                self._options,
                sink=sink,
                environment={**self.environment, **settings.lambda_environment},
                timeout=timeout if state_binds else limit,
                memory_mb=settings.lambda_memory,
                execution=scope.execution if scope is not None else "",
            )
        except TaskError as err:
            if state_binds and err.error == "Sandbox.Timedout":
                # the Task state's TimeoutSeconds ran out first: the engine's error
                raise TaskError("States.Timeout", f"task {name!r} ran past {timeout} s") from err
            raise

    def store_result(self, output: Any) -> dict[str, str]:
        """Store a lambda-type task's result too big for a state; returns ``{"url": ...}``.

        What the task's Lambda function does on AWS (:mod:`cirrus.task.results`); the
        engine calls it for a result past :data:`~cirrus.task.results.MAX_RESULT_BYTES`.
        A failure to store is the task's failure.
        """
        try:
            return store_result(output, self._payload_root())
        except Exception as err:
            error, cause = describe_error(err)
            _task_logger.error("storing the result failed: %s: %s", error, cause)
            raise TaskError(error, cause) from err

    @property
    def hosts(self) -> HostPool:
        """The warm processes of tasks that run in a process of their own."""
        with self._hosts_lock:
            if self._hosts is None:
                self._hosts = HostPool()
            return self._hosts

    def close(self) -> None:
        """End the warm task processes."""
        with self._hosts_lock:
            hosts, self._hosts = self._hosts, None
        if hosts is not None:
            hosts.close()

    def run_batch(self, name: str, payload: Any, *, timeout: float | None = None) -> Any:
        """Run a task in its own process, passing the payload by reference.

        ``payload`` is a payload or a ``{"url", "url_out"?}`` reference; the result has the
        same form (a reference in, a reference out). The definition's ``batch`` settings
        apply: ``timeout`` (an attempt past it is stopped and not retried), ``memory``
        (stopped past it) and ``retry`` (attempts), as on AWS Batch. The process's stdout
        and stderr become the execution's log lines.

        Raises:
            BatchTaskFailed: the process failed; its stderr is kept beside the input.
        """
        settings = self._settings.get(name) or self.settings(name)
        by_reference = isinstance(payload, dict) and "url" in payload and "features" not in payload
        if by_reference:
            url = payload["url"]
            url_out = payload.get("url_out") or batch_output_url(url)
        else:
            url, url_out = batch_urls(self._payload_root(), payload.get("id"))
            write_json(url, payload)
        attempts = max(1, settings.batch_attempts)
        for attempt in range(1, attempts + 1):
            try:
                self._batch_attempt(name, settings, url, url_out, timeout)
                break
            except BatchTaskFailed as failed:
                if attempt == attempts or failed.status_reason == BATCH_TIMED_OUT:
                    raise  # AWS Batch never retries an attempt stopped at its timeout
                _task_logger.warning("attempt %d of %d failed: %s", attempt, attempts, failed)
        if by_reference:
            if not payload.get("url_out"):  # an output of the runner's own making
                remember_stored_result(url_out, beside=url)
            return {"url": url_out}
        output = read_json(url_out)
        # the copies were only for the crossing; a failed run keeps them for a look
        for transient in (url, url_out):
            delete(transient)
        return output

    def _batch_attempt(
        self, name: str, settings: TaskSettings, url: str, url_out: str, timeout: float | None
    ) -> None:
        scope = current_scope()
        sink = scope.sink if scope is not None else _stderr_sink()
        limit = settings.batch_timeout
        state_binds = timeout is not None and (limit is None or timeout <= limit)
        seconds = timeout if state_binds else limit
        with tempfile.TemporaryDirectory(prefix="cirrus-batch-") as scratch:
            error_file = Path(scratch) / "error.json"
            env = task_process_env({**self.environment, **settings.batch_environment})
            env[ERROR_FILE_ENV] = str(error_file)
            env[LOG_PAYLOAD_ENV] = sink.payload_id
            env["CIRRUS_LOG_LEVEL"] = logging.getLevelName(sink.level)
            if self.data_root:
                env.setdefault("CIRRUS_DATA_ROOT", self.data_root)
            command = [sys.executable, "-m", "cirrus", "run", "task"]
            if self.project_root is not None:
                command += ["--project", str(self.project_root)]
            command += [name, url, "--output", url_out]
            stop_overdue(scope.execution if scope is not None else "")
            process = subprocess.Popen(
                command,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
                start_new_session=True,
            )
            stderr_tail: collections.deque[str] = collections.deque(maxlen=400)
            readers = [
                threading.Thread(
                    target=_relay, args=(process.stdout, sink, name, "INFO", None), daemon=True
                ),
                threading.Thread(
                    target=_relay,
                    args=(process.stderr, sink, name, "WARNING", stderr_tail),
                    daemon=True,
                ),
            ]
            for reader in readers:
                reader.start()
            deadline = time.monotonic() + seconds if seconds is not None else None
            running = RunningTask(
                process,
                scope.execution if scope is not None else "",
                deadline,
                settings.batch_memory,
            )
            with registered(running):
                while process.poll() is None:
                    if running.check() is not None:
                        break
                    time.sleep(0.02)
                process.wait()
            for reader in readers:
                reader.join(5)
            for pipe in (process.stdout, process.stderr):
                if pipe is not None:
                    pipe.close()
            stderr = "".join(stderr_tail)
            status = process.returncode
            if running.stopped == "timeout":
                log_url = _keep_log(url, stderr)
                cause = f"batch task {name!r} ran longer than {seconds} seconds"
                if state_binds:
                    raise BatchTaskFailed("States.Timeout", cause, log_url=log_url)
                raise BatchTaskFailed(
                    "States.Timeout",
                    f"{BATCH_TIMED_OUT} ({cause})",
                    log_url=log_url,
                    exit_code=status,
                    status_reason=BATCH_TIMED_OUT,
                )
            if running.stopped == "memory":
                raise BatchTaskFailed(
                    "States.TaskFailed",
                    f"{BATCH_OUT_OF_MEMORY} (more than {settings.batch_memory} MB)",
                    log_url=_keep_log(url, stderr),
                    exit_code=status,
                    status_reason=BATCH_OUT_OF_MEMORY,
                )
            if running.stopped == "terminated":
                raise BatchTaskFailed("States.Aborted", f"batch task {name!r} was terminated")
            if status != 0:
                log_url = _keep_log(url, stderr)
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
                    f"{stderr[-_STDERR_TAIL:].strip()}",
                    log_url=log_url,
                    exit_code=status,
                )

    def _payload_root(self) -> str:
        if self.payload_root is None:
            self.payload_root = Path(tempfile.mkdtemp(prefix="cirrus-payloads-")).as_uri()
        return self.payload_root


def _stderr_sink() -> StreamLog:
    return StreamLog(sys.__stderr__ or sys.stderr)


def _relay(
    stream: IO[str],
    sink: LogSink,
    task: str,
    level: str,
    keep: collections.deque[str] | None,
) -> None:
    """Log a batch process's output stream line by line (lines in log form pass as they are)."""
    for raw in stream:
        if keep is not None:
            keep.append(raw)
        line = raw.rstrip("\n")
        found = _LINE.match(line)
        if found is not None:
            if _LEVELS[found.group(1)] >= sink.level:
                sink.add_formatted(line)
        else:
            sink.add(level, task, line)


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
