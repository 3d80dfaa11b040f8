"""Where a running pipeline keeps things, and how hard it works."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from cirrus._backends import Origin, resolve
from cirrus.errors import ConfigError
from cirrus.state.resolve import STATE_BACKENDS

if TYPE_CHECKING:
    from cirrus.project import ProjectConfig

__all__ = ["RuntimeSettings"]


@dataclass(frozen=True)
class RuntimeSettings:
    """Everything the runtime needs to know about its surroundings.

    Built from a project's configuration with :meth:`from_config`; every location is a URL or
    path so that any of them can move to S3 or another backend.
    """

    state_db: str
    """State database URL (``sqlite:///...``, a ``.db`` path, ``memory://``)."""
    queue: str
    """Work queue URL (``sqlite:///...``, a ``.db`` path, ``memory://``)."""
    payload_root: str
    """Root for ``executions/<id>/<execution>/input.json`` and friends."""
    data_root: str
    """Root for relative ``path_template`` locations (assets and items)."""
    publish_log: str | None = None
    """NDJSON file that receives every published item."""
    publish_webhook: str | None = None
    """URL that receives every published item by POST."""
    publish_topic: str | None = None
    """SNS topic (ARN or ``sns://<name>``) that receives one message per published item."""
    workflow_event_topic: str | None = None
    """SNS topic (ARN or ``sns://<name>``) that receives every recorded workflow event."""
    workers: int = 4
    """Payloads executed at once in each process (threads: they overlap waiting)."""
    processes: int = 1
    """Worker processes (cores) draining the queue together."""
    lease_seconds: float = 900
    """How long a claim (and a received message) lasts without a heartbeat."""
    url_payload_threshold: int = 120_000
    """Payloads longer than this (as JSON escaped twice) travel by ``{"url"}``."""
    batch_size: int = 200
    """Messages received, claimed and finished together."""
    keep_history: str = "failed"
    """Which executions keep their state history as ``history.json`` beside their input:
    ``all``, ``failed`` (every one that did not succeed) or ``none``."""
    time_scale: float = 1.0
    """Multiplies Wait and Retry delays (0 makes them instant, for tests)."""
    log_level: str = "INFO"
    """Lines of task logs below this level are not kept (``DEBUG`` ... ``CRITICAL``)."""
    max_log_bytes: int = 1_000_000
    """What one execution's log keeps at most: its first and last half, a marker between."""

    @classmethod
    def from_config(cls, config: ProjectConfig) -> RuntimeSettings:
        """Settings for a project; the queue sits beside a SQLite state database."""
        queue = config.queue or _queue_beside(config.state_db, config.root)
        return cls(
            state_db=config.state_db,
            queue=queue,
            payload_root=config.payload_root,
            data_root=config.data_root,
            publish_log=config.publish_log or None,
            publish_webhook=config.publish_webhook,
            publish_topic=config.publish_topic,
            workflow_event_topic=config.workflow_event_topic,
            workers=config.workers,
            lease_seconds=config.lease_seconds,
            url_payload_threshold=config.url_payload_threshold,
            processes=config.processes,
            keep_history=config.keep_history,
        )

    def with_changes(self, **changes: object) -> RuntimeSettings:
        """A copy with some settings changed (None values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]


def _queue_beside(state_db: str, root: Path) -> str:
    """``queue.db`` in the folder of a SQLite state database, read as ``open_state_db`` does.

    A state database in memory gets a queue in memory; any other (remote, a plugin, or a URL
    that names none, which opening it reports) gets ``<root>/.cirrus/queue.db``.
    """
    try:
        found = resolve(state_db, STATE_BACKENDS)
    except ConfigError:
        found = None
    if found is None or found.origin is not Origin.BUILTIN:
        return str(root / ".cirrus" / "queue.db")
    if found.scheme == "memory":
        return "memory://"
    path = Path(found.location).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    return str(path.with_name("queue.db"))
