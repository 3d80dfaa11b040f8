"""The ``pre-batch`` task: hand a payload to a Batch job by reference.

Upstream Cirrus's batch pattern runs ``pre-batch`` just before a
``arn:aws:states:::batch:submitJob.sync`` state, since a Batch job takes its payload as a
URL (30 KiB of job parameters at most)::

    pre-batch  ->  batch:submitJob.sync (Parameters: {"url.$": "$.url"})  ->  post-batch

``pre-batch`` stores the payload at ``<payload root>/tmp/batch/<payload id>/<uuid>.json``
and returns ``{"url": ..., "url_out": ...}``; the job reads ``url`` and writes its output to
``url_out`` (the same key with ``_out`` before ``.json``), where ``post-batch`` reads it.
The copies live under ``tmp/``, which an upstream payload bucket expires after 10 days.
"""

from __future__ import annotations

import os
from typing import Any

from cirrus.task.base import Task

__all__ = ["PAYLOAD_ROOT_ENV", "PreBatch"]

PAYLOAD_ROOT_ENV = "CIRRUS_PAYLOAD_ROOT"


class PreBatch(Task):
    """Store the payload for a Batch job and return ``{"url", "url_out"}``.

    The input is a payload or a ``{"url"}`` reference to one. The copy goes under the
    payload root the runner gives (the project's ``payload_root``; on AWS the task handler's
    ``s3://$CIRRUS_PAYLOAD_BUCKET/$CIRRUS_PAYLOAD_ROOT_PREFIX``), else ``$CIRRUS_PAYLOAD_ROOT``.
    """

    name = "pre-batch"
    description = "Stores the payload for a Batch job and returns its url and url_out"
    version = "1.0.0"

    @classmethod
    def handler(cls, payload: dict[str, Any], context: Any = None, **kwargs: Any) -> Any:
        """Store ``payload`` under ``tmp/batch/<payload id>/`` and return where it is.

        Args:
            payload: the payload, or a ``{"url"}`` reference to it.
            context: the Lambda context (unused).
            **kwargs: task options; ``payload_root`` is used, the others are ignored.

        Returns:
            ``{"url": <the copy>, "url_out": <where the job writes its output>}``.

        Raises:
            PayloadError: the input is not a valid payload.
            ConfigError: no payload root is known.
        """
        from cirrus.errors import ConfigError
        from cirrus.payload import Payload
        from cirrus.storage import load_payload, write_json
        from cirrus.task.runner import batch_urls

        data = load_payload(payload)
        model = Payload.from_dict(data, copy_data=False)  # refuse what the job could not run
        root = kwargs.get("payload_root") or os.environ.get(PAYLOAD_ROOT_ENV)
        if not root:
            raise ConfigError(
                "pre-batch does not know where payloads are kept: run it in a project "
                f"(its payload_root), or set {PAYLOAD_ROOT_ENV} (on AWS the task handler "
                "takes it from CIRRUS_PAYLOAD_BUCKET)"
            )
        url, url_out = batch_urls(root, model.id)
        write_json(url, data)
        return {"url": url, "url_out": url_out}

    def process(self, **kwargs: Any) -> list[dict[str, Any]]:
        """The items as they are: the work happens in :meth:`handler`."""
        return self.items_as_dicts
