"""What a worker leaves out of a commit for payloads whose claim it lost meanwhile."""

from __future__ import annotations

from cirrus.runtime.jobs import Batch
from cirrus.runtime.outcomes import Outcome, PayloadResult
from cirrus.state import FinishUpdate, NewEvent, State
from cirrus.state.models import EventType


def _ended(batch: Batch, payload_id: str, execution: str) -> None:
    batch.finishes.append(FinishUpdate(payload_id, State.SUCCEEDED, owner="w1"))
    batch.events.append(NewEvent(payload_id, EventType.SUCCEEDED, execution=execution))
    batch.chained.append(f'{{"after": "{payload_id}"}}')
    batch.chain_keys.append(f"{payload_id}/{execution}/0")
    batch.add_result(PayloadResult(payload_id, Outcome.SUCCEEDED))


def test_only_the_lost_payload_loses_its_end_and_its_next_link() -> None:
    # ids join item ids with "/": the lost "a" must not take the links of "a/b"
    lost, kept = "c/workflow-w/a", "c/workflow-w/a/b"
    batch = Batch()
    _ended(batch, lost, "e1-0001")
    _ended(batch, kept, "e2-0001")

    batch.drop_lost({lost})

    assert [f.payload_id for f in batch.finishes] == [kept]
    assert [e.payload_id for e in batch.events] == [kept]
    assert batch.chain_keys == [f"{kept}/e2-0001/0"]
    assert [(r.payload_id, r.outcome) for r in batch.unreported] == [
        (lost, Outcome.ABORTED),
        (kept, Outcome.SUCCEEDED),
    ]


def test_a_skipped_duplicate_of_a_lost_payload_keeps_its_own_result() -> None:
    pid = "c/workflow-w/a"
    batch = Batch()
    batch.add_result(PayloadResult(pid, Outcome.DUPLICATE))  # a second copy, skipped
    batch.events.append(NewEvent(pid, EventType.DUPLICATE_ID_ENCOUNTERED))
    _ended(batch, pid, "e1-0001")

    batch.drop_lost({pid})

    assert [r.outcome for r in batch.unreported] == [Outcome.DUPLICATE, Outcome.ABORTED]
    assert [e.event_type for e in batch.events] == [EventType.DUPLICATE_ID_ENCOUNTERED]
