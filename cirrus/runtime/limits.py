"""How much intake accepts, and reading payload text within those bounds.

Every payload passes :func:`parse_payload_text` before anything else looks at it, so a
payload that is too large, nested too deep or not strict JSON is refused with a clear
error instead of exhausting memory or the stack of a worker later::

    limits = IntakeLimits(max_payload_bytes=1_000_000)
    data = parse_payload_text(line, limits, where="input line 3")

JSON is read strictly (RFC 8259): ``NaN``, ``Infinity`` and ``-Infinity`` are refused, since
no other JSON reader (Step Functions, a browser, ``jq``) accepts them and writing them out
again would publish invalid JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from cirrus.errors import PayloadError

__all__ = ["IntakeLimits", "json_depth_exceeds", "parse_payload_text", "strict_json_loads"]

_MIB = 1024 * 1024


@dataclass(frozen=True)
class IntakeLimits:
    """What intake accepts; each limit is a ``cirrus.yml`` setting (see ``ProjectConfig``)."""

    max_payload_bytes: int = 128 * _MIB
    """Largest payload, in bytes of JSON text."""
    max_depth: int = 100
    """Deepest nesting of objects and arrays (a STAC item needs about 8)."""
    max_features: int = 100_000
    """Most features in one payload."""
    max_id_bytes: int = 255
    """Longest item id, collection or workflow name, in UTF-8 bytes (a file name's limit:
    each one becomes a folder of the payload's storage key)."""
    reference_max_bytes: int = 128 * _MIB
    """Largest payload read through a ``{"url": ...}`` reference."""
    reference_timeout_seconds: float = 60.0
    """Longest time reading one reference may take, in all (a slow server is cut off)."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity): write null instead")


_STRICT_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)
"""Made once: ``json.loads`` with an option builds a decoder on every call."""


def strict_json_loads(text: str | bytes) -> Any:
    """``json.loads`` refusing ``NaN``/``Infinity`` (ValueError, like any invalid JSON)."""
    if isinstance(text, bytes | bytearray):
        text = text.decode(json.detect_encoding(text), "surrogatepass")
    return _STRICT_DECODER.decode(text)


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # unrolled: fast on long text
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_INNERMOST = re.compile(r"\[\]|\{\}")


def json_depth_exceeds(text: str, limit: int) -> bool:
    """Whether valid JSON ``text`` nests objects and arrays deeper than ``limit``.

    Works on the text with regular expressions (strings removed, then the innermost bracket
    pairs peeled one level per pass), so it costs a few passes at C speed and no stack.
    """
    if text.count("[") + text.count("{") <= limit:
        return False  # too few brackets to be that deep: the usual case
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    for _ in range(limit):
        brackets = _INNERMOST.sub("", brackets)
        if not brackets:
            return False
    return True


def parse_payload_text(text: str, limits: IntakeLimits, where: str = "payload") -> Any:
    """Parse one payload's JSON text within ``limits``.

    Raises:
        PayloadError: the text is larger than allowed, not strict JSON, or nested too deep;
            the message names ``where`` and the setting to change.
    """
    text = text.removeprefix("\ufeff")  # a byte order mark, as some editors write
    size = len(text)
    if size > limits.max_payload_bytes // 4:  # characters are 1-4 bytes: count only if close
        size = len(text.encode("utf-8", "surrogatepass"))
    if size > limits.max_payload_bytes:
        raise PayloadError(
            where,
            f"is {size} bytes, more than max_payload_bytes ({limits.max_payload_bytes})",
            'pass large payloads by {"url": ...} or raise max_payload_bytes in cirrus.yml',
        )
    too_deep = False
    data: Any = None
    try:
        data = strict_json_loads(text)
    except RecursionError:
        too_deep = True  # deeper than the interpreter can parse
    except ValueError as err:
        raise PayloadError(where, f"is not JSON ({err})") from None
    if too_deep or json_depth_exceeds(text, limits.max_depth):
        raise PayloadError(
            where,
            f"nests objects and arrays more than {limits.max_depth} levels deep",
            "flatten it, or raise max_payload_depth in cirrus.yml",
        )
    return data
