"""Owner ids, and telling a dead holder on this machine from a live one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from cirrus.runtime.owners import is_dead_local_owner, new_owner

PRINT_OWNER = (
    "import sys; from cirrus.runtime.owners import new_owner; "
    "print(new_owner(), flush=True); sys.stdin.read()"
)
REPO = Path(__file__).resolve().parents[2]


def test_dead_local_owner() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    host_and_pid = new_owner().rsplit(":", 2)
    dead = f"{host_and_pid[0]}:{child.pid}:abc"
    assert is_dead_local_owner(dead)
    assert not is_dead_local_owner(new_owner())  # this process
    assert not is_dead_local_owner(f"other-host:{child.pid}:abc")
    assert not is_dead_local_owner("worker-1")


def test_an_owner_whose_pid_now_belongs_to_another_process_is_dead() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", PRINT_OWNER],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as living:
        try:
            assert living.stdout is not None
            owner = living.stdout.readline().strip()
            host, pid, mine = owner.split(":")
            started = mine.partition(".")[0]
            assert pid == str(living.pid)
            assert not is_dead_local_owner(owner)  # the holder
            # the same pid with another start time: the holder died and the pid was reused
            assert is_dead_local_owner(f"{host}:{pid}:{int(started) - 1}.abc")
            assert not is_dead_local_owner(f"{host}:{pid}:abc")  # no start time: trust it
        finally:
            living.kill()


def test_a_holder_that_had_this_processs_pid_before_is_dead() -> None:
    host, pid, mine = new_owner().split(":")
    started = mine.partition(".")[0]
    assert not is_dead_local_owner(f"{host}:{pid}:{started}.other")  # this process: alive
    assert is_dead_local_owner(f"{host}:{pid}:{int(started) - 5}.other")  # an earlier one


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="zombies as Linux shows them")
def test_a_holder_that_exited_but_was_not_reaped_is_dead() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 10
        while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "the child did not exit"
            time.sleep(0.01)
        host = new_owner().split(":")[0]
        assert is_dead_local_owner(f"{host}:{child.pid}:abc")
    finally:
        child.wait()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_the_start_time_is_the_clock_ticks_proc_shows() -> None:
    """Ids written before psutil read ``/proc`` themselves: they still compare equal."""
    ticks = Path("/proc/self/stat").read_text().rpartition(")")[2].split()[19]
    if os.sysconf("SC_CLK_TCK") != 100:
        pytest.skip("the ticks are hundredths of a second only where CLK_TCK is 100")
    assert new_owner().split(":")[2].partition(".")[0] == ticks
