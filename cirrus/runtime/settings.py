"""Where a running pipeline keeps things, and how hard it works."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from cirrus._backends import Origin, resolve
from cirrus.errors import ConfigError
from cirrus.runtime.limits import IntakeLimits
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
    max_receives: int = 5
    """Deliveries of a message before it moves to the queue's dead letters (a SQLite or
    memory queue; an SQS queue has its own redrive policy)."""
    limits: IntakeLimits = field(default_factory=IntakeLimits)
    """What intake accepts: payload size, depth, features, id length, reference reads."""
    allowed_roots: tuple[str, ...] = ()
    """Roots an absolute or URL ``path_template`` may write under, besides the data root."""

    def __post_init__(self) -> None:
        # settings travel to worker processes as JSON (dataclasses.asdict): rebuild the parts
        if isinstance(self.limits, dict):
            object.__setattr__(self, "limits", IntakeLimits(**self.limits))
        if not isinstance(self.allowed_roots, tuple):
            object.__setattr__(self, "allowed_roots", tuple(self.allowed_roots))

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
            max_receives=config.max_receives,
            limits=IntakeLimits(
                max_payload_bytes=config.max_payload_bytes,
                max_depth=config.max_payload_depth,
                max_features=config.max_features,
                max_id_bytes=config.max_id_bytes,
                reference_max_bytes=config.reference_max_bytes,
                reference_timeout_seconds=config.reference_timeout_seconds,
            ),
            allowed_roots=config.allowed_roots,
        )

    @property
    def queue_url(self) -> str:
        """The work queue's URL with this pipeline's receive limit, where the queue takes one.

        A SQLite or memory queue named without options gets ``?max_receives=``; a queue
        URL that sets its own options, an SQS queue (its redrive policy decides) and plugins
        are left as they are.
        """
        return with_receive_limit(self.queue, self.max_receives)

    def with_changes(self, **changes: object) -> RuntimeSettings:
        """A copy with some settings changed (None values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]


def with_receive_limit(url: str, max_receives: int) -> str:
    """``url`` with ``max_receives`` as its option, for the built-in SQLite and memory queues."""
    from cirrus.queue import QUEUE_BACKENDS

    if "?" in url:
        return url  # the URL's own options win
    try:
        found = resolve(url, QUEUE_BACKENDS)
    except ConfigError:
        return url  # opening it reports the problem
    if found.origin is not Origin.BUILTIN or found.scheme not in ("sqlite", "memory"):
        return url
    if found.scheme == "memory":
        return f"memory://?max_receives={max_receives}"
    path = Path(found.location).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    return f"sqlite://{path.as_posix()}?max_receives={max_receives}"


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
