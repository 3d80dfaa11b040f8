"""The ``process`` and ``update-state`` functions, fed events shaped as AWS sends them.

They run against the moto server: DynamoDB for state, S3 for payloads, Step Functions for
executions; what they leave there is read back with boto3.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from cirrus.aws.handlers.process import ProcessFunction
from cirrus.aws.handlers.update_state import UpdateStateFunction
from cirrus.aws.sfn import StepFunctions
from cirrus.payload import Payload
from cirrus.queue import MemoryQueue
from cirrus.queue.sqs import SQSQueue, ensure_queue
from cirrus.state import EventType, State, open_state_db
from cirrus.state.memory import MemoryStateDB
from tests.aws.conftest import (
    Deployment,
    payload,
    sns_envelope,
    sqs_event,
    sqs_record,
    status_change,
)
from tests.runtime.conftest import Standin


def _process(deployment: Deployment, queue: MemoryQueue | None = None) -> ProcessFunction:
    return ProcessFunction(deployment.settings(), queue=queue or MemoryQueue())


def _update_state(deployment: Deployment, queue: MemoryQueue) -> UpdateStateFunction:
    return UpdateStateFunction(deployment.settings(), queue=queue)


def _id(data: dict[str, Any]) -> str:
    return Payload.from_dict(data).id


def _describe(deployment: Deployment, workflow: str = "w") -> dict[str, Any]:
    [execution] = deployment.executions(workflow)
    client = deployment.aws.client("stepfunctions")
    return dict(client.describe_execution(executionArn=execution["executionArn"]))


def test_process_starts_an_execution_per_payload_and_marks_it_processing(
    deployment: Deployment,
) -> None:
    deployment.add_workflow("w")
    raw, wrapped = payload("a"), payload("b")
    event = sqs_event(json.dumps(raw), sns_envelope(json.dumps(wrapped)))
    answer = _process(deployment).handle(event)
    assert answer == {"batchItemFailures": []}
    executions = deployment.executions("w")
    assert len(executions) == 2
    db = open_state_db(f"dynamodb://{deployment.table}")
    for data in (raw, wrapped):
        record = db.get(_id(data))
        assert record is not None and record.state is State.PROCESSING
        [name] = record.executions
        assert name in {execution["name"] for execution in executions}
        stored = deployment.object(f"executions/{_id(data)}/{name}/input.json")
        assert stored["id"] == _id(data) and stored["features"] == data["features"]
    started = [event.event_type for event in db.events(payload_id=_id(raw))]
    assert started == [EventType.CLAIMED_PROCESSING, EventType.STARTED_PROCESSING]


def test_a_bad_record_costs_only_itself(deployment: Deployment) -> None:
    deployment.add_workflow("w")
    event = sqs_event("{not json", json.dumps({"features": []}), json.dumps(payload("a")))
    answer = _process(deployment).handle(event)
    # rejected records are kept under tmp/invalid/ and not delivered again
    assert answer == {"batchItemFailures": []}
    assert len(deployment.keys("tmp/invalid/")) == 2
    assert len(deployment.executions("w")) == 1
    db = open_state_db(f"dynamodb://{deployment.table}")
    refused = [event for event in db.events() if event.payload_id == ""]
    assert sorted(str(event.event_type) for event in refused) == [
        "NOT_A_PROCESS_PAYLOAD",
        "RECORD_EXTRACT_FAILED",
    ]
    assert all(event.input_url and "/tmp/invalid/" in event.input_url for event in refused)


def test_a_payload_id_too_long_for_the_keys_costs_only_itself(deployment: Deployment) -> None:
    # a payload's id joins its item ids: past DynamoDB's 1,024-byte sort key (and S3's
    # 1,024-byte keys) no claim of the batch could be written, so it is refused alone
    deployment.add_workflow("w")
    many = payload("a")
    many["features"] = [{**many["features"][0], "id": f"item-{n:04d}"} for n in range(120)]
    underscore = payload("u", workflow="my_cog")
    event = sqs_event(json.dumps(many), json.dumps(underscore), json.dumps(payload("ok")))

    answer = _process(deployment).handle(event)

    assert answer == {"batchItemFailures": []}
    assert len(deployment.executions("w")) == 1
    kept = [deployment.object(key) for key in deployment.keys("tmp/invalid/")]
    reasons = sorted(document["reason"] for document in kept)
    assert len(reasons) == 2
    assert "1,024 a DynamoDB sort key holds" in reasons[0]
    assert "split the payload into payloads of fewer items" in reasons[0]
    assert "rename the workflow" in reasons[1]


def test_an_undeployed_workflow_fails_its_payload_without_retrying(
    deployment: Deployment,
) -> None:
    data = payload("a", workflow="nowhere")
    answer = _process(deployment).handle(sqs_event(json.dumps(data)))
    assert answer == {"batchItemFailures": []}
    record = open_state_db(f"dynamodb://{deployment.table}").get(_id(data))
    assert record is not None and record.state is State.FAILED
    assert record.last_error is not None
    assert record.last_error.startswith("StateMachineDoesNotExist: workflow 'nowhere'")


def test_claims_of_a_batch_that_starts_nothing_are_written_with_its_end(
    deployment: Deployment,
) -> None:
    db = open_state_db(f"dynamodb://{deployment.table}")
    writes: list[str] = []

    def add_events(events: Any) -> Any:
        writes.append("add_events")
        return db.add_events(events)

    def finish_many(updates: Any, events: Any = ()) -> Any:
        writes.append("finish_many")
        return db.finish_many(updates, events=events)

    watched = Standin(db, add_events=add_events, finish_many=finish_many)
    function = ProcessFunction(deployment.settings(), db=watched, queue=MemoryQueue())
    data = payload("a", workflow="nowhere")
    assert function.handle(sqs_event(json.dumps(data))) == {"batchItemFailures": []}
    assert writes == ["finish_many"]  # one write of the events: the claim's and the end's
    events = [event.event_type for event in db.events(payload_id=_id(data))]
    assert events == [EventType.CLAIMED_PROCESSING, EventType.FAILED]


class _BackendBeforeStart(MemoryStateDB):
    """A state backend written before ``claim_many`` took ``start``."""

    def claim_many(  # type: ignore[override]
        self, items: Any, *, owner: str, lease_seconds: float, events: Any = ()
    ) -> Any:
        return super().claim_many(items, owner=owner, lease_seconds=lease_seconds, events=events)


def test_a_state_backend_from_before_start_still_serves_the_process_function(
    deployment: Deployment,
) -> None:
    deployment.add_workflow("w")
    db = _BackendBeforeStart()
    function = ProcessFunction(deployment.settings(), db=db, queue=MemoryQueue())
    data = payload("a")
    assert function.handle(sqs_event(json.dumps(data))) == {"batchItemFailures": []}
    record = db.get(_id(data))
    assert record is not None and record.state is State.PROCESSING


def test_a_payload_held_elsewhere_is_delivered_again_later(deployment: Deployment) -> None:
    deployment.add_workflow("w")
    data = payload("a")
    function = _process(deployment)
    function.handle(sqs_event(json.dumps(data)))
    # a second delivery of the same message while its execution runs: not started again
    again = {"Records": [sqs_record(json.dumps(data), receive_count=2)]}
    answer = function.handle(again)
    assert answer == {"batchItemFailures": [{"itemIdentifier": again["Records"][0]["messageId"]}]}
    assert len(deployment.executions("w")) == 1


def test_two_racing_invocations_start_each_payload_once(deployment: Deployment) -> None:
    deployment.add_workflow("w")
    bodies = [json.dumps(payload(f"item-{n}")) for n in range(10)]
    functions = [_process(deployment), _process(deployment)]
    answers: list[dict[str, Any]] = []
    barrier = threading.Barrier(2)

    def run(function: ProcessFunction) -> None:
        barrier.wait()
        answers.append(function.handle(sqs_event(*bodies)))

    threads = [threading.Thread(target=run, args=(function,)) for function in functions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 2
    executions = deployment.executions("w")
    assert len(executions) == 10
    db = open_state_db(f"dynamodb://{deployment.table}")
    for body in bodies:
        record = db.get(_id(json.loads(body)))
        assert record is not None and record.state is State.PROCESSING
        assert len(record.executions) == 1


def _started(deployment: Deployment, data: dict[str, Any]) -> dict[str, Any]:
    deployment.add_workflow("w")
    _process(deployment).handle(sqs_event(json.dumps(data)))
    return _describe(deployment)


def test_update_state_concludes_a_success_and_sends_the_chain(deployment: Deployment) -> None:
    data = payload("a")
    data["process"].append({"workflow": "next"})
    execution = _started(deployment, data)
    output = json.loads(execution["input"])
    output["features"][0]["properties"]["processed"] = True
    queue = SQSQueue(ensure_queue(f"{deployment.prefix}-process"))
    function = UpdateStateFunction(deployment.settings(), queue=queue)
    result = function.handle(status_change(execution, "SUCCEEDED", output=output))
    assert result is not None and str(result.outcome) == "succeeded"
    db = open_state_db(f"dynamodb://{deployment.table}")
    record = db.get(_id(data))
    assert record is not None and record.state is State.SUCCEEDED
    stored = deployment.object(f"executions/{_id(data)}/{execution['name']}/output.json")
    assert stored["features"][0]["properties"]["processed"] is True
    assert record.output_url is not None and record.output_url.endswith("/output.json")
    [message] = queue.receive(10, visibility_seconds=30)  # the chained link, on SQS
    chained = json.loads(message.body)
    assert chained["process"][0]["workflow"] == "next"
    events = [event.event_type for event in db.events(payload_id=_id(data))]
    assert events[-1] is EventType.SUCCEEDED


class _Described:
    """Step Functions' DescribeExecution of a finished execution (moto's stay RUNNING)."""

    def __init__(self, **fields: Any) -> None:
        self.fields = fields

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        return {"executionArn": executionArn, **self.fields}


def test_update_state_reads_a_left_out_output_from_the_execution(deployment: Deployment) -> None:
    data = payload("a")
    execution = _started(deployment, data)
    output = dict(json.loads(execution["input"]), note="from DescribeExecution")
    event = status_change(execution, "SUCCEEDED", output=output, included=False)
    assert event["detail"]["output"] is None
    sfn = StepFunctions(_Described(input=execution["input"], output=json.dumps(output)))
    function = UpdateStateFunction(deployment.settings(), queue=MemoryQueue(), sfn=sfn)
    function.handle(event)
    stored = deployment.object(f"executions/{_id(data)}/{execution['name']}/output.json")
    assert stored["note"] == "from DescribeExecution"


def test_a_large_payload_travels_by_url_both_ways(deployment: Deployment) -> None:
    deployment.environment["CIRRUS_URL_PAYLOAD_THRESHOLD"] = "200"
    data = payload("a")
    data["features"][0]["properties"]["padding"] = "x" * 1000
    execution = _started(deployment, data)
    execution_input = json.loads(execution["input"])
    assert list(execution_input) == ["url"]
    assert execution_input["url"].startswith(f"s3://{deployment.payload_bucket}/cirrus/")
    event = status_change(execution, "FAILED", error="ValueError", cause="bad pixels")
    _update_state(deployment, MemoryQueue()).handle(event)
    record = open_state_db(f"dynamodb://{deployment.table}").get(_id(data))
    assert record is not None and record.last_error == "ValueError: bad pixels"


def test_update_state_reads_a_left_out_input_from_the_execution(deployment: Deployment) -> None:
    data = payload("a")
    execution = _started(deployment, data)
    event = status_change(
        execution, "FAILED", error="RuntimeError", cause="disk on fire", included=False
    )
    assert event["detail"]["input"] is None
    _update_state(deployment, MemoryQueue()).handle(event)
    record = open_state_db(f"dynamodb://{deployment.table}").get(_id(data))
    assert record is not None and record.state is State.FAILED
    assert record.last_error == "RuntimeError: disk on fire"


@pytest.mark.parametrize(
    ("status", "error", "state"),
    [
        pytest.param("FAILED", "InvalidInput", State.INVALID, id="invalid"),
        pytest.param("FAILED", "stactask.exceptions.InvalidInput", State.INVALID, id="stactask"),
        pytest.param("TIMED_OUT", "States.Timeout", State.FAILED, id="timed-out"),
        pytest.param("ABORTED", None, State.ABORTED, id="aborted"),
    ],
)
def test_update_state_endings(
    deployment: Deployment, status: str, error: str | None, state: State
) -> None:
    data = payload("a")
    execution = _started(deployment, data)
    event = status_change(execution, status, error=error, cause="why" if error else None)
    _update_state(deployment, MemoryQueue()).handle(event)
    record = open_state_db(f"dynamodb://{deployment.table}").get(_id(data))
    assert record is not None and record.state is state


def test_an_event_of_an_older_execution_is_ignored(deployment: Deployment) -> None:
    data = payload("a")
    execution = _started(deployment, data)
    stale = dict(execution, name="an-earlier-run")
    stale["executionArn"] = execution["executionArn"].rsplit(":", 1)[0] + ":an-earlier-run"
    function = _update_state(deployment, MemoryQueue())
    assert function.handle(status_change(stale, "FAILED", error="Old", cause="x")) is None
    record = open_state_db(f"dynamodb://{deployment.table}").get(_id(data))
    assert record is not None and record.state is State.PROCESSING


def test_update_state_refuses_other_events(deployment: Deployment) -> None:
    function = _update_state(deployment, MemoryQueue())
    with pytest.raises(ValueError, match="not a Step Functions Execution Status Change"):
        function.handle({"detail-type": "Scheduled Event", "detail": {}})


class _Throttled:
    """A Step Functions client that refuses to start one execution, like a throttled call."""

    def __init__(self, client: Any, refused: int) -> None:
        self.client = client
        self.refused = refused
        self.calls = 0

    def start_execution(self, **request: Any) -> Any:
        self.calls += 1
        if self.calls == self.refused:
            from botocore.exceptions import ClientError

            error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
            raise ClientError(error, "StartExecution")
        return self.client.start_execution(**request)


def test_a_start_that_fails_costs_only_its_own_record(deployment: Deployment) -> None:
    from cirrus.aws.sfn import StepFunctions

    deployment.add_workflow("w")
    event = sqs_event(*(json.dumps(payload(f"item-{n}")) for n in range(3)))
    sfn = StepFunctions(_Throttled(deployment.aws.client("stepfunctions"), refused=2))
    function = ProcessFunction(deployment.settings(), queue=MemoryQueue(), sfn=sfn)
    answer = function.handle(event)
    assert len(answer["batchItemFailures"]) == 1
    assert len(deployment.executions("w")) == 2
    db = open_state_db(f"dynamodb://{deployment.table}")
    states = sorted(
        str(record.state)
        for record in (db.get(_id(json.loads(r["body"]))) for r in event["Records"])
        if record is not None
    )
    assert states == ["CLAIMED", "PROCESSING", "PROCESSING"]


def test_update_state_reads_the_history_when_a_fail_state_names_nothing(
    deployment: Deployment,
) -> None:
    data = payload("a")
    execution = _started(deployment, data)
    # a bare Fail state: no error, no cause; the history (moto's) has no failed task either
    _update_state(deployment, MemoryQueue()).handle(status_change(execution, "FAILED"))
    record = open_state_db(f"dynamodb://{deployment.table}").get(_id(data))
    assert record is not None and record.state is State.FAILED
    assert record.last_error is not None
    assert record.last_error.startswith("Unknown: No error cause was found in the event.")
    assert "'ErrorPath' and 'CausePath'" in record.last_error


def test_update_state_with_null_output_is_succeeded_with_nothing_stored(
    deployment: Deployment,
) -> None:
    data = payload("a")
    execution = _started(deployment, data)
    queue = MemoryQueue()
    _update_state(deployment, queue).handle(status_change(execution, "SUCCEEDED", output=None))
    record = open_state_db(f"dynamodb://{deployment.table}").get(_id(data))
    assert record is not None and record.state is State.SUCCEEDED
    assert record.output_url is None
