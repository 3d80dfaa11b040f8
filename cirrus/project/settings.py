"""Typed, defaulted views of the ``lambda`` and ``batch`` sections of a task definition.

The runtime and the AWS builder read these instead of the raw mapping, so defaults live
in one place. Build them only from definitions that passed :func:`check_definition`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["BatchSettings", "LambdaSettings", "environment_values"]

DEFAULT_HANDLER = "task.handler"


def environment_values(*mappings: Any) -> dict[str, str]:
    """Merge environment mappings (later wins), turning values into strings.

    Booleans become ``true``/``false`` as shells and YAML users expect.
    """
    merged: dict[str, str] = {}
    for mapping in mappings:
        if not isinstance(mapping, dict):
            continue
        for key, value in mapping.items():
            if isinstance(value, bool):
                merged[str(key)] = "true" if value else "false"
            else:
                merged[str(key)] = str(value)
    return merged


@dataclass(frozen=True)
class LambdaSettings:
    """How a component runs as a Lambda function.

    Attributes:
        handler: ``module.function`` inside the code folder; ``None`` when ``image`` is set.
        image: container image URI, or ``None`` for code-based functions.
        memory: memory in MB.
        timeout: seconds before the run is stopped.
        environment: variables set for the run (component-wide ones merged under these).
        iam_statements: extra IAM policy statements for the function's role.
    """

    handler: str | None = DEFAULT_HANDLER
    image: str | None = None
    memory: int = 1024
    timeout: int = 300
    environment: dict[str, str] = field(default_factory=dict)
    iam_statements: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_definition(
        cls, definition: dict[str, Any], default_handler: str = DEFAULT_HANDLER
    ) -> LambdaSettings | None:
        """The settings of ``definition['lambda']``, or ``None`` when absent or disabled.

        Args:
            definition: a checked ``definition.yml`` mapping.
            default_handler: the handler when the section names none.
        """
        section = definition.get("lambda")
        if not isinstance(section, dict) or section.get("enabled", True) is False:
            return None
        image = section.get("image")
        return cls(
            handler=None if image else section.get("handler", default_handler),
            image=image,
            memory=section.get("memory", cls.memory),
            timeout=section.get("timeout", cls.timeout),
            environment=environment_values(
                definition.get("environment"), section.get("environment")
            ),
            iam_statements=list(section.get("iam_statements", [])),
        )


@dataclass(frozen=True)
class BatchSettings:
    """How a task runs as a Batch job.

    Attributes:
        image: container image URI (``None``: built from the task's Dockerfile.batch).
        vcpu: vCPUs for the job.
        memory: memory in MB.
        gpu: GPUs for the job.
        job_queue: an existing job queue to submit to, or ``None``.
        compute_environment: kind of compute environment created for the task when no
            ``job_queue`` or ``resources`` are given (``fargate`` by default).
        retry: attempts before the job fails.
        timeout: seconds before the job is stopped, or ``None`` for no limit.
        environment: variables set for the job (component-wide ones merged under these).
        resources: raw CloudFormation (a mapping with ``Resources``) used instead of the
            generated resources, or ``None``.
    """

    image: str | None = None
    vcpu: float = 1
    memory: int = 2048
    gpu: int = 0
    job_queue: str | None = None
    compute_environment: str | None = "fargate"
    retry: int = 1
    timeout: int | None = None
    environment: dict[str, str] = field(default_factory=dict)
    resources: dict[str, Any] | None = None

    @classmethod
    def from_definition(cls, definition: dict[str, Any]) -> BatchSettings | None:
        """The settings of ``definition['batch']``, or ``None`` when absent or disabled."""
        section = definition.get("batch")
        if not isinstance(section, dict) or section.get("enabled", True) is False:
            return None
        own_queue = "job_queue" in section or "resources" in section
        return cls(
            image=section.get("image"),
            vcpu=section.get("vcpu", cls.vcpu),
            memory=section.get("memory", cls.memory),
            gpu=section.get("gpu", cls.gpu),
            job_queue=section.get("job_queue"),
            compute_environment=section.get(
                "compute_environment", None if own_queue else "fargate"
            ),
            retry=section.get("retry", cls.retry),
            timeout=section.get("timeout"),
            environment=environment_values(
                definition.get("environment"), section.get("environment")
            ),
            resources=section.get("resources"),
        )
