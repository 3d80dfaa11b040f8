"""State transitions per second: cirrus's engine against moto's Step Functions interpreter.

Runs three definitions on both: (a) a chain of 1,000 Pass states, (b) a Map over 10,000
items with a Pass inside, (c) a Choice-heavy counting loop. moto runs as a
ThreadedMotoServer on 127.0.0.1 with its state-machine interpreter switched on through
``/moto-api/config``; it gets smaller sizes (it is slow) and is reported per second.

    .venv/bin/python benchmarks/engine_throughput.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import time
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

from cirrus.engine import StateMachine, run_execution

Definition = dict[str, Any]
MOTO_DEADLINE = 120.0  # seconds per moto execution before giving up


def pass_chain(length: int) -> tuple[Definition, Any, int]:
    states: dict[str, Any] = {
        f"P{i}": {"Type": "Pass", "Next": f"P{i + 1}"} for i in range(length - 1)
    }
    states[f"P{length - 1}"] = {"Type": "Pass", "End": True}
    return {"StartAt": "P0", "States": states}, {"value": 1}, length


def map_of_items(count: int) -> tuple[Definition, Any, int]:
    definition = {
        "StartAt": "Map",
        "States": {
            "Map": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "StartAt": "Inner",
                    "States": {"Inner": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }
    return definition, {"items": list(range(count))}, count + 1


def choice_loop(rounds: int) -> tuple[Definition, Any, int]:
    definition = {
        "StartAt": "Init",
        "States": {
            "Init": {
                "Type": "Pass",
                "Parameters": {"count": 0, "limit.$": "$.limit"},
                "Next": "Check",
            },
            "Check": {
                "Type": "Choice",
                "Choices": [
                    {
                        "And": [
                            {"Variable": "$.count", "IsNumeric": True},
                            {"Variable": "$.count", "NumericLessThanPath": "$.limit"},
                        ],
                        "Next": "Increment",
                    }
                ],
                "Default": "Done",
            },
            "Increment": {
                "Type": "Pass",
                "Parameters": {"count.$": "States.MathAdd($.count, 1)", "limit.$": "$.limit"},
                "Next": "Check",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    return definition, {"limit": rounds}, 2 * rounds + 3


CASES: list[tuple[str, Callable[[int], tuple[Definition, Any, int]], int, int]] = [
    ("(a) chain of 1,000 Pass states", pass_chain, 1000, 1000),
    ("(b) Map of 10,000 items, Pass inside", map_of_items, 10_000, 2000),
    ("(c) Choice loop", choice_loop, 5000, 150),
]


def ours(definition: Definition, data: Any, expected: int, repeats: int = 3) -> float:
    machine = StateMachine.from_dict(definition)
    best = 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        # The Map of 10,000 items makes more history than AWS's 25,000-event limit allows
        # (on AWS it would be a distributed Map); moto has no such limit, so neither here.
        result = run_execution(machine, data, time_scale=0, max_history_events=None)
        elapsed = time.perf_counter() - started
        if not result.succeeded or result.transitions != expected:
            raise RuntimeError(
                f"engine run failed: {result.error_document()} ({result.transitions} transitions)"
            )
        best = max(best, result.transitions / elapsed)
    return best


class Moto:
    """A moto server with the Step Functions interpreter on, and a boto3 client for it."""

    def __init__(self) -> None:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request

        for name in list(os.environ):
            if name.startswith("AWS_"):
                del os.environ[name]
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.server.start()
        self.endpoint = f"http://127.0.0.1:{port}"
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/config",
            data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10):
            pass
        import boto3

        self.client: Any = boto3.client(
            "stepfunctions",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def stop(self) -> None:
        self.server.stop()

    def rate(self, definition: Definition, data: Any, transitions: int) -> tuple[float | None, str]:
        """Transitions per second of one execution, or None and the reason it did not run."""
        arn = self.client.create_state_machine(
            name=f"bench-{uuid.uuid4().hex[:8]}",
            definition=json.dumps(definition),
            roleArn="arn:aws:iam::123456789012:role/bench",
        )["stateMachineArn"]
        started = time.perf_counter()
        execution = self.client.start_execution(stateMachineArn=arn, input=json.dumps(data))[
            "executionArn"
        ]
        while True:
            described = self.client.describe_execution(executionArn=execution)
            status = described["status"]
            if status != "RUNNING":
                break
            if time.perf_counter() - started > MOTO_DEADLINE:
                self.client.stop_execution(executionArn=execution)
                return None, f"still running after {MOTO_DEADLINE:.0f} s"
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        if status != "SUCCEEDED":
            return None, f"execution {status}: {described.get('error')} {described.get('cause')}"
        return transitions / elapsed, ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller moto runs")
    parser.add_argument("--no-moto", action="store_true", help="measure only the cirrus engine")
    args = parser.parse_args()
    # Our engine first, alone: a live moto server in the same process competes for the GIL.
    rows = []
    for label, build, size, moto_size in CASES:
        definition, data, expected = build(size)
        rows.append((label, build, ours(definition, data, expected), moto_size))
    print(f"{'case':40} {'cirrus tr/s':>12} {'moto tr/s':>10} {'ratio':>8}")
    if args.no_moto:
        for label, _, rate, _ in rows:
            print(f"{label:40} {rate:12,.0f}")
        return
    moto = Moto()
    try:
        for label, build, rate, moto_size in rows:
            line = f"{label:40} {rate:12,.0f}"
            small = max(moto_size // 3, 10) if args.quick else moto_size
            moto_definition, moto_data, moto_expected = build(small)
            try:
                moto_rate, reason = moto.rate(moto_definition, moto_data, moto_expected)
            except Exception as err:
                moto_rate, reason = None, f"{type(err).__name__}: {err}"
            if moto_rate is None:
                print(f"{line} {'n/a':>10} {'n/a':>8}   moto could not run it: {reason}")
            else:
                print(f"{line} {moto_rate:10,.0f} {rate / moto_rate:7,.0f}x   (moto size {small})")
    finally:
        moto.stop()


if __name__ == "__main__":
    main()
