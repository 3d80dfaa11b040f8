"""SNS requests per payload for published items and workflow events (the cost estimate's input).

Starts a moto server on 127.0.0.1, creates a publish topic and a workflow-event topic, and
runs N payloads of K items each through the embedded pipeline (``publish-only``, SQLite
state) with both topics configured, for several worker batch sizes. Prints, per payload,
the messages and PublishBatch requests on each topic (and requests as SNS bills them).
With ``--check-delivery`` an SQS queue subscribed to each topic must receive every message.

    .venv/bin/python benchmarks/announce_sns_ops.py [--n 200] [--items 1,5,25] [--batch 1,10,200]
        [--item-kb 0] [--check-delivery]

Batch size 10 is an SQS batch (what the ``process`` Lambda receives); 200 is the local
worker's default. Request counts do not depend on the emulator; times do (moto runs in
this process), so none are printed.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

# this checkout first: its cirrus, and tests.aws_server for the local moto server
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cirrus.project import Project
from cirrus.runtime import Pipeline


def start_moto() -> Any:
    """A moto server on a free local port, with this process pointed at it."""
    from moto.server import ThreadedMotoServer

    from tests.aws_server import free_port

    port = free_port()
    for name in [n for n in os.environ if n.startswith(("AWS_", "CIRRUS_"))]:
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


def topic_with_queue(sns: Any, sqs: Any, name: str, check: bool) -> tuple[str, str | None]:
    """A topic, and with ``check`` a queue subscribed to it (raw delivery): ARN and URL."""
    arn = sns.create_topic(Name=name)["TopicArn"]
    if not check:
        return arn, None
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    sns.subscribe(
        TopicArn=arn,
        Protocol="sqs",
        Endpoint=queue_arn["Attributes"]["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    return arn, url


def queued(sqs: Any, url: str | None) -> int | None:
    if url is None:
        return None
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def payloads(n: int, items: int, run: str, item_kb: int) -> list[dict[str, Any]]:
    padding = "x" * (item_kb * 1024)

    def item(p: int, i: int) -> dict[str, Any]:
        return {
            "type": "Feature",
            "stac_version": "1.0.0",
            "id": f"{run}-{p:05d}-{i:03d}",
            "collection": "sentinel-2-l2a",
            "geometry": {"type": "Point", "coordinates": [10.0, 50.0]},
            "bbox": [10.0, 50.0, 10.1, 50.1],
            "properties": {
                "datetime": "2024-01-01T00:00:00Z",
                "eo:cloud_cover": 12.5,
                **({"padding": padding} if padding else {}),
            },
            "links": [],
            "assets": {},
        }

    process = {"workflow": "publish-only", "upload_options": {"path_template": "${id}"}}
    return [
        {
            "type": "FeatureCollection",
            "features": [item(p, i) for i in range(items)],
            "process": [process],
        }
        for p in range(n)
    ]


def run(
    n: int, items: int, batch: int, sns: Any, sqs: Any, check: bool, item_kb: int
) -> dict[str, Any]:
    """One run in a fresh project folder; returns the counts."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    items_arn, items_queue = topic_with_queue(sns, sqs, f"{name}-publish", check)
    events_arn, events_queue = topic_with_queue(sns, sqs, f"{name}-workflow-event", check)
    with tempfile.TemporaryDirectory() as folder:
        pipeline = Pipeline.for_project(
            Project.embedded(Path(folder)),
            time_scale=0,
            publish_log="",
            publish_topic=items_arn,
            workflow_event_topic=events_arn,
        )
        with pipeline:
            pipeline.submit(payloads(n, items, name, item_kb))
            worker = pipeline.worker(batch_size=batch)
            try:
                counts = worker.run(until_empty=True)
                announcer = worker.announcer
                assert announcer.publish_topic and announcer.workflow_event_topic
                result = {
                    "succeeded": counts["succeeded"],
                    "items": announcer.publish_topic.ops.snapshot(),
                    "events": announcer.workflow_event_topic.ops.snapshot(),
                }
            finally:
                worker.close()
    result["items_queued"] = queued(sqs, items_queue)
    result["events_queued"] = queued(sqs, events_queue)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="payloads per run (default 200)")
    parser.add_argument("--items", default="1,5,25", help="items per payload (default 1,5,25)")
    parser.add_argument("--batch", default="1,10,200", help="worker batch sizes (default 1,10,200)")
    parser.add_argument(
        "--item-kb", type=int, default=0, help="pad each item by this many KiB (default 0)"
    )
    parser.add_argument(
        "--check-delivery",
        action="store_true",
        help="subscribe an SQS queue to each topic and check every message arrived "
        "(moto slows down as its queues fill: use with a small --n)",
    )
    args = parser.parse_args()
    server = start_moto()
    try:
        import boto3

        session = boto3.session.Session()
        sns, sqs = session.client("sns"), session.client("sqs")
        size = f", items padded by {args.item_kb} KiB" if args.item_kb else ""
        print(
            f"SNS per payload: {args.n} payloads of publish-only, embedded pipeline, "
            f"both topics configured{size}\n"
        )
        header = (
            f"{'batch':>6}{'items':>7}{'item msgs':>11}{'item reqs':>11}{'billed':>8}"
            f"{'event msgs':>12}{'event reqs':>12}{'billed':>8}{'requests':>10}{'refused':>9}"
        )
        print(header)
        for batch in (int(b) for b in args.batch.split(",")):
            for items in (int(k) for k in args.items.split(",")):
                counted = run(args.n, items, batch, sns, sqs, args.check_delivery, args.item_kb)
                n = args.n
                item_ops, event_ops = counted["items"], counted["events"]
                item_requests = sum(item_ops["requests"].values())
                event_requests = sum(event_ops["requests"].values())
                assert counted["succeeded"] == n, counted
                assert item_ops["messages"] == n * items, counted
                if args.check_delivery:
                    assert counted["items_queued"] == item_ops["messages"], counted
                    assert counted["events_queued"] == event_ops["messages"], counted
                print(
                    f"{batch:>6}{items:>7}{item_ops['messages'] / n:>11.2f}"
                    f"{item_requests / n:>11.2f}{item_ops['billed'] / n:>8.2f}"
                    f"{event_ops['messages'] / n:>12.2f}{event_requests / n:>12.2f}"
                    f"{event_ops['billed'] / n:>8.2f}"
                    f"{(item_requests + event_requests) / n:>10.2f}"
                    f"{(item_ops['refused'] + event_ops['refused']) / n:>9.2f}"
                )
        print(
            "\nitem msgs: one per output item; events: CLAIMED_PROCESSING, STARTED_PROCESSING "
            "and SUCCEEDED per payload. A PublishBatch request carries up to 10 messages "
            "(and 256 KiB); billed: requests as SNS bills them, one per 64 KiB of messages."
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
