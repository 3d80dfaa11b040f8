"""The behaviour every state backend must have (runs once per backend in conftest)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cirrus.errors import AlreadyClaimed, ConfigError, PayloadError, StateError
from cirrus.state import (
    ClaimOutcome,
    EventType,
    FinishUpdate,
    NewEvent,
    State,
    StateDB,
    StateRecord,
)
from tests.state.conftest import START, FakeClock

PID = "sentinel-2-l2a/workflow-cog/S2A_1"
LEASE = 60


def pid(n: int, workflow: str = "cog", collections: str = "sentinel-2-l2a") -> str:
    return f"{collections}/workflow-{workflow}/item-{n:05d}"


def make_state(db: StateDB, payload_id: str, state: State, error: str | None = None) -> None:
    """Drive a payload through claim/start/finish to a terminal ``state``."""
    db.claim(payload_id, owner="setup", lease_seconds=LEASE, replace=True)
    db.start(payload_id, "setup-run", owner="setup", lease_seconds=LEASE)
    db.finish(payload_id, state, owner="setup", error=error)


# ---------------------------------------------------------------- claim rules


def test_claim_new_payload_creates_claimed_record(db: StateDB) -> None:
    result = db.claim(PID, owner="w1", lease_seconds=LEASE)

    assert result.outcome is ClaimOutcome.CLAIMED
    assert result.claimed
    record = result.record
    assert record.state is State.CLAIMED
    assert (record.collections, record.workflow, record.itemids) == (
        "sentinel-2-l2a",
        "cog",
        "S2A_1",
    )
    assert record.collections_workflow == "sentinel-2-l2a_cog"
    assert record.created == record.updated == record.claimed_at == START
    assert record.claim_owner == "w1"
    assert record.lease_expires == START + timedelta(seconds=LEASE)
    assert record.executions == ()
    assert db.get(PID) == record


@pytest.mark.parametrize("state", [State.FAILED, State.ABORTED])
def test_failed_and_aborted_are_claimed_without_replace(db: StateDB, state: State) -> None:
    make_state(db, PID, state, error="Boom: broke")

    result = db.claim(PID, owner="w1", lease_seconds=LEASE)

    assert result.outcome is ClaimOutcome.CLAIMED
    assert result.record.previous_state is state
    assert result.record.executions == ("setup-run",)
    assert result.record.created == START


@pytest.mark.parametrize(
    ("state", "outcome"),
    [
        (State.SUCCEEDED, ClaimOutcome.ALREADY_SUCCEEDED),
        (State.INVALID, ClaimOutcome.ALREADY_INVALID),
    ],
)
def test_finished_payloads_need_replace(db: StateDB, state: State, outcome: ClaimOutcome) -> None:
    make_state(db, PID, state)
    before = db.get(PID)

    skipped = db.claim(PID, owner="w1", lease_seconds=LEASE)
    assert skipped.outcome is outcome
    assert not skipped.claimed
    assert skipped.record == before == db.get(PID)

    rerun = db.claim(PID, owner="w1", lease_seconds=LEASE, replace=True)
    assert rerun.outcome is ClaimOutcome.CLAIMED
    assert rerun.record.state is State.CLAIMED
    assert rerun.record.previous_state is state


@pytest.mark.parametrize("replace", [False, True])
@pytest.mark.parametrize("owner", ["w1", "w2"])
def test_live_claim_is_never_handed_out_twice(db: StateDB, replace: bool, owner: str) -> None:
    db.claim(PID, owner="w1", lease_seconds=LEASE)

    result = db.claim(PID, owner=owner, lease_seconds=LEASE, replace=replace)

    assert result.outcome is ClaimOutcome.ALREADY_CLAIMED
    assert result.record.claim_owner == "w1"


@pytest.mark.parametrize("replace", [False, True])
def test_processing_is_never_replaced(db: StateDB, replace: bool) -> None:
    db.claim(PID, owner="w1", lease_seconds=LEASE)
    db.start(PID, "run-1", owner="w1", lease_seconds=LEASE)

    result = db.claim(PID, owner="w2", lease_seconds=LEASE, replace=replace)

    assert result.outcome is ClaimOutcome.ALREADY_PROCESSING
    assert db.get(PID) == result.record


@pytest.mark.parametrize("started", [False, True], ids=["claimed", "processing"])
def test_expired_lease_is_resumed_and_old_owner_locked_out(
    db: StateDB, clock: FakeClock, started: bool
) -> None:
    db.claim(PID, owner="dead", lease_seconds=LEASE)
    if started:
        db.start(PID, "run-1", owner="dead", lease_seconds=LEASE)
    clock.advance(LEASE + 1)

    result = db.claim(PID, owner="w2", lease_seconds=LEASE)

    assert result.outcome is ClaimOutcome.RESUMED
    assert result.claimed
    assert result.record.state is State.CLAIMED
    assert result.record.claim_owner == "w2"
    assert result.record.executions == (("run-1",) if started else ())
    with pytest.raises(AlreadyClaimed, match="dead"):
        db.start(PID, "run-2", owner="dead", lease_seconds=LEASE)
    with pytest.raises(AlreadyClaimed):
        db.finish(PID, State.SUCCEEDED, owner="dead")
    assert db.start(PID, "run-2", owner="w2", lease_seconds=LEASE).executions[-1] == "run-2"


def test_lease_still_live_until_it_expires(db: StateDB, clock: FakeClock) -> None:
    db.claim(PID, owner="w1", lease_seconds=LEASE)
    clock.advance(LEASE - 1)

    assert db.claim(PID, owner="w2", lease_seconds=LEASE).outcome is ClaimOutcome.ALREADY_CLAIMED


def test_claim_many_applies_rules_per_item_in_order(db: StateDB) -> None:
    make_state(db, pid(1), State.SUCCEEDED)
    make_state(db, pid(2), State.FAILED)
    db.claim(pid(3), owner="other", lease_seconds=LEASE)

    results = db.claim_many(
        [(pid(0), False), (pid(1), False), (pid(2), False), (pid(3), True), (pid(1), True)],
        owner="w1",
        lease_seconds=LEASE,
    )

    assert [r.outcome for r in results] == [
        ClaimOutcome.CLAIMED,
        ClaimOutcome.ALREADY_SUCCEEDED,
        ClaimOutcome.CLAIMED,
        ClaimOutcome.ALREADY_CLAIMED,
        ClaimOutcome.CLAIMED,
    ]
    assert [r.payload_id for r in results] == [pid(0), pid(1), pid(2), pid(3), pid(1)]
    assert db.get(pid(1)) is not None and db.get(pid(1)).state is State.CLAIMED  # type: ignore[union-attr]


def test_claim_many_starts_new_payloads_whose_execution_is_given(
    db: StateDB, clock: FakeClock
) -> None:
    make_state(db, pid(1), State.FAILED)
    now = clock.advance(5)

    results = db.claim_many(
        [(pid(0), False), (pid(1), False), (pid(2), False)],
        owner="w1",
        lease_seconds=LEASE,
        start={pid(0): "run-1", pid(1): "run-1"},
    )

    assert [r.outcome for r in results] == [ClaimOutcome.CLAIMED] * 3
    new, rerun, plain = (result.record for result in results)
    # a payload with no record is started in the same step
    assert (new.state, new.executions, new.claim_owner) == (State.PROCESSING, ("run-1",), "w1")
    assert new.started == new.claimed_at == new.created == now
    assert new.lease_expires == now + timedelta(seconds=LEASE)
    assert db.get(pid(0)) == new
    # one with a record is only claimed (its next execution is not "run-1"), and one
    # without an execution given is only claimed
    assert (rerun.state, rerun.executions) == (State.CLAIMED, ("setup-run",))
    assert (plain.state, plain.executions) == (State.CLAIMED, ())
    # the started one finishes like any other, with its duration
    clock.advance(2)
    (done,) = db.finish_many([FinishUpdate(pid(0), State.SUCCEEDED, owner="w1")])
    assert isinstance(done, StateRecord) and done.duration == 2.0


def test_not_held_names_the_payloads_an_owner_lost(db: StateDB) -> None:
    db.claim_many(
        [(pid(n), False) for n in range(4)],
        owner="w1",
        lease_seconds=LEASE,
        start={pid(0): "run-1"},
    )
    # pid(1) stays CLAIMED; pid(2) is ended by someone else (an abort); pid(3) is taken over
    db.finish(pid(2), State.ABORTED, owner=None, error="Aborted: by hand")
    db.finish(pid(3), State.FAILED, owner="w1")
    db.claim(pid(3), owner="w2", lease_seconds=LEASE, replace=True)
    make_state(db, pid(4), State.SUCCEEDED)

    ids = [pid(n) for n in range(6)]  # pid(5) has no record
    assert db.not_held(ids, "w1") == {pid(2), pid(3), pid(4), pid(5)}
    assert db.not_held(ids, "w2") == {pid(0), pid(1), pid(2), pid(4), pid(5)}
    assert db.not_held([], "w1") == set()


def test_claim_many_claims_a_repeated_id_once(db: StateDB) -> None:
    results = db.claim_many([(PID, False), (PID, True)], owner="w1", lease_seconds=LEASE)

    assert [r.outcome for r in results] == [ClaimOutcome.CLAIMED, ClaimOutcome.ALREADY_CLAIMED]


def test_claim_many_with_bad_id_claims_nothing(db: StateDB) -> None:
    with pytest.raises(PayloadError, match="not-an-id"):
        db.claim_many([(pid(1), False), ("not-an-id", False)], owner="w1", lease_seconds=LEASE)

    assert db.get(pid(1)) is None


def test_lease_must_be_positive(db: StateDB) -> None:
    with pytest.raises(StateError, match="lease_seconds"):
        db.claim(PID, owner="w1", lease_seconds=0)


# ---------------------------------------------------------------- start / renew


def test_start_moves_to_processing_and_appends_execution(db: StateDB, clock: FakeClock) -> None:
    make_state(db, PID, State.FAILED)
    db.claim(PID, owner="w1", lease_seconds=LEASE)
    now = clock.advance(5)

    record = db.start(PID, "run-2", owner="w1", lease_seconds=LEASE)

    assert record.state is State.PROCESSING
    assert record.executions == ("setup-run", "run-2")
    assert record.updated == now
    assert record.lease_expires == now + timedelta(seconds=LEASE)
    assert db.get(PID) == record


def test_start_again_with_same_execution_is_harmless(db: StateDB) -> None:
    db.claim(PID, owner="w1", lease_seconds=LEASE)
    first = db.start(PID, "run-1", owner="w1", lease_seconds=LEASE)

    again = db.start(PID, "run-1", owner="w1", lease_seconds=LEASE)

    assert again.executions == first.executions == ("run-1",)
    with pytest.raises(AlreadyClaimed, match="run-1"):
        db.start(PID, "run-2", owner="w1", lease_seconds=LEASE)


def test_start_requires_the_claim(db: StateDB) -> None:
    with pytest.raises(AlreadyClaimed, match="claim it first"):
        db.start(PID, "run-1", owner="w1", lease_seconds=LEASE)
    db.claim(PID, owner="w1", lease_seconds=LEASE)
    with pytest.raises(AlreadyClaimed, match="w1"):
        db.start(PID, "run-1", owner="w2", lease_seconds=LEASE)


def test_start_many_reports_lost_claims_without_raising(db: StateDB) -> None:
    db.claim_many([(pid(1), False), (pid(2), False)], owner="w1", lease_seconds=LEASE)
    db.claim(pid(3), owner="other", lease_seconds=LEASE)

    results = db.start_many(
        [(pid(1), "a"), (pid(3), "b"), (pid(2), "c")], owner="w1", lease_seconds=LEASE
    )

    assert isinstance(results[0], StateRecord) and results[0].state is State.PROCESSING
    assert isinstance(results[1], AlreadyClaimed)
    assert isinstance(results[2], StateRecord) and results[2].executions == ("c",)
    assert db.get(pid(3)).state is State.CLAIMED  # type: ignore[union-attr]


def test_renew_keeps_a_long_execution_claimed(db: StateDB, clock: FakeClock) -> None:
    db.claim(PID, owner="w1", lease_seconds=LEASE)
    db.start(PID, "run-1", owner="w1", lease_seconds=LEASE)
    renewed_at = clock.advance(LEASE - 10)

    assert db.renew([PID], owner="w1", lease_seconds=LEASE) == []
    now = clock.advance(LEASE - 10)

    assert db.claim(PID, owner="w2", lease_seconds=LEASE).outcome is ClaimOutcome.ALREADY_PROCESSING
    record = db.get(PID)
    assert record is not None and record.lease_expires is not None
    assert record.lease_expires == renewed_at + timedelta(seconds=LEASE)
    assert record.lease_expires > now, "the renewed lease has not run out"


def test_renew_reports_claims_no_longer_held(db: StateDB, clock: FakeClock) -> None:
    db.claim(pid(1), owner="w1", lease_seconds=LEASE)
    db.claim(pid(2), owner="w1", lease_seconds=LEASE)
    clock.advance(LEASE + 1)
    db.claim(pid(2), owner="w2", lease_seconds=LEASE)

    lost = db.renew([pid(1), pid(2), pid(3)], owner="w1", lease_seconds=LEASE)

    assert lost == [pid(2), pid(3)]
    assert db.get(pid(2)).claim_owner == "w2"  # type: ignore[union-attr]


# ---------------------------------------------------------------- finish / release


def test_finish_succeeded_clears_claim_and_keeps_output(db: StateDB, clock: FakeClock) -> None:
    db.claim(PID, owner="w1", lease_seconds=LEASE)
    db.start(PID, "run-1", owner="w1", lease_seconds=LEASE)
    now = clock.advance(30)

    record = db.finish(PID, State.SUCCEEDED, owner="w1", output_url="file:///out.json")

    assert record.state is State.SUCCEEDED
    assert record.updated == now
    assert record.output_url == "file:///out.json"
    assert record.claim_owner is None and record.lease_expires is None
    assert record.claimed_at == START
    assert db.get(PID) == record


def test_last_error_is_set_on_failure_and_kept_after_success(db: StateDB) -> None:
    make_state(db, PID, State.FAILED, error="TaskError: no assets")
    assert db.get(PID).last_error == "TaskError: no assets"  # type: ignore[union-attr]

    make_state(db, PID, State.SUCCEEDED)

    record = db.get(PID)
    assert record is not None
    assert record.state is State.SUCCEEDED
    assert record.last_error == "TaskError: no assets"


def test_finish_rejects_non_terminal_state(db: StateDB) -> None:
    db.claim(PID, owner="w1", lease_seconds=LEASE)
    with pytest.raises(StateError, match="PROCESSING"):
        db.finish(PID, State.PROCESSING, owner="w1")


def test_finish_by_someone_else_is_refused(db: StateDB) -> None:
    db.claim(PID, owner="w1", lease_seconds=LEASE)
    with pytest.raises(AlreadyClaimed):
        db.finish(PID, State.FAILED, owner="w2", error="X: y")
    assert db.get(PID).state is State.CLAIMED  # type: ignore[union-attr]


def test_finish_without_owner_is_unconditional_and_creates(db: StateDB) -> None:
    record = db.finish(PID, State.INVALID, owner=None, error="InvalidInput: no features")

    assert record.state is State.INVALID
    assert record.last_error == "InvalidInput: no features"
    assert db.claim(PID, owner="w1", lease_seconds=LEASE).outcome is ClaimOutcome.ALREADY_INVALID


def test_finish_many_in_one_call(db: StateDB) -> None:
    db.claim_many([(pid(n), False) for n in range(3)], owner="w1", lease_seconds=LEASE)
    db.start_many([(pid(n), f"run-{n}") for n in range(3)], owner="w1", lease_seconds=LEASE)

    results = db.finish_many(
        [
            FinishUpdate(pid(0), State.SUCCEEDED, owner="w1", output_url="u0"),
            FinishUpdate(pid(1), State.FAILED, owner="w1", error="E: 1"),
            FinishUpdate(pid(2), State.ABORTED, owner="nobody"),
        ]
    )

    assert [getattr(r, "state", None) for r in results[:2]] == [State.SUCCEEDED, State.FAILED]
    assert isinstance(results[2], AlreadyClaimed)
    assert db.get(pid(2)).state is State.PROCESSING  # type: ignore[union-attr]


def test_finish_many_with_bad_state_writes_nothing(db: StateDB) -> None:
    db.claim_many([(pid(0), False), (pid(1), False)], owner="w1", lease_seconds=LEASE)
    with pytest.raises(StateError):
        db.finish_many(
            [
                FinishUpdate(pid(0), State.SUCCEEDED, owner="w1"),
                FinishUpdate(pid(1), State.CLAIMED, owner="w1"),
            ]
        )
    assert db.get(pid(0)).state is State.CLAIMED  # type: ignore[union-attr]


def test_release_of_a_new_claim_deletes_the_record(db: StateDB) -> None:
    db.claim(PID, owner="w1", lease_seconds=LEASE)

    assert db.release(PID, "w1") is True
    assert db.get(PID) is None


def test_release_restores_the_previous_terminal_state(db: StateDB) -> None:
    make_state(db, PID, State.SUCCEEDED)
    db.claim(PID, owner="w1", lease_seconds=LEASE, replace=True)

    assert db.release(PID, "w2") is False
    assert db.release(PID, "w1") is True
    record = db.get(PID)
    assert record is not None
    assert record.state is State.SUCCEEDED
    assert record.claim_owner is None and record.previous_state is None


def test_release_after_start_does_nothing(db: StateDB) -> None:
    db.claim(PID, owner="w1", lease_seconds=LEASE)
    db.start(PID, "run-1", owner="w1", lease_seconds=LEASE)

    assert db.release(PID, "w1") is False
    assert db.get(PID).state is State.PROCESSING  # type: ignore[union-attr]


# ---------------------------------------------------------------- lookups


def test_get_many_returns_existing_records_only(db: StateDB) -> None:
    db.claim_many([(pid(n), False) for n in range(3)], owner="w1", lease_seconds=LEASE)

    found = db.get_many([pid(0), pid(2), pid(9)])

    assert set(found) == {pid(0), pid(2)}
    assert found[pid(2)].payload_id == pid(2)


def test_get_many_handles_large_batches(db: StateDB) -> None:
    # past SQLite's 500 ids per lookup and DynamoDB's 100 keys per BatchGetItem
    ids = [pid(n) for n in range(600)]
    db.claim_many([(i, False) for i in ids], owner="w1", lease_seconds=LEASE)

    assert len(db.get_many([*ids, pid(5000)])) == 600


def test_records_round_trip_through_dicts(db: StateDB) -> None:
    make_state(db, PID, State.FAILED, error="E: x")
    record = db.get(PID)
    assert record is not None

    assert StateRecord.from_dict(record.to_dict()) == record


# ---------------------------------------------------------------- query


@pytest.fixture
def populated(db: StateDB, clock: FakeClock) -> StateDB:
    """Ten records, one a minute: even ones SUCCEEDED, odd FAILED; two workflows."""
    for n in range(10):
        payload_id = pid(
            n, workflow="cog" if n < 6 else "ndvi", collections="s2" if n % 3 else "l8"
        )
        make_state(
            db,
            payload_id,
            State.SUCCEEDED if n % 2 == 0 else State.FAILED,
            error=None if n % 2 == 0 else f"{'Timeout' if n == 3 else 'TaskError'}: fail {n}",
        )
        clock.advance(60)
    return db


def _ids(records: list[StateRecord]) -> list[int]:
    return [int(r.itemids.rsplit("-", 1)[1]) for r in records]


def test_query_returns_newest_first(populated: StateDB) -> None:
    page = populated.query()

    assert _ids(page.records) == list(range(9, -1, -1))
    assert page.next_token is None


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"state": State.FAILED}, [9, 7, 5, 3, 1]),
        ({"state": "SUCCEEDED"}, [8, 6, 4, 2, 0]),
        ({"workflow": "ndvi"}, [9, 8, 7, 6]),
        ({"collections_workflow": "s2_cog"}, [5, 4, 2, 1]),
        ({"collections_workflow": "l8_ndvi", "state": State.FAILED}, [9]),
        ({"since": timedelta(minutes=3)}, [9, 8, 7]),
        ({"since": "3m"}, [9, 8, 7]),
        ({"error_prefix": "TaskError"}, [9, 7, 5, 1]),
        ({"error_prefix": "Timeout", "state": State.FAILED, "since": "1h"}, [3]),
        ({"error_prefix": "Task%"}, []),
        ({"workflow": "cog", "state": State.SUCCEEDED, "since": "6m"}, [4]),
    ],
    ids=lambda value: "-".join(map(str, value)) if isinstance(value, dict) else None,
)
def test_query_filters(populated: StateDB, filters: dict[str, object], expected: list[int]) -> None:
    assert _ids(populated.query(**filters).records) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "filters",
    [{}, {"state": State.FAILED}, {"workflow": "cog"}, {"collections_workflow": "s2_cog"}],
    ids=["all", "state", "workflow", "collections_workflow"],
)
@pytest.mark.parametrize("limit", [1, 3, 4])
def test_query_pages_cover_every_record_once(
    populated: StateDB, filters: dict[str, object], limit: int
) -> None:
    expected = _ids(populated.query(**filters).records)  # type: ignore[arg-type]
    seen: list[int] = []
    token = None
    for _ in range(20):
        page = populated.query(limit=limit, next_token=token, **filters)  # type: ignore[arg-type]
        assert len(page.records) <= limit
        seen.extend(_ids(page.records))
        token = page.next_token
        if token is None:
            break

    assert seen == expected


@pytest.mark.parametrize(
    "filters",
    [{}, {"state": State.FAILED}, {"workflow": "cog", "since": "8m"}],
    ids=["all", "state", "workflow-since"],
)
@pytest.mark.parametrize("limit", [1, 3])
def test_ascending_pages_give_the_same_records_oldest_first(
    populated: StateDB, filters: dict[str, object], limit: int
) -> None:
    expected = _ids(populated.query(**filters).records)  # type: ignore[arg-type]
    seen: list[int] = []
    token = None
    for _ in range(20):
        page = populated.query(limit=limit, next_token=token, ascending=True, **filters)  # type: ignore[arg-type]
        seen.extend(_ids(page.records))
        token = page.next_token
        if token is None:
            break

    assert seen == expected[::-1]


def test_ascending_pages_break_ties_on_payload_id(db: StateDB) -> None:
    db.claim_many([(pid(n), False) for n in range(5)], owner="w1", lease_seconds=LEASE)

    first = db.query(limit=2, ascending=True)
    rest = db.query(next_token=first.next_token, ascending=True)

    assert _ids(first.records) + _ids(rest.records) == [0, 1, 2, 3, 4]


def test_query_pages_break_ties_on_payload_id(db: StateDB) -> None:
    db.claim_many([(pid(n), False) for n in range(5)], owner="w1", lease_seconds=LEASE)

    first = db.query(limit=2)
    rest = db.query(next_token=first.next_token)

    assert _ids(first.records) + _ids(rest.records) == [4, 3, 2, 1, 0]


def test_query_rejects_bad_arguments(db: StateDB) -> None:
    with pytest.raises(ConfigError, match="next_token"):
        db.query(next_token="garbage!")
    with pytest.raises(ConfigError, match="RUNNING"):
        db.query(state="RUNNING")
    with pytest.raises(ConfigError, match="since"):
        db.query(since="3 weeks")
    with pytest.raises(ConfigError, match="limit"):
        db.query(limit=0)


def test_counts_per_workflow_and_state(populated: StateDB) -> None:
    assert populated.counts() == {
        ("cog", State.SUCCEEDED): 3,
        ("cog", State.FAILED): 3,
        ("ndvi", State.SUCCEEDED): 2,
        ("ndvi", State.FAILED): 2,
    }
    assert populated.counts(since="2m") == {("ndvi", State.SUCCEEDED): 1, ("ndvi", State.FAILED): 1}
    assert populated.counts(group_by="collections_workflow")[("l8_ndvi", State.FAILED)] == 1


# ---------------------------------------------------------------- events


def test_events_are_recorded_and_followed(db: StateDB, clock: FakeClock) -> None:
    first = db.add_event(PID, EventType.CLAIMED_PROCESSING, input_url="file:///in.json")
    clock.advance(1)
    added = db.add_events(
        [
            NewEvent(PID, EventType.STARTED_PROCESSING, execution="run-1"),
            NewEvent(pid(2), EventType.ALREADY_SUCCEEDED),
            NewEvent(PID, EventType.FAILED, execution="run-1", error="E: x", time=START),
        ]
    )

    assert first.time == START and first.input_url == "file:///in.json"
    assert [e.id for e in added] == [first.id + 1, first.id + 2, first.id + 3]
    assert added[0].time == clock.now and added[2].time == START
    assert db.events() == [first, *added]
    assert [e.event_type for e in db.events(PID)] == [
        EventType.CLAIMED_PROCESSING,
        EventType.STARTED_PROCESSING,
        EventType.FAILED,
    ]
    assert db.events(after_id=added[0].id) == added[1:]
    assert db.events(PID, after_id=first.id, limit=1) == [added[0]]
    assert db.events(after_id=added[-1].id) == []

    later = db.add_event(PID, EventType.SUCCEEDED, output_url="file:///out.json")
    assert db.events(after_id=added[-1].id) == [later]


def test_batch_writes_record_events_in_the_same_step(db: StateDB) -> None:
    db.claim_many(
        [(PID, False)],
        owner="w1",
        lease_seconds=LEASE,
        events=[NewEvent(PID, EventType.CLAIMED_PROCESSING)],
    )
    db.start_many(
        [(PID, "run-1")],
        owner="w1",
        lease_seconds=LEASE,
        events=[NewEvent(PID, EventType.STARTED_PROCESSING, execution="run-1")],
    )
    db.finish_many(
        [FinishUpdate(PID, State.FAILED, owner="w1", error="E: x")],
        events=[NewEvent(PID, EventType.FAILED, execution="run-1", error="E: x")],
    )

    assert [e.event_type for e in db.events(PID)] == [
        EventType.CLAIMED_PROCESSING,
        EventType.STARTED_PROCESSING,
        EventType.FAILED,
    ]
    assert [e.id for e in db.events(PID)] == [1, 2, 3]


def test_rejected_batch_records_no_events(db: StateDB) -> None:
    with pytest.raises(StateError):
        db.finish_many(
            [FinishUpdate(PID, State.PROCESSING)],
            events=[NewEvent(PID, EventType.FAILED)],
        )
    assert db.events() == []


# ---------------------------------------------------------------- lifecycle


def test_closed_database_refuses_work(db: StateDB) -> None:
    db.close()
    with pytest.raises(StateError, match="closed"):
        db.get(PID)


def test_naive_clock_is_refused(db: StateDB, clock: FakeClock) -> None:
    clock.now = clock.now.replace(tzinfo=None)
    with pytest.raises(ConfigError, match="naive"):
        db.claim(PID, owner="w1", lease_seconds=LEASE)


# ---------------------------------------------------------------- execution times


def test_finishing_an_execution_records_its_start_and_duration(
    db: StateDB, clock: FakeClock
) -> None:
    from cirrus.state import execution_times

    db.claim(PID, owner="w1", lease_seconds=LEASE)
    clock.advance(2)
    started = db.start(PID, "run-1", owner="w1", lease_seconds=LEASE)
    assert started.started == clock.now and started.duration is None
    db.add_event(PID, EventType.STARTED_PROCESSING, execution="run-1", time=clock.now)
    ended = clock.advance(12.5)
    clock.advance(1)  # the finish is written a second after the execution ended
    done = db.finish_many(
        [FinishUpdate(PID, State.FAILED, owner="w1", error="E: m", ended=ended)],
        events=[NewEvent(PID, EventType.FAILED, execution="run-1", error="E: m", time=ended)],
    )[0]
    assert isinstance(done, StateRecord)
    assert done.duration == pytest.approx(12.5)
    again = db.get(PID)
    assert again is not None and again.duration == pytest.approx(12.5)
    assert again.started == started.started
    assert StateRecord.from_dict(again.to_dict()) == again

    (run,) = execution_times(db.events(PID))
    assert (run.execution, run.status, run.error) == ("run-1", "FAILED", "E: m")
    assert run.started == started.started and run.ended == ended
    assert run.duration == pytest.approx(12.5)


def test_a_second_execution_replaces_the_duration(db: StateDB, clock: FakeClock) -> None:
    make_state(db, PID, State.FAILED)
    db.claim(PID, owner="w2", lease_seconds=LEASE)
    second = db.start(PID, "run-2", owner="w2", lease_seconds=LEASE)
    assert second.started == clock.now
    clock.advance(3)
    assert db.finish(PID, State.SUCCEEDED, owner="w2").duration == pytest.approx(3)


def test_event_counts_per_period_and_type(db: StateDB, clock: FakeClock) -> None:
    make_state(db, pid(1), State.FAILED)
    db.add_event(pid(1), EventType.FAILED)
    db.add_event(pid(2), EventType.FAILED)
    clock.advance(3600)
    db.add_event(pid(1), EventType.SUCCEEDED)
    db.add_event(pid(1), EventType.SUCCEEDED)

    hours = db.event_counts(since=START, period="hour")
    failed = [
        (c.period, c.count, c.unique_count) for c in hours if c.event_type is EventType.FAILED
    ]
    assert failed == [("2024-05-01T12", 2, 2)]
    succeeded = [(c.period, c.count, c.unique_count) for c in hours if c.event_type == "SUCCEEDED"]
    assert succeeded == [("2024-05-01T13", 2, 1)]
    recent = db.event_counts(since=clock.now, period="minute")
    assert [(c.period, c.event_type, c.count) for c in recent] == [
        ("2024-05-01T13:00", EventType.SUCCEEDED, 2)
    ]


def test_counts_follow_every_transition(db: StateDB, clock: FakeClock) -> None:
    """Counts agree with the records after claims, releases, starts, finishes and reruns."""

    def truth() -> dict[tuple[str, State], int]:
        found: dict[tuple[str, State], int] = {}
        for record in db.query().records:
            key = (record.workflow, record.state)
            found[key] = found.get(key, 0) + 1
        return found

    ids = [pid(n, workflow="cog" if n % 2 else "ndvi") for n in range(6)]
    db.claim_many([(p, False) for p in ids], owner="w1", lease_seconds=LEASE)
    assert db.counts() == truth()
    assert db.release(ids[5], "w1")  # a claim that never started: the record goes
    assert db.counts() == truth()
    db.start_many([(p, "run-1") for p in ids[:5]], owner="w1", lease_seconds=LEASE)
    assert db.counts() == truth()
    db.finish_many(
        [
            FinishUpdate(p, State.SUCCEEDED if n % 2 else State.FAILED, owner="w1")
            for n, p in enumerate(ids[:4])
        ]
    )
    assert db.counts() == truth()
    db.claim_many([(p, True) for p in ids[:4]], owner="w2", lease_seconds=LEASE)  # reruns
    assert db.counts() == truth()
    clock.advance(LEASE + 1)
    db.claim(ids[4], owner="w3", lease_seconds=LEASE)  # resumed after its lease ran out
    db.finish(pid(99), State.ABORTED, owner=None)  # an operator's finish makes a record
    assert db.counts() == truth()
    assert sum(db.counts().values()) == 6
