"""Two kinds of templates: ``path_template`` for output locations, and whole-payload templates.

``path_template`` (in ``upload_options``) places an item's files::

    >>> render_path_template("s3://bucket/${collection}/${year}/${id}", item)
    's3://bucket/sentinel-2-l2a/2020/S2B_17HQD_20201103_0_L2A'

Variables are ``id``, ``collection``, ``year``, ``month``, ``day``, ``date`` and any item
property, namespaced ones included (``${mgrs:utm_zone}``), with pystac's ``LayoutTemplate``
meaning: ``${month}`` and ``${day}`` are not zero-padded (``2023/1/5``), dotted names reach
into objects (``${eo:cloud_cover}``, ``${view.sun}``), and ``datetime`` falls back to
``start_datetime``.

Payload templates fill ``$NAME``, ``${NAME}`` and ``${NAME?default}`` from given variables
(``$$`` is a literal ``$``); values are inserted as JSON string content, so quotes in a value
cannot break the payload. A ``path_template``'s own ``${...}`` are left for the workflow.
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
_PAYLOAD_VARIABLE = re.compile(r"\$\$|\$(?:\{([A-Za-z_][\w:.-]*)(?:\?([^}]*))?\}|([A-Za-z_]\w*))")
_PATH_TEMPLATE_VALUE = re.compile(r'"path_template"\s*:\s*"((?:[^"\\]|\\.)*)"')


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
        # pystac's LayoutTemplate (stactask, Cirrus) writes plain numbers: 2023/1/5, not 01/05
        variables.update(
            year=str(moment.year),
            month=str(moment.month),
            day=str(moment.day),
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
        if value is None and "." in name:
            value = _dotted(variables, name)
        if value is None:
            available = ", ".join(sorted(k for k, v in variables.items() if v is not None))
            raise PayloadError(
                "upload_options.path_template",
                f"uses ${{{name}}}, which item {item.get('id')!r} does not have",
                f"use one of: {available}",
            )
        return str(value)

    return _PATH_VARIABLE.sub(substitute, template)


def _dotted(variables: Mapping[str, Any], name: str) -> Any:
    """``${a.b}``: key ``b`` of variable ``a``, as pystac's LayoutTemplate reads it."""
    value: Any = variables
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _path_template_spans(text: str) -> list[tuple[int, int]]:
    """Where the ``"path_template": "..."`` strings of a payload's text are."""
    return [match.span(1) for match in _PATH_TEMPLATE_VALUE.finditer(text)]


def render_payload_template(
    text: str, variables: Mapping[str, str], *, silence_errors: bool = False
) -> str:
    """Substitute ``$NAME``, ``${NAME}`` and ``${NAME?default}`` in a payload's JSON text.

    ``$$`` writes one ``$``. A variable with no value and no default is an error, except
    inside a ``path_template`` (whose ``${collection}``, ``${id}`` ... are filled per item
    when the workflow runs) and with ``silence_errors`` (upstream's
    ``--silence-templating-errors``): there it is left as written.

    Raises:
        PayloadError: a variable without a default is not given (names it).
    """
    keep = _path_template_spans(text)

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(3)
        default = match.group(2)
        if name in variables:
            value = variables[name]
        elif default is not None:
            value = default
        elif silence_errors or any(start <= match.start() < end for start, end in keep):
            return match.group(0)
        else:
            raise PayloadError(
                f"${name}",
                "has no value",
                f"pass --var {name} VALUE, write ${{{name}?default}}, or $$ for a literal $",
            )
        return json.dumps(str(value))[1:-1]

    return _PAYLOAD_VARIABLE.sub(substitute, text)
