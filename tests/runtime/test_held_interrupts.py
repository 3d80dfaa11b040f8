"""Ctrl-C and SIGTERM wait for a block that must not be cut in two, unless they insist."""

from __future__ import annotations

import os
import signal

import pytest

from cirrus.runtime.signals import Terminated, terminate_as_interrupt
from cirrus.task.interrupts import held_interrupts


def _terminate_self() -> None:
    os.kill(os.getpid(), signal.SIGTERM)  # the handler runs in this (the main) thread


def test_a_signal_during_the_block_is_raised_when_it_ends() -> None:
    done = []
    with terminate_as_interrupt(), pytest.raises(Terminated), held_interrupts():
        _terminate_self()
        done.append("the rest of the block")
    assert done == ["the rest of the block"]


def test_a_second_signal_goes_through_at_once() -> None:
    done = []
    with terminate_as_interrupt(), pytest.raises(Terminated), held_interrupts():
        _terminate_self()
        done.append("after the first")
        _terminate_self()
        done.append("after the second")
    assert done == ["after the first"]


def test_nested_blocks_raise_when_the_outer_one_ends() -> None:
    done = []
    with terminate_as_interrupt(), pytest.raises(Terminated), held_interrupts():
        with held_interrupts():
            _terminate_self()
        done.append("the outer block goes on")
    assert done == ["the outer block goes on"]


def test_outside_a_block_a_signal_is_raised_at_once() -> None:
    with terminate_as_interrupt(), pytest.raises(Terminated):
        _terminate_self()
        pytest.fail("the signal did not stop the code")
    with held_interrupts():
        pass  # nothing was left pending
