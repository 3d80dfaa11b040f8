"""A lambda-type task's result, handed on by reference when Step Functions could not carry it.

Step Functions passes at most 256 KiB between states. A task whose output is longer (a
publish of a thousand items, a split into many) returns ``{"url": ...}`` instead, pointing
at a stored copy under ``<payload root>/tmp/results/<payload id>/`` (a digest of the id when
it is long); the next task, and the pipeline at the end of the workflow, read the reference
like any other. The AWS task function and the embedded runner both use this, so a workflow
behaves the same in both.

The embedded runtime removes the copies an execution stored once it ends
(:func:`take_stored_results`); on AWS the bucket's lifecycle rule expires ``tmp/``.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from typing import Any

from cirrus.errors import PathEscapeError
from cirrus.task.tasklog import current_scope

__all__ = [
    "MAX_FOLDER_BYTES",
    "MAX_RESULT_BYTES",
    "RESULTS_FOLDER",
    "fit_result",
    "peek_stored_results",
    "remember_stored_result",
    "store_result",
    "take_stored_results",
]

MAX_RESULT_BYTES = 250_000
"""A result whose JSON is longer (in bytes) goes by ``{"url"}``: Step Functions passes at
most 256 KiB (262,144 bytes) between states, and the state adds its own data. The AWS
function measures the JSON the Lambda runtime sends; the embedded engine, compact JSON."""
RESULTS_FOLDER = ("tmp", "results")
"""Where under the payload root the results passed by reference are stored."""
MAX_FOLDER_BYTES = 512
"""A payload id longer than this is stored under a digest of it (see :func:`_folder`)."""

_STORED: dict[str, list[str]] = {}
"""URLs of the copies stored for each running execution (by name)."""
_LOCK = threading.Lock()


def fit_result(output: Any, payload_root: str) -> Any:
    """``output``, or a ``{"url"}`` reference to a stored copy when it is too big.

    What the task's Lambda function returns. The size is taken as the Lambda runtime sends
    the result (``json.dumps``: spaces after separators, non-ASCII escaped), the larger of
    the usual forms, so what is kept whole also fits once it reaches Step Functions.
    """
    text = json.dumps(output)
    if len(text) <= MAX_RESULT_BYTES:
        return output
    return _store(output, text.encode(), payload_root)


def store_result(output: Any, payload_root: str) -> dict[str, str]:
    """Store ``output`` under ``payload_root`` and return a ``{"url"}`` reference to it."""
    data = json.dumps(output, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return _store(output, data, payload_root)


def _store(output: Any, data: bytes, payload_root: str) -> dict[str, str]:
    from cirrus.storage import join_url, write_bytes

    payload_id = output.get("id") if isinstance(output, dict) else None
    name = f"{uuid.uuid4().hex}.json"
    try:
        url = join_url(payload_root, *RESULTS_FOLDER, _folder(payload_id), name)
    except PathEscapeError:  # an id a task made up: the copy still goes under the root
        url = join_url(payload_root, *RESULTS_FOLDER, "no-id", name)
    write_bytes(url, data, content_type="application/json")
    remember_stored_result(url)
    return {"url": url}


def _folder(payload_id: Any) -> str:
    """The payload's folder: its id, or a digest of an id too long for a short reference.

    The id of a payload of many items is every item id joined; in the URL, it would make
    the reference itself too big to pass (and longer than S3's 1,024-byte keys).
    """
    if not isinstance(payload_id, str) or not payload_id:
        return "no-id"
    if len(payload_id.encode("utf-8")) <= MAX_FOLDER_BYTES:
        return payload_id
    return "sha256-" + hashlib.sha256(payload_id.encode("utf-8")).hexdigest()


def peek_stored_results(execution: str) -> list[str]:
    """The URLs of the copies stored for ``execution`` so far (kept here)."""
    if execution not in _STORED:
        return []
    with _LOCK:
        return list(_STORED.get(execution, ()))


def remember_stored_result(url: str, *, beside: str | None = None) -> None:
    """Count ``url`` among the copies of the running execution, to be removed with them.

    With ``beside``, only when that URL is one of them (a batch task's output written next
    to a result it was handed by reference is as transient as that result).
    """
    scope = current_scope()
    if scope is None or not scope.execution:
        return
    with _LOCK:
        stored = _STORED.get(scope.execution)
        if beside is not None and (stored is None or beside not in stored):
            return
        _STORED.setdefault(scope.execution, []).append(url)


def take_stored_results(execution: str) -> list[str]:
    """The URLs of the copies stored for ``execution``, forgotten here."""
    if execution not in _STORED:  # every execution asks; almost none stored anything
        return []
    with _LOCK:
        return _STORED.pop(execution, [])
