"""The ``process`` function: payloads from the process queue into Step Functions.

Fed by the process queue (batches of up to 10 records), it does what a local worker does
before running a workflow, with the same code (:mod:`cirrus.runtime`): read and validate
each payload, drop duplicates, claim them all in one step, store each input at
``executions/<id>/<execution>/input.json``, start the execution of ``<prefix>-<workflow>``,
and mark the payload PROCESSING. The execution is started before PROCESSING is recorded
and is named by the attempt, so a crash in between is repaired by the next delivery.

One record never costs the others: the function answers with ``batchItemFailures`` (the
event source mapping needs ``FunctionResponseTypes: [ReportBatchItemFailures]``), naming
only the records to deliver again — a payload held by another claim, a reference that
cannot be read yet, or one whose handling raised. Every other record is deleted by Lambda.
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cirrus.aws.environment import (
    CLAIM_LEASE_SECONDS,
    PROCESSING_LEASE_SECONDS,
    AwsSettings,
    settings_from_environment,
)
from cirrus.aws.event_source import EventSourceQueue
from cirrus.aws.handlers._backends import FunctionBackends
from cirrus.aws.records import message_from_record
from cirrus.aws.sfn import StartResult, StepFunctions, execution_arn
from cirrus.engine import ExecutionStatus
from cirrus.errors import CirrusError
from cirrus.queue import WorkQueue
from cirrus.runtime.admission import Admission
from cirrus.runtime.claim import Claimer
from cirrus.runtime.executor import ExecutionOutcome, escaped_length
from cirrus.runtime.jobs import Batch, Job
from cirrus.runtime.read import Reader
from cirrus.runtime.start import Starter
from cirrus.runtime.update_state import UpdateState
from cirrus.state import StateDB
from cirrus.storage import ObjectStore

__all__ = ["ProcessFunction", "lambda_handler"]

logger = logging.getLogger(__name__)


class ProcessFunction:
    """The ``process`` function of one deployment; made once per Lambda container.

    Args:
        settings: from the environment (:func:`settings_from_environment`).
        db: the state database (default: opened from the settings).
        queue: the process queue, for records to look at again later (default: opened
            from the settings, ``CIRRUS_PROCESS_QUEUE_URL``).
        store: the payload store (default: opened).
        sfn: Step Functions (default: a client from the environment).
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
        self.settings = settings
        backends = FunctionBackends.open(settings, db=db, queue=queue, store=store)
        self.store, self.announcer = backends.store, backends.announcer
        self.db, self.queue = backends.db, backends.queue
        self.sfn = sfn or StepFunctions()
        self._io_pool = ThreadPoolExecutor(4, thread_name_prefix="cirrus-io")

    def handle(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """Handle one SQS batch; returns the records to deliver again."""
        records = event.get("Records") or []
        messages = [message_from_record(record) for record in records]
        queue = EventSourceQueue(self.queue)
        owner = f"aws-process:{getattr(context, 'aws_request_id', None) or uuid.uuid4()}"
        batch = Batch()
        runtime = self.settings.runtime
        update_state = UpdateState(
            db=self.db,
            queue=queue,
            payload_store=self.store,
            payload_root=runtime.payload_root,
            announcer=self.announcer,
            owner=owner,
            io_pool=self._io_pool,
        )
        # the limits and id rules of the embedded pipeline; writes are confined by IAM here
        reader = Reader(self.db, queue, runtime.payload_root, Admission(runtime.limits))
        claimer = Claimer(self.db, queue, owner=owner, lease_seconds=CLAIM_LEASE_SECONDS)
        starter = Starter(
            self.db, update_state, self.store, owner=owner, lease_seconds=PROCESSING_LEASE_SECONDS
        )
        try:
            jobs = claimer.claim(reader.read(messages, batch), batch)
            started = starter.start(
                jobs,
                batch,
                launch=lambda todo, into: self._launch(todo, into, update_state, queue),
            )
            handled = {id(message) for message in batch.done}  # the commit forgets them
            handled |= {id(job.message) for job in started}
            update_state.commit(batch)
        except CirrusError:
            # the whole batch is tried again; what was decided so far is kept
            logger.exception("process: the batch failed; its records will be delivered again")
            return {"batchItemFailures": [{"itemIdentifier": m.id} for m in messages]}
        kept = {id(message) for message in queue.kept}
        return {
            "batchItemFailures": [
                {"itemIdentifier": message.id}
                for message in messages
                if id(message) in kept or id(message) not in handled
            ]
        }

    def _launch(
        self, jobs: list[Job], batch: Batch, update_state: UpdateState, queue: EventSourceQueue
    ) -> list[Job]:
        """Start the executions of ``jobs``; a workflow that is not deployed fails its payload.

        A start that fails for another reason (throttling, say) costs only its own record:
        it is delivered again, and its claim, still held, is resumed once its lease ends.
        """
        launched = []
        for job in jobs:
            workflow = job.payload.workflow
            arn = self.settings.state_machine_arn(workflow)
            execution_input: Any = job.input
            if escaped_length(job.input_text) > self.settings.runtime.url_payload_threshold:
                execution_input = {"url": job.input_url}
            try:
                result = self.sfn.start(arn, job.execution, execution_input)
            except CirrusError:
                logger.exception("process: could not start %s; it will be delivered again", arn)
                queue.kept.append(job.delivery)
                continue
            if result is StartResult.NO_STATE_MACHINE:
                job.outcome = ExecutionOutcome(
                    ExecutionStatus.FAILED,
                    error="StateMachineDoesNotExist",
                    cause=f"workflow {workflow!r} is not deployed: no state machine {arn}",
                )
                update_state.conclude(job, batch)  # the claim is ours: end it FAILED now
                continue
            logger.info(
                "%s %s",
                "started" if result is StartResult.STARTED else "found running",
                execution_arn(arn, job.execution),
            )
            launched.append(job)
        return launched


_FUNCTION: ProcessFunction | None = None


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point: ``cirrus.aws.handlers.process.lambda_handler``."""
    global _FUNCTION
    if _FUNCTION is None:
        _FUNCTION = ProcessFunction(settings_from_environment())
    return _FUNCTION.handle(event, context)
