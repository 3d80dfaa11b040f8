"""What a deployed function reads from its environment: upstream Cirrus's ``CIRRUS_*`` names.

=================================  ===========================================================
variable                           meaning
=================================  ===========================================================
``CIRRUS_STATE_DB``                the state table: a table name (upstream) or any state URL
``CIRRUS_PAYLOAD_BUCKET``          payloads go to ``s3://<bucket>/<prefix>``
``CIRRUS_PAYLOAD_ROOT_PREFIX``     that prefix (default ``cirrus``)
``CIRRUS_DATA_BUCKET``             ``path_template`` locations are under ``s3://<bucket>``
``CIRRUS_BASE_WORKFLOW_ARN``       ``arn:aws:states:<region>:<account>:stateMachine:<prefix>-``
``CIRRUS_PROCESS_QUEUE_URL``       where chained payloads are sent (update-state)
``CIRRUS_PUBLISH_TOPIC_ARN``       published items (when set)
``CIRRUS_WORKFLOW_EVENT_TOPIC_ARN``  workflow events (when set)
``CIRRUS_LOG_LEVEL``               the functions' log level
=================================  ===========================================================

The cirrus names of the embedded runtime (``CIRRUS_PAYLOAD_ROOT``, ``CIRRUS_DATA_ROOT``,
``CIRRUS_QUEUE``, ...) work too and win where both are set. Every AWS client takes its
endpoint from ``AWS_ENDPOINT_URL`` (and the service-specific variables), as boto3 does.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cirrus._backends import SQLITE_SUFFIXES
from cirrus.errors import ConfigError
from cirrus.project import ProjectConfig
from cirrus.runtime.settings import RuntimeSettings

__all__ = ["AwsSettings", "runtime_environment", "settings_from_environment"]

CLAIM_LEASE_SECONDS = 120.0
"""A claim outlives a ``process`` invocation (15 s at most) and ends before the queue's
180 s visibility timeout hands the message to the next one."""
PROCESSING_LEASE_SECONDS = 7 * 24 * 3600.0
"""A payload stays PROCESSING while its execution runs; update-state ends it. If the
status-change event never comes, a resubmission may claim it again after this long."""


@dataclass(frozen=True)
class AwsSettings:
    """A deployed function's settings.

    Attributes:
        runtime: the runtime's settings (state, payload and data roots, queue).
        base_workflow_arn: state machine ARN of a workflow, less the workflow's name.
        process_queue_url: the process queue's URL, or "" when not set.
    """

    runtime: RuntimeSettings
    base_workflow_arn: str
    process_queue_url: str = ""

    def state_machine_arn(self, workflow: str) -> str:
        """The ARN of ``workflow``'s state machine."""
        if not self.base_workflow_arn:
            raise ConfigError(
                "CIRRUS_BASE_WORKFLOW_ARN is not set: set it to "
                "arn:aws:states:<region>:<account>:stateMachine:<prefix>-"
            )
        return f"{self.base_workflow_arn}{workflow}"


def _state_db_url(value: str) -> str:
    """An upstream table name becomes ``dynamodb://<table>``; URLs and paths stay."""
    if "://" in value or value.lower().endswith(SQLITE_SUFFIXES) or ":" in value:
        return value
    return f"dynamodb://{value}"


def runtime_environment(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with upstream's names read as the runtime reads its own.

    A bare ``CIRRUS_STATE_DB`` table name becomes ``dynamodb://<table>``, and
    ``CIRRUS_PROCESS_QUEUE_URL`` names the work queue (``CIRRUS_QUEUE=sqs://<url>``) unless
    ``CIRRUS_QUEUE`` is set.
    """
    out = dict(env)
    if out.get("CIRRUS_STATE_DB"):
        out["CIRRUS_STATE_DB"] = _state_db_url(out["CIRRUS_STATE_DB"])
    queue_url = out.get("CIRRUS_PROCESS_QUEUE_URL", "")
    if queue_url and not out.get("CIRRUS_QUEUE"):
        out["CIRRUS_QUEUE"] = f"sqs://{queue_url}"
    return out


def settings_from_environment(env: Mapping[str, str] | None = None) -> AwsSettings:
    """The settings a deployed function's environment gives.

    Raises:
        ConfigError: a variable holds a value of the wrong type.
    """
    env = runtime_environment(os.environ if env is None else env)
    queue_url = env.get("CIRRUS_PROCESS_QUEUE_URL", "")
    # a function has no project folder: relative defaults go to its scratch space
    config = ProjectConfig.embedded(Path(tempfile.gettempdir()) / "cirrus", env)
    queue = env.get("CIRRUS_QUEUE") or "memory://"
    runtime = RuntimeSettings.from_config(config).with_changes(queue=queue)
    level = env.get("CIRRUS_LOG_LEVEL")
    if level:
        logging.getLogger("cirrus").setLevel(level.upper())
    return AwsSettings(runtime, env.get("CIRRUS_BASE_WORKFLOW_ARN", ""), queue_url)
