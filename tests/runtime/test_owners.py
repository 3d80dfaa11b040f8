"""Owner ids, and telling a dead holder on this machine from a live one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cirrus.runtime.owners import is_dead_local_owner, new_owner


def test_dead_local_owner() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    host_and_pid = new_owner().rsplit(":", 2)
    dead = f"{host_and_pid[0]}:{child.pid}:abc"
    assert is_dead_local_owner(dead)
    assert not is_dead_local_owner(new_owner())  # this process
    assert not is_dead_local_owner(f"other-host:{child.pid}:abc")
    assert not is_dead_local_owner("worker-1")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process start times need /proc")
def test_an_owner_whose_pid_now_belongs_to_another_process_is_dead() -> None:
    living = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        host = new_owner().split(":")[0]
        started = Path(f"/proc/{living.pid}/stat").read_text().rpartition(")")[2].split()[19]
        assert not is_dead_local_owner(f"{host}:{living.pid}:{started}.abc")  # the holder
        # the same pid with another start time: the holder died and the pid was reused
        assert is_dead_local_owner(f"{host}:{living.pid}:{int(started) - 1}.abc")
        assert not is_dead_local_owner(f"{host}:{living.pid}:abc")  # no start time: trust it
    finally:
        living.kill()
        living.wait()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process start times need /proc")
def test_a_holder_that_had_this_processs_pid_before_is_dead() -> None:
    host, pid, mine = new_owner().split(":")
    started = mine.partition(".")[0]
    assert not is_dead_local_owner(f"{host}:{pid}:{started}.other")  # this process: alive
    assert is_dead_local_owner(f"{host}:{pid}:{int(started) - 5}.other")  # an earlier one
