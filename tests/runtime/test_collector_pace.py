"""A running worker raises the garbage collector's thresholds, and gives them back."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from cirrus.runtime import Worker
from cirrus.runtime.collector_pace import WORKER_THRESHOLDS, fewer_collections
from tests.runtime.conftest import item, payload


@pytest.fixture(autouse=True)
def thresholds_kept() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield saved
    gc.set_threshold(*saved)


def test_the_thresholds_are_raised_while_the_block_runs_and_then_given_back() -> None:
    with fewer_collections():
        assert gc.get_threshold() == WORKER_THRESHOLDS
    assert gc.get_threshold() == (700, 10, 10)


def test_overlapping_runs_give_the_thresholds_back_when_the_last_one_ends() -> None:
    first, second = fewer_collections(), fewer_collections()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold() == WORKER_THRESHOLDS
    second.__exit__(None, None, None)
    assert gc.get_threshold() == (700, 10, 10)


def test_higher_thresholds_of_the_process_are_kept() -> None:
    gc.set_threshold(50_000, 5, 100)
    with fewer_collections():
        assert gc.get_threshold() == (50_000, 20, 100)
    assert gc.get_threshold() == (50_000, 5, 100)


def test_a_collector_switched_off_stays_off() -> None:
    gc.set_threshold(0)
    with fewer_collections():
        assert gc.get_threshold()[0] == 0
    assert gc.get_threshold()[0] == 0


def test_a_worker_runs_with_the_raised_thresholds(open_pipeline: Any) -> None:
    pipeline = open_pipeline()
    seen: list[tuple[int, int, int]] = []
    worker = Worker(
        pipeline.settings,
        pipeline.project,
        state_db=pipeline.db,
        queue=pipeline.queue,
        on_result=lambda result: seen.append(gc.get_threshold()),
    )
    try:
        pipeline.submit([payload(item(f"p-{index}")) for index in range(3)])
        assert worker.run()["succeeded"] == 3
    finally:
        worker.close()
    assert seen == [WORKER_THRESHOLDS] * 3
    assert gc.get_threshold() == (700, 10, 10)
