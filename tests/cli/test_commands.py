"""What every ``cirrus`` command shares: choices built from the enums."""

from __future__ import annotations

import click

from cirrus.cli.manage import get_input_payloads, query
from cirrus.state import State


def _choices(command: click.Command, name: str) -> list[str]:
    option = next(param for param in command.params if param.name == name)
    assert isinstance(option.type, click.Choice)
    return [str(choice) for choice in option.type.choices]


def test_state_filters_offer_every_state() -> None:
    states = [state.value for state in State]
    assert _choices(query, "state") == states
    assert _choices(get_input_payloads, "state") == states
