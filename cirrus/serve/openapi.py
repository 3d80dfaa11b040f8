"""The OpenAPI document of ``cirrus serve`` (served at ``/api/openapi.json``)."""

from __future__ import annotations

from typing import Any

__all__ = ["openapi_document"]


def _get(summary: str, *params: tuple[str, str, bool]) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": [
                {
                    "name": name,
                    "in": "path" if where == "path" else "query",
                    "required": required or where == "path",
                    "schema": {"type": "string"},
                }
                for name, where, required in params
            ],
            "responses": {
                "200": {"description": "OK"},
                "400": {"description": "a parameter is not valid", **_ERROR},
                "404": {"description": "not found", **_ERROR},
            },
        }
    }


def _post(summary: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "security": [{"token": []}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": body}},
            },
            "responses": {
                "200": {"description": "done"},
                "401": {"description": "the token is missing or wrong", **_ERROR},
                "403": {"description": "the server is read-only (no --token)", **_ERROR},
            },
        }
    }


_ERROR = {
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"error": {"type": "string"}}}
        }
    }
}

_Q = "query"


def openapi_document() -> dict[str, Any]:
    """The API's routes, parameters and security, as OpenAPI 3.1."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cirrus state API",
            "version": "1",
            "description": "Upstream Cirrus's state API plus cirrus's own read routes; "
            "writes need the server's token as a bearer token.",
        },
        "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/": _get("links to every collections/workflow"),
            "/stats": _get("state transitions per day (60 days) and hour (36 hours)"),
            "/{collections}/workflow-{workflow}": _get(
                "record counts per state",
                ("collections", "path", True),
                ("workflow", "path", True),
                ("since", _Q, False),
                ("limit", _Q, False),
            ),
            "/{collections}/workflow-{workflow}/items": _get(
                "records, newest first; continue with nextkey = the last payload id",
                ("collections", "path", True),
                ("workflow", "path", True),
                ("state", _Q, False),
                ("since", _Q, False),
                ("limit", _Q, False),
                ("nextkey", _Q, False),
                ("sort_ascending", _Q, False),
                ("error_prefix", _Q, False),
            ),
            "/{payload_id}": _get("the record of one payload", ("payload_id", "path", True)),
            "/api/status": _get("counts, throughput, failures of the last hour, queue"),
            "/api/payloads": _get(
                "records for the dashboard's table",
                ("workflow", _Q, False),
                ("state", _Q, False),
                ("since", _Q, False),
                ("error", _Q, False),
                ("q", _Q, False),
                ("limit", _Q, False),
                ("next", _Q, False),
            ),
            "/api/payload": _get(
                "record, executions with times, event timeline, published items",
                ("id", _Q, True),
            ),
            "/api/execution": _get(
                "an execution's input, output, history, per-state spans and logs",
                ("id", _Q, True),
                ("execution", _Q, True),
            ),
            "/api/logs": _get(
                "an execution's logs as text", ("id", _Q, True), ("execution", _Q, True)
            ),
            "/api/workflows": _get("the project's workflows with counts"),
            "/api/workflows/{name}": _get(
                "a workflow's definition, counts and durations", ("name", "path", True)
            ),
            "/api/file": _get("an object under the data or payload root", ("url", _Q, True)),
            "/api/openapi.json": _get("this document"),
            "/api/rerun": _post(
                "queue payloads again with replace: true",
                {
                    "type": "object",
                    "properties": {
                        "ids": {"type": "array", "items": {"type": "string"}},
                        "filter": {
                            "type": "object",
                            "properties": {
                                "workflow": {"type": "string"},
                                "state": {"type": "string"},
                                "since": {"type": "string"},
                                "error": {"type": "string"},
                                "limit": {"type": "integer"},
                            },
                        },
                    },
                },
            ),
            "/api/abort": _post(
                "abort a running payload",
                {
                    "type": "object",
                    "required": ["id"],
                    "properties": {"id": {"type": "string"}, "cause": {"type": "string"}},
                },
            ),
        },
    }
