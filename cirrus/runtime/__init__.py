"""The pipeline runtime: process, execute, update state, publish and chain.

from cirrus.runtime import Pipeline

with Pipeline.for_project(project) as pipeline:
    pipeline.submit([payload])
    print(pipeline.drain())     # Counter({'succeeded': 1})
"""

from cirrus.queue import MemoryQueue, Message, SQLiteQueue, WorkQueue, open_queue
from cirrus.runtime.pipeline import Pipeline, SubmitReport
from cirrus.runtime.settings import RuntimeSettings
from cirrus.runtime.worker import PayloadResult, Worker, execution_name

__all__ = [
    "MemoryQueue",
    "Message",
    "PayloadResult",
    "Pipeline",
    "RuntimeSettings",
    "SQLiteQueue",
    "SubmitReport",
    "WorkQueue",
    "Worker",
    "execution_name",
    "open_queue",
]
