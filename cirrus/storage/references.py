"""Payloads passed by reference: ``{"url": ...}`` is read from storage.

A payload too large for a message travels as a reference to where it is stored; whoever
receives it reads it before use::

    from cirrus.storage import load_payload

    data = load_payload({"url": "s3://bucket/executions/a/input.json"})
    payload = Payload.from_dict(data)

A reference comes from outside, so reading it is bounded: at most ``max_bytes``, within
``timeout`` seconds in all (a server that trickles a byte every few seconds is cut off),
only regular files on local paths (a FIFO, ``/dev/zero`` or a folder is refused before it is
read), and a server that refuses the connection is an error at once. Each of those is a
:class:`~cirrus.errors.PayloadError`: the reference itself is wrong, trying it again does
not help.

The payload model (:mod:`cirrus.payload`) does no I/O: it refuses a reference and names
this function.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Callable
from typing import Any

from cirrus.errors import PayloadError
from cirrus.storage.base import CHUNK_SIZE
from cirrus.storage.paths import parse_root
from cirrus.storage.urls import read_bytes

__all__ = ["follow_references", "is_reference", "load_payload", "read_reference"]


def _too_large(url: str, max_bytes: int) -> PayloadError:
    return PayloadError(
        "$.url",
        f"points at more than {max_bytes} bytes ({url})",
        "raise reference_max_bytes in cirrus.yml, or split the payload",
    )


def _too_slow(url: str, timeout: float) -> PayloadError:
    return PayloadError(
        "$.url",
        f"could not be read within {timeout:g} s ({url})",
        "serve it faster, or raise reference_timeout_seconds in cirrus.yml",
    )


def _read_local(path: str, url: str, max_bytes: int) -> bytes:
    try:
        # non-blocking: opening a FIFO with no writer must not wait for one
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        from cirrus.errors import NotFound

        raise NotFound(f"no object at {url}") from None
    except OSError as err:
        raise PayloadError("$.url", f"cannot be opened ({url}: {err.strerror})") from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO, socket or device"
        raise PayloadError(
            "$.url", f"names {kind}, not a file ({url})", "point it at a stored payload"
        )
    os.set_blocking(descriptor, True)
    with os.fdopen(descriptor, "rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_large(url, max_bytes)
    return data


def _read_http(url: str, max_bytes: int, timeout: float) -> bytes:
    # imported here: importing cirrus.storage loads no HTTP library
    import socket
    import urllib.error
    import urllib.request

    from cirrus.storage.http import map_http_errors

    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url)  # noqa: S310 - http(s) only, checked by the caller
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310
    except urllib.error.HTTPError:
        with map_http_errors(url):
            raise
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        if isinstance(reason, TimeoutError | socket.timeout):
            raise _too_slow(url, timeout) from None
        if isinstance(reason, ConnectionError | socket.gaierror):
            raise PayloadError("$.url", f"cannot be reached ({url}: {reason})") from None
        with map_http_errors(url):
            raise
    chunks: list[bytes] = []
    size = 0
    with response, map_http_errors(url):
        try:
            # read1: whatever arrived, so that a trickle is measured against the deadline
            while chunk := response.read1(CHUNK_SIZE):
                size += len(chunk)
                if size > max_bytes:
                    raise _too_large(url, max_bytes)
                if time.monotonic() > deadline:
                    raise _too_slow(url, timeout)
                chunks.append(chunk)
        except TimeoutError:
            raise _too_slow(url, timeout) from None
    return b"".join(chunks)


def read_reference(url: str, *, max_bytes: int, timeout: float) -> bytes:
    """Read the object a payload reference names, within bounds.

    Args:
        url: any storage URL or local path.
        max_bytes: the most bytes accepted.
        timeout: seconds the whole read may take.

    Raises:
        PayloadError: the object is larger than ``max_bytes``, took longer than
            ``timeout``, is not a regular file, or its server cannot be reached.
        NotFound: nothing is there.
        StorageError: the store failed in a way worth trying again (an HTTP 5xx, say).
    """
    parsed = parse_root(url)
    if parsed.scheme == "file":
        return _read_local("/" + parsed.prefix, url, max_bytes)
    if parsed.scheme in ("http", "https"):
        return _read_http(url, max_bytes, timeout)
    from cirrus.storage.paths import split_url
    from cirrus.storage.resolver import open_store

    deadline = time.monotonic() + timeout
    root, key = split_url(url)
    store = open_store(root)
    chunks: list[bytes] = []
    size = 0
    with store.open_read(key) as reader:
        while chunk := reader.read(CHUNK_SIZE):
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(url, max_bytes)
            if time.monotonic() > deadline:
                raise _too_slow(url, timeout)
            chunks.append(bytes(chunk))
    return b"".join(chunks)


def is_reference(data: dict[str, Any]) -> bool:
    """Whether a payload object is a ``{"url"}``/``{"href"}`` reference (not a payload)."""
    return "features" not in data and ("url" in data or "href" in data)


def follow_references(data: Any, read: Callable[[str], Any]) -> Any:
    """``data``, or what its chain of references leads to, each read with ``read(url)``
    (which returns the parsed object stored there).

    Raises:
        PayloadError: a reference is not a string, or refers back to itself.
    """
    seen: set[str] = set()
    while isinstance(data, dict) and is_reference(data):
        url = data.get("url", data.get("href"))
        if not isinstance(url, str):
            raise PayloadError("$.url", "must be a string URL", "e.g. s3://bucket/key.json")
        if url in seen:
            raise PayloadError("$.url", f"refers back to itself ({url})")
        seen.add(url)
        data = read(url)
    return data


def load_payload(data: Any) -> dict[str, Any]:
    """Resolve a payload reference: ``{"url": ...}`` (or ``{"href": ...}``) is read from storage.

    Anything else is returned as it is. The stored object may itself be a reference.

    The pipeline's intake reads references from outside with :func:`read_reference`
    instead (see :mod:`cirrus.runtime.admission`); this reads ones cirrus wrote itself.

    Raises:
        PayloadError: the reference is not a string, refers back to itself, points at
            something that is not a JSON object.
    """

    def parsed(url: str) -> Any:
        try:
            return json.loads(read_bytes(url))
        except (ValueError, RecursionError) as err:
            raise PayloadError("$", f"at {url} is not JSON ({err})") from err

    data = follow_references(data, parsed)
    if not isinstance(data, dict):
        raise PayloadError("$", f"must be a JSON object, not {type(data).__name__}")
    return data
