"""Task resolvers for engine tests: Python callables, and real subprocesses for batch.

A Task state names a function (``Resource: work``, a function ARN, ``FunctionName``) or a
job definition; the engine hands that name to the resolver, which runs a Python callable.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cirrus.engine import (
    FUNCTION_ARN,
    ResourceError,
    StateMachine,
    TargetKind,
    TaskFailure,
    TaskHandler,
    TaskTarget,
    run_execution,
)
from cirrus.engine.results import ExecutionResult


class FakeTaskRunner:
    """Resolves names to Python callables; exceptions become TaskFailure(class, message).

    Lambda callables run for function names (plain or in an ARN); batch callables for
    job definitions (a name, ``name:revision`` or an ARN) and for plain names too.
    """

    def __init__(
        self,
        lambdas: dict[str, Callable[[Any], Any]] | None = None,
        batches: dict[str, Callable[[Any], Any]] | None = None,
    ) -> None:
        self.lambdas = lambdas or {}
        self.batches = batches or {}
        self.calls: list[tuple[str, str, Any]] = []

    def resolve(self, target: TaskTarget) -> TaskHandler:
        value = str(target.value)
        if target.kind is TargetKind.JOB_DEFINITION:
            name = value.rsplit("/", 1)[-1].split(":", 1)[0]
            if not self.has_batch(name):
                raise ResourceError(f"no job definition named {name!r}")
            return TaskHandler(self._runs(self.run_batch, name), "batch", "submitJob.sync")
        match = FUNCTION_ARN.fullmatch(value)
        name = match["name"] if match else value
        if name in self.lambdas:
            return TaskHandler(self._runs(self.run_lambda, name))
        if not match and self.has_batch(name):
            return TaskHandler(self._runs(self.run_batch, name), "batch", "submitJob.sync")
        raise ResourceError(f"no function named {name!r}")

    def has_batch(self, name: str) -> bool:
        return name in self.batches

    @staticmethod
    def _runs(run: Callable[..., Any], name: str) -> Callable[[Any, float | None], Any]:
        return lambda payload, timeout: run(name, payload, timeout=timeout)

    def _call(
        self, kind: str, table: dict[str, Callable[[Any], Any]], name: str, payload: Any
    ) -> Any:
        self.calls.append((kind, name, payload))
        try:
            return table[name](payload)
        except TaskFailure:
            raise
        except Exception as err:
            raise TaskFailure(type(err).__name__, str(err)) from err

    def run_lambda(self, name: str, event: Any, *, timeout: float | None) -> Any:
        return self._call("lambda", self.lambdas, name, event)

    def run_batch(self, name: str, payload: Any, *, timeout: float | None) -> Any:
        return self._call("batch", self.batches, name, payload)


class SubprocessBatchRunner(FakeTaskRunner):
    """Batch tasks are Python snippets run with ``sys.executable -c`` in a new process.

    The snippet reads the JSON payload from the file named by argv[1] and writes its
    result (or ``{"error": ..., "cause": ...}`` with exit code 1) to argv[2].
    """

    def __init__(self, scripts: dict[str, str]) -> None:
        super().__init__()
        self.scripts = scripts

    def has_batch(self, name: str) -> bool:
        return name in self.scripts

    def run_batch(self, name: str, payload: Any, *, timeout: float | None) -> Any:
        with tempfile.TemporaryDirectory() as tmp:
            source, target = Path(tmp, "in.json"), Path(tmp, "out.json")
            source.write_text(json.dumps(payload))
            try:
                proc = subprocess.run(
                    [sys.executable, "-c", self.scripts[name], str(source), str(target)],
                    timeout=timeout,
                    capture_output=True,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise TaskFailure("States.Timeout", f"task {name} timed out") from None
            result = json.loads(target.read_text()) if target.exists() else None
            if proc.returncode != 0:
                error = result or {"error": "TaskError", "cause": proc.stderr.decode()}
                raise TaskFailure(error["error"], error["cause"])
            return result


def load(definition: dict[str, Any], runner: Any = None) -> StateMachine:
    return StateMachine.from_dict(definition, resolver=runner or FakeTaskRunner())


def run(
    definition: dict[str, Any], data: Any = None, runner: Any = None, **options: Any
) -> ExecutionResult:
    options.setdefault("time_scale", 0)
    return run_execution(load(definition, runner), data, **options)


def single(state: dict[str, Any], name: str = "S") -> dict[str, Any]:
    """A machine of one state (End: true added when it needs one)."""
    if state["Type"] not in {"Choice", "Succeed", "Fail"} and "Next" not in state:
        state = {**state, "End": True}
    return {"StartAt": name, "States": {name: state}}


def types(result: ExecutionResult) -> list[str]:
    return [event["type"] for event in result.history()]
