"""Task runners for engine tests: Python callables, and real subprocesses for batch."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cirrus.engine import ResourceRegistry, StateMachine, TaskFailure, run_execution
from cirrus.engine.runner import ExecutionResult


class FakeTaskRunner:
    """Runs tasks given as Python callables; exceptions become TaskFailure(class, message)."""

    def __init__(
        self,
        lambdas: dict[str, Callable[[Any], Any]] | None = None,
        batches: dict[str, Callable[[Any], Any]] | None = None,
    ) -> None:
        self.lambdas = lambdas or {}
        self.batches = batches or {}
        self.calls: list[tuple[str, str, Any]] = []

    def has_task(self, name: str) -> bool:
        return name in self.lambdas or name in self.batches

    def task_types(self, name: str) -> set[str]:
        return {
            kind
            for kind, table in (("lambda", self.lambdas), ("batch", self.batches))
            if name in table
        }

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

    def has_task(self, name: str) -> bool:
        return name in self.scripts

    def task_types(self, name: str) -> set[str]:
        return {"batch"} if name in self.scripts else set()

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
    return StateMachine.from_dict(definition, registry=ResourceRegistry(runner or FakeTaskRunner()))


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
