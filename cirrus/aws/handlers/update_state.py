"""The ``update-state`` function: an execution's end into its payload's state.

Fed by an EventBridge rule on "Step Functions Execution Status Change" events of the
deployment's state machines, it concludes the execution with the same code a local worker
uses (:class:`cirrus.runtime.update_state.UpdateState`): SUCCEEDED stores the output,
announces the items and sends the next links of the chain to the process queue; FAILED
records ``"<Error>: <cause>"`` (INVALID for invalid input; when a ``Fail`` state names
neither, the last failed task's error is read from the execution history); TIMED_OUT and
ABORTED likewise.

EventBridge leaves the input and output out of an event above 248 KiB
(``inputDetails.included: false``); they are then read from the execution
(``DescribeExecution``), and a ``{"url"}`` reference from the payload store, so a large
payload never stays PROCESSING for want of its event.

An event for an execution that is no longer the payload's latest (a rerun started since)
is logged and ignored: it must not end the newer run's record.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cirrus.aws.environment import AwsSettings, settings_from_environment
from cirrus.aws.handlers._backends import FunctionBackends
from cirrus.aws.records import StatusChange
from cirrus.aws.sfn import StepFunctions
from cirrus.payload import Payload
from cirrus.queue import WorkQueue
from cirrus.runtime.executor import ExecutionOutcome
from cirrus.runtime.jobs import Batch, Job, execution_key
from cirrus.runtime.outcomes import PayloadResult
from cirrus.runtime.update_state import UpdateState
from cirrus.state import StateDB
from cirrus.storage import ObjectStore, load_payload

__all__ = ["UpdateStateFunction", "lambda_handler"]

logger = logging.getLogger(__name__)


class UpdateStateFunction:
    """The ``update-state`` function of one deployment; made once per Lambda container.

    Args:
        settings: from the environment (:func:`settings_from_environment`).
        db: the state database (default: opened from the settings).
        queue: the process queue, where chained payloads go (default: opened).
        store: the payload store (default: opened).
        sfn: Step Functions, to read what an event left out (default: from the environment).
    """

    def __init__(
        self,
        settings: AwsSettings,
        *,
        db: StateDB | None = None,
        queue: WorkQueue | None = None,
        store: ObjectStore | None = None,
        sfn: StepFunctions | None = None,
    ) -> None:
        runtime = settings.runtime
        self.settings = settings
        backends = FunctionBackends.open(settings, db=db, queue=queue, store=store)
        self.store, self.announcer = backends.store, backends.announcer
        self.db, self.queue = backends.db, backends.queue
        self.sfn = sfn
        self.update_state = UpdateState(
            db=self.db,
            queue=self.queue,
            payload_store=self.store,
            payload_root=runtime.payload_root,
            announcer=self.announcer,
            owner=None,  # update-state holds no claim: it ends whatever holds the payload
            io_pool=ThreadPoolExecutor(4, thread_name_prefix="cirrus-io"),
        )

    def handle(self, event: dict[str, Any], context: Any = None) -> PayloadResult | None:
        """Conclude the execution an event reports; returns what happened to its payload.

        Raises:
            ValueError: the event is not a final Step Functions status change.
            CirrusError: the state, the store or Step Functions failed (Lambda retries the
                event, then sends it to the function's dead-letter queue).
        """
        change = StatusChange.from_event(event)
        execution_input, output = change.input, change.output
        if execution_input is None or (output is None and change.status == "SUCCEEDED"):
            described = self._sfn().describe(change.execution_arn)
            execution_input = execution_input or described.get("input")
            output = output if output is not None else described.get("output")
        payload = Payload.from_dict(load_payload(json.loads(execution_input or "null")))
        payload_id = payload.id
        record = self.db.get(payload_id)
        if record is not None and record.executions and record.executions[-1] != change.name:
            logger.warning(
                "update-state: %s is not the latest execution of %s (%s): ignored",
                change.name,
                payload_id,
                record.executions[-1],
            )
            return None
        input_key = execution_key(payload_id, change.name, "input.json")
        job = Job(
            None,
            payload,
            payload_id,
            record=record,
            execution=change.name,
            input_url=self.update_state.url(input_key),
        )
        history: list[dict[str, Any]] = []
        if change.status == "FAILED" and not change.error and not change.cause:
            # a Fail state without ErrorPath/CausePath: the error is in the history
            events = self._sfn().history(change.execution_arn)
            history = json.loads(json.dumps(events, default=str))  # timestamps as text
        job.outcome = ExecutionOutcome(
            change.status,
            output=json.loads(output) if output else None,
            error=change.error,
            cause=change.cause,
            history=history,
        )
        batch = Batch()
        self.update_state.conclude(job, batch)
        self.update_state.commit(batch)
        return batch.results[0] if batch.results else None

    def _sfn(self) -> StepFunctions:
        if self.sfn is None:
            self.sfn = StepFunctions()
        return self.sfn


_FUNCTION: UpdateStateFunction | None = None


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point: ``cirrus.aws.handlers.update_state.lambda_handler``."""
    global _FUNCTION
    if _FUNCTION is None:
        _FUNCTION = UpdateStateFunction(settings_from_environment())
    result = _FUNCTION.handle(event, context)
    if result is None:
        return {"payload_id": None, "outcome": "ignored"}
    return {"payload_id": result.payload_id, "outcome": str(result.outcome)}
