"""The announcing state database: every recorded event reaches the sink, after the write."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cirrus.errors import StateError
from cirrus.runtime import Pipeline
from cirrus.runtime.events import AnnouncingStateDB
from cirrus.state import EventType, FinishUpdate, MemoryStateDB, NewEvent, State
from tests.runtime.conftest import Standin

PAYLOAD = "c/workflow-w/x"


@pytest.fixture
def sent() -> list[list[NewEvent]]:
    return []


@pytest.fixture
def db(sent: list[list[NewEvent]]) -> AnnouncingStateDB:
    return AnnouncingStateDB(MemoryStateDB(), lambda events: sent.append(list(events)))


def test_every_way_of_recording_an_event_announces_it(
    db: AnnouncingStateDB, sent: list[list[NewEvent]]
) -> None:
    def event(kind: EventType) -> list[NewEvent]:
        return [NewEvent(PAYLOAD, kind)]

    db.claim_many(
        [(PAYLOAD, False)], owner="w", lease_seconds=60, events=event(EventType.CLAIMED_PROCESSING)
    )
    db.start_many(
        [(PAYLOAD, "e1")], owner="w", lease_seconds=60, events=event(EventType.STARTED_PROCESSING)
    )
    db.finish_many([FinishUpdate(PAYLOAD, State.SUCCEEDED, "w")], events=event(EventType.SUCCEEDED))
    db.add_event(PAYLOAD, EventType.ALREADY_SUCCEEDED)
    db.finish_many([FinishUpdate(PAYLOAD, State.SUCCEEDED, None)])  # no events: no call
    assert [[e.event_type for e in call] for call in sent] == [
        [EventType.CLAIMED_PROCESSING],
        [EventType.STARTED_PROCESSING],
        [EventType.SUCCEEDED],
        [EventType.ALREADY_SUCCEEDED],
    ]
    # announced with the times the database recorded
    recorded = db.events(PAYLOAD)
    assert [e.time for call in sent for e in call] == [e.time for e in recorded]


def test_an_event_is_announced_only_once_the_database_took_it(
    sent: list[list[NewEvent]],
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise StateError("the database is away")

    inner: Any = Standin(MemoryStateDB(), finish_many=refuse, add_events=refuse)
    db = AnnouncingStateDB(inner, lambda events: sent.append(list(events)))
    with pytest.raises(StateError):
        db.add_events([NewEvent(PAYLOAD, EventType.FAILED)])
    with pytest.raises(StateError):
        db.finish_many(
            [FinishUpdate(PAYLOAD, State.FAILED, None)],
            events=[NewEvent(PAYLOAD, EventType.FAILED)],
        )
    assert sent == []


def test_the_rest_is_the_wrapped_databases(db: AnnouncingStateDB) -> None:
    db.claim(PAYLOAD, owner="w", lease_seconds=60)
    assert db.get(PAYLOAD) == db.inner.get(PAYLOAD)
    assert db.query(state="CLAIMED").records == db.inner.query(state="CLAIMED").records
    assert db.renew([PAYLOAD], owner="w", lease_seconds=60) == []
    assert db.release(PAYLOAD, "w")


def test_every_step_of_the_worker_records_through_the_announcing_database(
    open_pipeline: Callable[..., Pipeline],
) -> None:
    pipeline = open_pipeline()
    plain = pipeline.worker()
    plain.close()
    assert plain.db is pipeline.db  # no topic: nothing in between

    topic = "arn:aws:sns:us-east-1:123456789012:events"
    worker = open_pipeline(workflow_event_topic=topic).worker()
    try:
        assert isinstance(worker.db, AnnouncingStateDB)
        assert worker.db.sink == worker.announcer.announce_events
        steps = (worker.reader, worker.claimer, worker.starter, worker.update_state)
        assert all(step.db is worker.db for step in steps)
        assert worker.heartbeat.db is worker.db
    finally:
        worker.close()
