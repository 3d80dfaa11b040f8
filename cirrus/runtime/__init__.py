"""The pipeline runtime: process, execute, update state, publish and chain.

from cirrus.runtime import Pipeline

with Pipeline.for_project(project) as pipeline:
    pipeline.submit([payload])
    counts = pipeline.drain()   # counts[Outcome.SUCCEEDED] == counts["succeeded"] == 1
"""

from cirrus.queue import MemoryQueue, Message, SQLiteQueue, WorkQueue, open_queue
from cirrus.runtime.admission import Admission
from cirrus.runtime.dead_letters import dead_letter_count, list_dead_letters
from cirrus.runtime.jobs import execution_name
from cirrus.runtime.limits import IntakeLimits
from cirrus.runtime.outcomes import Outcome, PayloadResult
from cirrus.runtime.pipeline import Pipeline, SubmitReport
from cirrus.runtime.settings import RuntimeSettings
from cirrus.runtime.worker import Worker

__all__ = [
    "Admission",
    "IntakeLimits",
    "MemoryQueue",
    "Message",
    "Outcome",
    "PayloadResult",
    "Pipeline",
    "RuntimeSettings",
    "SQLiteQueue",
    "SubmitReport",
    "WorkQueue",
    "Worker",
    "dead_letter_count",
    "execution_name",
    "list_dead_letters",
    "open_queue",
]
