"""The HTTP side of ``cirrus serve``: upstream Cirrus's state API, cirrus's own read routes,
token-guarded writes and the dashboard, in one Starlette application.

Routes (all JSON unless said):

========================================  ==================================================
``GET /``                                 upstream's root document (a browser is sent to /ui/)
``GET /stats``                            upstream's state transitions per day and hour
``GET /<collections>/workflow-<w>``       upstream's counts per state (``since``, ``limit``)
``GET /<collections>/workflow-<w>/items`` upstream's records (``state``, ``since``, ``limit``,
                                          ``nextkey``, ``sort_ascending``)
``GET /<payload id>``                     upstream's record of one payload
``GET /api/status``                       the pipeline at a glance (``cirrus status --json``)
``GET /api/payloads``                     records for the table (``workflow``, ``state``,
                                          ``since``, ``error``, ``q``, ``limit``, ``next``)
``GET /api/payload?id=``                  record, executions with times, timeline, items
``GET /api/execution?id=&execution=``     input, output, history, per-state spans, logs
``GET /api/logs?id=&execution=``          the execution's logs as text
``GET /api/workflows[/<name>]``           workflows; one with definition and durations
``GET /api/file?url=``                    an asset or payload object under the roots
``GET /api/openapi.json``                 the OpenAPI document
``POST /api/rerun``                       ``{"ids": [...]}`` or ``{"filter": {...}}``: queue
                                          again with ``replace`` (token)
``POST /api/abort``                       ``{"id": ...}``: abort a running payload (token)
``GET /ui/``                              the dashboard
========================================  ==================================================

Writes need the token the server was started with, sent as ``Authorization: Bearer
<token>``; a server started without one refuses every write.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from cirrus.errors import CirrusError, NotFound, PayloadError
from cirrus.serve.openapi import openapi_document
from cirrus.state.models import split_payload_id

if TYPE_CHECKING:
    from cirrus.runtime import Pipeline
    from cirrus.serve.reader import PipelineReader

__all__ = ["MAX_PAGE", "create_app"]

MAX_PAGE = 1000
"""The most records one page of the dashboard's table returns."""

UPSTREAM_DEFAULT_LIMIT = 100_000
"""Upstream's default ``limit`` for ``…/items``."""

CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": "true"}
"""Upstream's CORS headers, on every response (writes still need the token)."""

Handler = Callable[[Request], Awaitable[Response]]


class ApiError(Exception):
    """A request the server refuses, with its HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _json(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=CORS)


def _status_of(error: CirrusError) -> int:
    if isinstance(error, NotFound):
        return 404
    return 400


def create_app(
    reader: PipelineReader, pipeline: Pipeline, *, token: str | None = None
) -> Starlette:
    """The application serving ``reader``'s pipeline; writes need ``token`` (None: read-only).

    Args:
        reader: answers every read.
        pipeline: where reruns are submitted and aborts written.
        token: the secret a write must carry; None refuses every write.
    """

    def endpoint(function: Callable[[Request], Any]) -> Handler:
        """Run a blocking reader call in a thread; turn errors into JSON answers."""

        async def handle(request: Request) -> Response:
            try:
                result = await run_in_threadpool(function, request)
            except ApiError as err:
                return _json({"error": err.message}, err.status)
            except CirrusError as err:
                return _json({"error": str(err)}, _status_of(err))
            if isinstance(result, Response):
                result.headers.update(CORS)
                return result
            return _json(result)

        return handle

    def check_token(request: Request) -> None:
        if token is None:
            raise ApiError(
                403, "this server is read-only: start cirrus serve with --token to allow writes"
            )
        sent = request.headers.get("authorization", "")
        scheme, _, value = sent.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.encode(), token.encode()):
            raise ApiError(
                401, "a write needs the server's token: send Authorization: Bearer <token>"
            )

    # -- upstream --------------------------------------------------------------------------

    def root(request: Request) -> Any:
        accept = request.headers.get("accept", "")
        if "text/html" in accept and "application/json" not in accept:
            return RedirectResponse("/ui/", status_code=302)
        return reader.root(str(request.base_url))

    def stats(request: Request) -> Any:
        return reader.stats()

    def upstream(request: Request) -> Any:
        path = request.path_params["path"].strip("/")
        params = request.query_params
        summary = _summary_path(path)
        if summary is not None:
            collections, workflow, rest = summary
            if rest == "":
                return reader.summary(
                    collections, workflow, params.get("since"), _int(params, "limit")
                )
            if rest == "items":
                return reader.items(
                    collections,
                    workflow,
                    state=params.get("state") or None,
                    since=params.get("since") or None,
                    limit=_int(params, "limit") or UPSTREAM_DEFAULT_LIMIT,
                    nextkey=params.get("nextkey") or None,
                    ascending=params.get("sort_ascending", "0") not in ("", "0", "false"),
                    error_prefix=params.get("error_prefix") or None,
                )
        try:
            split_payload_id(path)
        except PayloadError:
            raise ApiError(
                404,
                f"/{path} not found: payload ids look like <collections>/workflow-<name>/<items>",
            ) from None
        return reader.item(reader.record(path))

    # -- cirrus's own ----------------------------------------------------------------------

    def status(request: Request) -> Any:
        return reader.status()

    def payloads(request: Request) -> Any:
        params = request.query_params
        return reader.payloads(
            workflow=params.get("workflow"),
            state=params.get("state"),
            since=params.get("since"),
            error_prefix=params.get("error"),
            search=params.get("q"),
            limit=min(_int(params, "limit") or 100, MAX_PAGE),
            next_token=params.get("next"),
        )

    def payload(request: Request) -> Any:
        return reader.payload(_required(request, "id"))

    def execution(request: Request) -> Any:
        return reader.execution(_required(request, "id"), _required(request, "execution"))

    def logs(request: Request) -> Any:
        found = reader.logs(_required(request, "id"), _required(request, "execution"))
        text = "".join(log["text"] for log in found)
        return Response(text, media_type="text/plain; charset=utf-8")

    def workflows(request: Request) -> Any:
        return {"workflows": reader.workflows()}

    def workflow(request: Request) -> Any:
        return reader.workflow(request.path_params["name"])

    def file(request: Request) -> Any:
        data, media_type = reader.file(_required(request, "url"))
        return Response(data, media_type=media_type, headers={"X-Content-Type-Options": "nosniff"})

    def openapi(request: Request) -> Any:
        return openapi_document()

    # -- writes ----------------------------------------------------------------------------

    def rerun(request: Request, body: dict[str, Any]) -> Any:
        from cirrus.runtime.steer import rerun as rerun_payloads

        check_token(request)
        ids = body.get("ids")
        if ids is None and isinstance(body.get("filter"), dict):
            chosen = body["filter"]
            page = reader.db.query(
                workflow=chosen.get("workflow") or None,
                state=chosen.get("state") or None,
                since=chosen.get("since") or None,
                error_prefix=chosen.get("error") or None,
                limit=int(chosen.get("limit") or 10_000),
            )
            ids = [record.payload_id for record in page.records]
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ApiError(
                400, 'send {"ids": [payload ids]} or {"filter": {"workflow", "state", ...}}'
            )
        report = rerun_payloads(pipeline, ids)
        return {"queued": report.queued, "ids": ids, "rejected": report.rejected}

    def abort(request: Request, body: dict[str, Any]) -> Any:
        from cirrus.runtime.steer import abort as abort_payload

        check_token(request)
        payload_id = body.get("id")
        if not isinstance(payload_id, str):
            raise ApiError(400, 'send {"id": "<payload id>"}')
        record = abort_payload(
            pipeline.db, payload_id, cause=str(body.get("cause") or "aborted from the dashboard")
        )
        return {"payload_id": payload_id, "state": record.state.value}

    def write(function: Callable[[Request, dict[str, Any]], Any]) -> Handler:
        async def handle(request: Request) -> Response:
            raw = await request.body()
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return _json({"error": "the request body is not JSON"}, 400)
            if not isinstance(body, dict):
                return _json({"error": "the request body must be a JSON object"}, 400)
            return await endpoint(lambda r: function(r, body))(request)

        return handle

    async def ui(request: Request) -> Response:
        return Response(
            _asset("dashboard.html"), media_type="text/html; charset=utf-8", headers=_PAGE_HEADERS
        )

    async def ui_asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _ASSETS:
            return _json({"error": f"no file {name!r}"}, 404)
        return Response(_asset(name), media_type=_ASSETS[name], headers=_PAGE_HEADERS)

    async def ui_redirect(request: Request) -> Response:
        return RedirectResponse("/ui/", status_code=302)

    async def no_icon(request: Request) -> Response:
        return Response(status_code=204)

    routes = [
        Route("/", endpoint(root)),
        Route("/favicon.ico", no_icon),
        Route("/stats", endpoint(stats)),
        Route("/ui", ui_redirect),
        Route("/ui/", ui),
        Route("/ui/{name}", ui_asset),
        Route("/api/status", endpoint(status)),
        Route("/api/payloads", endpoint(payloads)),
        Route("/api/payload", endpoint(payload)),
        Route("/api/execution", endpoint(execution)),
        Route("/api/logs", endpoint(logs)),
        Route("/api/workflows", endpoint(workflows)),
        Route("/api/workflows/{name}", endpoint(workflow)),
        Route("/api/file", endpoint(file)),
        Route("/api/openapi.json", endpoint(openapi)),
        Route("/api/rerun", write(rerun), methods=["POST"]),
        Route("/api/abort", write(abort), methods=["POST"]),
        Route("/{path:path}", endpoint(upstream)),
    ]
    return Starlette(routes=routes)


_ASSETS = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}
_PAGE_HEADERS = {
    # the page loads nothing from elsewhere; payload content can never run as script
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def _asset(name: str) -> bytes:
    return resources.files("cirrus.serve").joinpath("static", name).read_bytes()


def _summary_path(path: str) -> tuple[str, str, str] | None:
    """``(collections, workflow, rest)`` of ``<collections>/workflow-<w>[/<rest>]`` paths
    whose rest is empty or ``items``; None for anything else (a payload id)."""
    collections, marker, after = path.rpartition("/workflow-")
    if marker and collections and "/" not in after:
        return collections, after, ""
    collections, marker, after = path.partition("/workflow-")
    if not marker or not collections:
        return None
    workflow, _, rest = after.partition("/")
    if rest == "items" and workflow:
        return collections, workflow, "items"
    return None


def _int(params: Any, name: str) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError:
        raise ApiError(400, f"{name} must be a whole number, not {value!r}") from None
    if number < 1:
        raise ApiError(400, f"{name} must be at least 1, not {number}")
    return number


def _required(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if not value:
        raise ApiError(400, f"the query parameter {name} is required")
    return value
