"""AWS prices and the assumptions an estimate falls back on, from a JSON data file.

The file shipped beside this module (``prices.json``) holds on-demand list prices of one
region with their date and source pages, and the per-payload figures cirrus assumes when
nothing was measured (each with where it comes from). Pass your own file to change any of
them; keys you leave out keep the shipped values::

    from cirrus.aws.cost import load_prices

    prices = load_prices()                      # the shipped file
    prices = load_prices("my-prices.json")      # yours, over the shipped one
    prices.price("lambda", "per_request")       # 2e-07
    prices.assumption("lambda_task_ms")         # 1000.0
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from cirrus.errors import ConfigError

__all__ = ["PRICES_FILE", "Prices", "load_prices"]

PRICES_FILE = "prices.json"
"""The shipped price file, package data of ``cirrus.aws.cost``."""


@dataclass(frozen=True)
class Prices:
    """Prices by service and the assumptions an estimate may fall back on.

    Attributes:
        date: when the prices were read from their sources.
        region: the region they are for.
        sources: the pricing page of each service.
        prices: USD per unit, by service then name (``lambda.per_request``).
        assumptions: assumed figures by name: ``{"value": ..., "source": ...}``.
        files: the files the values come from, shipped first.
    """

    date: str
    region: str
    sources: dict[str, str]
    prices: dict[str, dict[str, float]]
    assumptions: dict[str, dict[str, Any]]
    files: list[str] = field(default_factory=list)

    def price(self, service: str, name: str) -> float:
        """USD per unit of ``service``'s ``name``.

        Raises:
            ConfigError: the price files hold no such price.
        """
        try:
            return float(self.prices[service][name])
        except (KeyError, TypeError, ValueError) as err:
            raise ConfigError(
                f"prices.{service}.{name}: missing or not a number in {', '.join(self.files)}"
            ) from err

    def assumption(self, name: str) -> float:
        """The value assumed for ``name``.

        Raises:
            ConfigError: the price files hold no such assumption.
        """
        try:
            return float(self.assumptions[name]["value"])
        except (KeyError, TypeError, ValueError) as err:
            raise ConfigError(
                f"assumptions.{name}.value: missing or not a number in {', '.join(self.files)}"
            ) from err

    def source(self, name: str) -> str:
        """Where the assumption ``name`` comes from."""
        return str(self.assumptions.get(name, {}).get("source", ""))

    def to_dict(self) -> dict[str, Any]:
        """Date, region, sources and files, for a report."""
        return {
            "date": self.date,
            "region": self.region,
            "sources": dict(self.sources),
            "files": list(self.files),
        }


def _read(text: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{where}: not JSON: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected an object with date, region, prices, assumptions")
    for key in ("prices", "assumptions", "sources"):
        if not isinstance(data.get(key, {}), dict):
            raise ConfigError(f"{where}: {key}: expected an object")
    return data


def load_prices(path: str | Path | None = None) -> Prices:
    """The shipped prices, with ``path``'s values over them when given.

    Args:
        path: a JSON file shaped like the shipped one; any key may be left out.

    Raises:
        ConfigError: the file cannot be read or is not shaped like the shipped one.
    """
    shipped = resources.files(__package__).joinpath(PRICES_FILE)
    data = _read(shipped.read_text(encoding="utf-8"), str(shipped))
    files = [str(shipped)]
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as err:
            raise ConfigError(f"--prices {path}: cannot be read: {err}") from err
        override = _read(text, str(path))
        for key in ("date", "region"):
            if key in override:
                data[key] = override[key]
        for key in ("sources", "assumptions"):
            data[key] = {**data.get(key, {}), **override.get(key, {})}
        prices = {service: dict(values) for service, values in data["prices"].items()}
        for service, values in override.get("prices", {}).items():
            if not isinstance(values, dict):
                raise ConfigError(f"{path}: prices.{service}: expected an object")
            prices.setdefault(service, {}).update(values)
        data["prices"] = prices
        files.append(str(path))
    return Prices(
        date=str(data.get("date", "")),
        region=str(data.get("region", "")),
        sources={str(k): str(v) for k, v in data.get("sources", {}).items()},
        prices=data["prices"],
        assumptions=data["assumptions"],
        files=files,
    )
