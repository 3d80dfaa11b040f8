"""Two kinds of templates: ``path_template`` for output locations, and whole-payload templates.

``path_template`` (in ``upload_options``) places an item's files::

    >>> render_path_template("s3://bucket/${collection}/${year}/${id}", item)
    's3://bucket/sentinel-2-l2a/2020/S2B_17HQD_20201103_0_L2A'

Variables are ``id``, ``collection``, ``year``, ``month``, ``day``, ``date`` and any item
property, namespaced ones included (``${mgrs:utm_zone}``).

Payload templates fill ``$NAME``, ``${NAME}`` and ``${NAME?default}`` from given variables;
values are inserted as JSON string content, so quotes in a value cannot break the payload.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cirrus.errors import PayloadError

__all__ = ["item_template_variables", "render_path_template", "render_payload_template"]

_PATH_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_PAYLOAD_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][\w:.-]*)(?:\?([^}]*))?\}|([A-Za-z_]\w*))")


def _item_datetime(properties: Mapping[str, Any]) -> datetime | None:
    value = properties.get("datetime") or properties.get("start_datetime")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def item_template_variables(item: Mapping[str, Any]) -> dict[str, Any]:
    """The variables a ``path_template`` may use for one item."""
    properties = item.get("properties") or {}
    variables: dict[str, Any] = dict(properties)
    variables["id"] = item.get("id")
    if item.get("collection") is not None:
        variables["collection"] = item["collection"]
    moment = _item_datetime(properties)
    if moment is not None:
        variables.update(
            year=f"{moment.year:04d}",
            month=f"{moment.month:02d}",
            day=f"{moment.day:02d}",
            date=moment.date().isoformat(),
        )
    return variables


def render_path_template(template: str, item: Mapping[str, Any]) -> str:
    """Fill a ``path_template`` from an item.

    Raises:
        PayloadError: a variable has no value for this item (names the variable and item).
    """
    variables = item_template_variables(item)

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        value = variables.get(name)
        if value is None:
            available = ", ".join(sorted(k for k, v in variables.items() if v is not None))
            raise PayloadError(
                "upload_options.path_template",
                f"uses ${{{name}}}, which item {item.get('id')!r} does not have",
                f"use one of: {available}",
            )
        return str(value)

    return _PATH_VARIABLE.sub(substitute, template)


def render_payload_template(text: str, variables: Mapping[str, str]) -> str:
    """Substitute ``$NAME``, ``${NAME}`` and ``${NAME?default}`` in a payload's JSON text.

    Raises:
        PayloadError: a variable without a default is not given (names it).
    """

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        default = match.group(2)
        if name in variables:
            value = variables[name]
        elif default is not None:
            value = default
        else:
            raise PayloadError(
                f"${name}", "has no value", f"pass --var {name} VALUE or write ${{{name}?default}}"
            )
        return json.dumps(str(value))[1:-1]

    return _PAYLOAD_VARIABLE.sub(substitute, text)
