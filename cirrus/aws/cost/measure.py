"""What local runs measured: state transitions, task durations and items, from histories.

A history is the list of events ``GetExecutionHistory`` returns (and cirrus keeps as
``history.json`` beside an execution's input when ``keep_history`` allows): timestamps as
ISO text or epoch seconds. Task durations run from ``TaskStarted`` to the attempt's end
(``TaskSucceeded``, ``TaskFailed`` or ``TaskTimedOut``), found through ``previousEventId``::

    from cirrus.aws.cost import measure_histories

    measurement = measure_histories([history_1, history_2])
    measurement.transitions, measurement.states["make-cog"].seconds
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Measurement", "StateTimes", "measure_histories"]

_ENDS = ("TaskSucceeded", "TaskFailed", "TaskTimedOut")


@dataclass
class StateTimes:
    """One state's task attempts over every measured execution.

    Attributes:
        entries: how often the state was entered.
        seconds: the duration of each attempt, in seconds.
    """

    entries: int = 0
    seconds: list[float] = field(default_factory=list)


@dataclass
class Measurement:
    """What a set of executions of one workflow measured.

    Attributes:
        executions: how many histories were read.
        transitions: states entered per execution (retries included), on average.
        seconds: execution duration (start to end), on average.
        items: items in the output per execution, on average (None: no output seen).
        new_assets: assets in the output that were not in the input, per execution.
        states: task attempts by state name (summed over executions).
    """

    executions: int = 0
    transitions: float = 0.0
    seconds: float = 0.0
    items: float | None = None
    new_assets: float | None = None
    states: dict[str, StateTimes] = field(default_factory=dict)

    def attempts(self, state: str) -> float:
        """Task attempts of ``state`` per execution."""
        times = self.states.get(state)
        return len(times.seconds) / self.executions if times and self.executions else 0.0

    def entries(self, state: str) -> float:
        """Entries of ``state`` per execution."""
        times = self.states.get(state)
        return times.entries / self.executions if times and self.executions else 0.0


def _time(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def _details(event: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return value


def _assets(payload: Any) -> tuple[int, set[str]]:
    features = payload.get("features") if isinstance(payload, dict) else None
    if not isinstance(features, list):
        return 0, set()
    hrefs = set()
    for feature in features:
        assets = feature.get("assets", {}) if isinstance(feature, dict) else {}
        for asset in assets.values() if isinstance(assets, dict) else ():
            if isinstance(asset, dict) and "href" in asset:
                hrefs.add(str(asset["href"]))
    return len(features), hrefs


def _state_of(
    event: Mapping[str, Any], by_id: Mapping[int, Mapping[str, Any]]
) -> tuple[str | None, float | None]:
    """The state an attempt's end belongs to, and when the attempt started."""
    started: float | None = None
    current: Mapping[str, Any] | None = event
    for _ in range(1000):  # a chain longer than this is not one attempt's
        previous = by_id.get(int(current.get("previousEventId") or 0)) if current else None
        if previous is None:
            break
        if previous.get("type") == "TaskStarted" and started is None:
            started = _time(previous["timestamp"])
        if str(previous.get("type", "")).endswith("StateEntered"):
            return str(_details(previous).get("name")), started
        current = previous
    return None, started


def measure_histories(histories: Iterable[Sequence[Mapping[str, Any]]]) -> Measurement:
    """Transitions, task durations and items of the executions ``histories`` record."""
    measurement = Measurement()
    transitions = seconds = 0.0
    items: list[int] = []
    new_assets: list[int] = []
    for history in histories:
        if not history:
            continue
        measurement.executions += 1
        by_id = {int(event["id"]): event for event in history}
        times = [_time(event["timestamp"]) for event in history]
        seconds += max(times) - min(times)
        start_input: Any = None
        for event in history:
            kind = str(event.get("type", ""))
            if kind.endswith("StateEntered"):
                transitions += 1
                name = str(_details(event).get("name"))
                measurement.states.setdefault(name, StateTimes()).entries += 1
            elif kind in _ENDS:
                owner, started = _state_of(event, by_id)
                if owner is not None and started is not None:
                    attempt = _time(event["timestamp"]) - started
                    measurement.states.setdefault(owner, StateTimes()).seconds.append(attempt)
            elif kind == "ExecutionStarted":
                start_input = _json(_details(event).get("input"))
            elif kind == "ExecutionSucceeded":
                count, hrefs = _assets(_json(_details(event).get("output")))
                items.append(count)
                new_assets.append(len(hrefs - _assets(start_input)[1]))
    if measurement.executions:
        # AWS bills a retried attempt as one more transition; entries count only the first
        retried = sum(max(0, len(t.seconds) - t.entries) for t in measurement.states.values())
        measurement.transitions = (transitions + retried) / measurement.executions
        measurement.seconds = seconds / measurement.executions
    if items:
        measurement.items = sum(items) / len(items)
        measurement.new_assets = sum(new_assets) / len(new_assets)
    return measurement
