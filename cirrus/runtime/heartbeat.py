"""The heartbeat: keeps the claims and messages of a worker's batch in hand while it runs.

A claim and a message both lapse after a lease unless renewed; an execution can last longer
than that. While :meth:`Heartbeat.running`, a thread renews every held claim and message
each third of a lease::

    heartbeat = Heartbeat(db, queue, owner=owner, lease_seconds=900)
    with heartbeat.running():
        heartbeat.hold(messages=messages)
        heartbeat.hold(claims=payload_ids)
        ...
        heartbeat.release(claims=finished_ids, messages=deleted)  # before writing their end
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from cirrus.errors import CirrusError

if TYPE_CHECKING:
    from cirrus.queue import Message, WorkQueue
    from cirrus.state import StateDB

__all__ = ["Heartbeat"]

logger = logging.getLogger(__name__)


class Heartbeat:
    """Renews the leases of what a worker holds.

    Args:
        db: the state database holding the claims.
        queue: the work queue holding the messages.
        owner: the worker the claims and messages belong to.
        lease_seconds: how long a claim or a message stays held without renewal.
    """

    def __init__(self, db: StateDB, queue: WorkQueue, *, owner: str, lease_seconds: float) -> None:
        self.db = db
        self.queue = queue
        self.owner = owner
        self.lease_seconds = lease_seconds
        self._claims: set[str] = set()
        self._messages: dict[str, Message] = {}
        # renewing and releasing take turns: a payload being committed is either renewed
        # before its end is written or no longer held when the next beat comes
        self._lock = threading.Lock()
        self._stop: threading.Event | None = None

    @contextmanager
    def running(self) -> Iterator[None]:
        """Run the heartbeat thread for the duration (nested uses share one thread)."""
        if self._stop is not None:
            yield
            return
        stop = self._stop = threading.Event()
        thread = threading.Thread(target=self._beat, args=(stop,), daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            self._stop = None

    def hold(self, *, claims: Iterable[str] = (), messages: Iterable[Message] = ()) -> None:
        """Keep renewing these claims (payload ids) and messages."""
        with self._lock:
            self._claims.update(claims)
            self._messages.update({message.id: message for message in messages})

    def release(self, *, claims: Iterable[str] = (), messages: Iterable[Message] = ()) -> None:
        """Stop renewing these claims and messages (their end is about to be written)."""
        with self._lock:
            self._claims.difference_update(claims)
            for message in messages:
                self._messages.pop(message.id, None)

    def clear(self) -> None:
        """Stop renewing anything (the batch is over, or failed)."""
        with self._lock:
            self._claims.clear()
            self._messages.clear()

    def _beat(self, stop: threading.Event) -> None:
        interval = self.lease_seconds / 3
        while not stop.wait(interval):
            with self._lock:
                self._renew(list(self._claims), list(self._messages.values()))

    def _renew(self, claims: list[str], messages: list[Message]) -> None:
        try:
            if claims:
                lost = self.db.renew(claims, owner=self.owner, lease_seconds=self.lease_seconds)
                if lost:
                    logger.warning("lost the claim on %d payload(s): %s", len(lost), lost[:5])
            if messages:
                self.queue.hide(messages, self.lease_seconds)
        except CirrusError as err:
            # a busy database must not end the heartbeat: try again next beat (the error
            # says what is wrong; the worker's next write meets it too)
            logger.warning("could not renew leases: %s", err)
