"""How a task runs: the two kinds every layer names the same way."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["TaskKind"]


class TaskKind(StrEnum):
    """A task's variant: in-process and quick, or in its own process (a container on AWS).

    The values are the section names of a task's ``definition.yml`` and the ``<type>`` of
    ``cirrus:<type>:<task>`` resources.
    """

    LAMBDA = "lambda"
    """Runs in-process locally; a Lambda function on AWS."""
    BATCH = "batch"
    """Runs in its own process locally, the payload passed by reference; a Batch job on AWS."""
