"""An execution's objects are freed by reference counting as it ends: the worker makes no
reference cycle per payload.

Cycles are only reclaimed by the garbage collector, whose passes then grow with the
payloads in flight; one small cycle per execution (a log and its callback) once cost the
pipeline about a tenth of its throughput.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from cirrus.runtime import Worker
from tests.runtime.conftest import item, payload


@pytest.fixture
def cycles_kept() -> Iterator[list[Any]]:
    """What the collector finds unreachable meanwhile, kept for the test to look at."""
    gc.collect()
    flags = gc.get_debug()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(flags)
        gc.garbage.clear()


def test_running_payloads_leaves_nothing_for_the_garbage_collector(
    open_pipeline: Any, cycles_kept: list[Any]
) -> None:
    pipeline = open_pipeline()
    worker = Worker(pipeline.settings, pipeline.project, state_db=pipeline.db, queue=pipeline.queue)
    try:
        # what is made once (modules, workflows, threads) is made by a first run
        pipeline.submit([payload(item(f"warm-{index}")) for index in range(5)])
        worker.run()
        gc.collect()
        cycles_kept.clear()
        count = 60
        pipeline.submit([payload(item(f"p-{index}")) for index in range(count)])
        assert worker.run()["succeeded"] == count + 5
        gc.collect()
        kinds = sorted({type(thing).__name__ for thing in cycles_kept})
        assert len(cycles_kept) < count, f"{len(cycles_kept)} objects in cycles: {kinds}"
    finally:
        worker.close()
