"""SQS requests per payload on the pipeline's queue path (the cost estimate's input).

Starts a moto server on 127.0.0.1, makes a process queue and its dead-letter queue as
upstream Cirrus does (``ensure_queue``), and runs N payloads through what a worker does
with the queue: submit (``send_many``), receive in batches, queue one chained next link per
payload (``send_many`` with keys), delete the batch; then the chained payloads are
received and deleted in turn. Prints, per payload, the requests by operation and step,
and what SQS bills (each 64 KiB of bodies is a request); then what ``take()`` (one
payload run at once) and explicit dead-lettering cost.

    .venv/bin/python benchmarks/queue_sqs_ops.py [--n 500] [--batch 10] [--body-bytes 2000]
        [--fifo]

Request counts do not depend on the emulator; times do (moto runs in this process), so
none are printed. They are a worker's requests on a busy queue: an idle worker also polls
(one ReceiveMessage and one GetQueueAttributes per empty look, 5 a second each, unless
the URL sets ``?wait_seconds=N`` for long polling).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

# this checkout first: its cirrus, and tests.aws_server for the local moto server
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cirrus.queue import SQSQueue
from cirrus.queue.sqs import ensure_queue

LEASE = 900.0  # the pipeline's default lease (visibility while a batch is in hand)
OPERATIONS = (
    "SendMessageBatch",
    "SendMessage",
    "ReceiveMessage",
    "DeleteMessageBatch",
    "ChangeMessageVisibilityBatch",
    "GetQueueAttributes",
)


def start_moto() -> Any:
    """A moto server on a free local port, with this process pointed at it."""
    from moto.server import ThreadedMotoServer

    from tests.aws_server import free_port

    port = free_port()
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]
    os.environ.update(
        AWS_ACCESS_KEY_ID="benchmark",
        AWS_SECRET_ACCESS_KEY="benchmark",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server


def payload(i: int, size: int, link: str = "") -> str:
    """A one-item payload of about ``size`` bytes of JSON."""
    body = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "id": f"S2A_{i:07d}{link}", "properties": {}}],
        "process": [{"workflow": "cog", "upload_options": {"path_template": "/${id}"}}],
    }
    padding = max(0, size - len(json.dumps(body)) - 20)
    body["features"][0]["properties"]["note"] = "x" * padding
    return json.dumps(body)


class Steps:
    """Requests and billed requests per step, from the queue's counters."""

    def __init__(self, queue: SQSQueue) -> None:
        self.queue = queue
        self.counted: dict[str, dict[str, int]] = {}

    def run(self, step: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        before = self.queue.ops.snapshot()
        result = call(*args, **kwargs)
        after = self.queue.ops.snapshot()
        total = self.counted.setdefault(step, {})
        for op, n in after["requests"].items():
            total[op] = total.get(op, 0) + n - before["requests"].get(op, 0)
        total["billed"] = total.get("billed", 0) + after["billed"] - before["billed"]
        return result


def drain(steps: Steps, queue: SQSQueue, batch: int, size: int) -> int:
    """Receive, chain, delete until the queue is empty; returns the messages handled.

    Each submitted payload chains one next link; a next link chains nothing.
    """
    handled = 0
    while True:
        messages = steps.run("receive", queue.receive, batch, visibility_seconds=LEASE)
        if not messages:
            if steps.run("receive", queue.counts) == (0, 0):
                return handled
            continue
        first = [m for m in messages if '-next"' not in m.body]
        if first:
            links = [payload(i, size, link="-next") for i in range(len(first))]
            steps.run("chain", queue.send_many, links, keys=[f"{m.id}/exec/0" for m in first])
        steps.run("delete", queue.delete_many, messages)
        handled += len(messages)


def print_steps(steps: Steps, n: int) -> None:
    header = f"{'step':<9}" + "".join(f"{op:>15}" for op in ("Send", "Receive", "Delete", "Attrs"))
    header += f"{'requests':>10}{'billed':>8}"
    print(header)
    total: dict[str, float] = {}
    for step in [*steps.counted, "total"]:
        counted = steps.counted.get(step)
        if counted is None:
            values = total
        else:
            values = {
                "Send": (counted.get("SendMessageBatch", 0) + counted.get("SendMessage", 0)) / n,
                "Receive": counted.get("ReceiveMessage", 0) / n,
                "Delete": counted.get("DeleteMessageBatch", 0) / n,
                "Attrs": counted.get("GetQueueAttributes", 0) / n,
                "requests": sum(v for k, v in counted.items() if k in OPERATIONS) / n,
                "billed": counted.get("billed", 0) / n,
            }
            for key, value in values.items():
                total[key] = total.get(key, 0.0) + value
        line = f"{step:<9}" + "".join(
            f"{values.get(op, 0.0):>15.3f}" for op in ("Send", "Receive", "Delete", "Attrs")
        )
        line += f"{values['requests']:>10.3f}{values['billed']:>8.3f}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="payloads (default 500)")
    parser.add_argument(
        "--batch", type=int, default=10, help="messages per receive (default 10: SQS's most)"
    )
    parser.add_argument(
        "--body-bytes", type=int, default=2000, help="bytes of JSON per payload (default 2000)"
    )
    parser.add_argument("--fifo", action="store_true", help="a FIFO queue instead of standard")
    args = parser.parse_args()
    server = start_moto()
    try:
        name = "cirrus-bench-process" + (".fifo" if args.fifo else "")
        ensure_queue(name)
        queue = SQSQueue(name)
        queue.url  # noqa: B018 (looked up once per process, not per payload)
        queue.ops.reset()
        steps = Steps(queue)
        bodies = [payload(i, args.body_bytes) for i in range(args.n)]
        # the pipeline submits a chunk of documents at a time; SQS takes 10 a call
        steps.run("submit", queue.send_many, bodies)
        handled = drain(steps, queue, args.batch, args.body_bytes)
        assert handled == 2 * args.n, handled
        kind = "FIFO" if args.fifo else "standard"
        print(
            f"SQS per payload: {args.n} payloads of {args.body_bytes} bytes on a {kind} queue, "
            f"receives of {args.batch}, each payload chaining one next link (received and "
            "deleted too)\n"
        )
        print_steps(steps, args.n)
        requests = sum(
            n for counted in steps.counted.values() for op, n in counted.items() if op in OPERATIONS
        )
        print(f"\nper message handled (payloads and next links): {requests / handled:.3f} requests")
        print(
            "\n(Send: SendMessageBatch, 10 a call; Receive: ReceiveMessage; Delete: "
            "DeleteMessageBatch; Attrs: GetQueueAttributes, only when a receive comes back "
            "empty; billed: SQS's count, one request per 64 KiB of bodies)"
        )

        queue.ops.reset()
        takes = 20
        for i in range(takes):
            message = queue.take(payload(i, args.body_bytes), visibility_seconds=LEASE)
            queue.delete_many([message])
        taken = queue.ops.snapshot()
        print(
            f"\ntake() on an idle queue (run one payload now), then its delete: "
            f"{(taken['total']) / takes:.2f} requests per payload "
            f"({', '.join(f'{op} {n / takes:g}' for op, n in taken['requests'].items())})"
        )

        queue.ops.reset()
        queue.send_many(bodies[:100])
        queue.ops.reset()
        while messages := queue.receive(10, visibility_seconds=LEASE):
            queue.dead_letter(messages, "benchmark")
        dead = queue.ops.snapshot()["requests"]
        print(
            "dead_letter(messages, reason), batches of 10: "
            f"{(dead.get('SendMessageBatch', 0) + dead.get('DeleteMessageBatch', 0)) / 100:.2f}"
            " requests per message (a SendMessageBatch to the DLQ and a DeleteMessageBatch), "
            "besides its receive"
        )
        queue.ops.reset()
        moved = queue.redrive()
        print(
            f"redrive() of {moved} dead letters: {queue.ops.total / moved:.2f} requests per "
            f"message ({', '.join(f'{op} {n}' for op, n in queue.ops.requests.items())})"
        )
        print(
            "a poison message costs max_receives (5) receives before SQS moves it to the "
            "dead-letter queue; the move itself is free"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
