"""What the API and the dashboard show, read through the state, queue and storage backends.

:class:`PipelineReader` answers every read the server makes, as JSON-ready values; the
HTTP layer (:mod:`cirrus.serve.app`) only maps routes and parameters onto it. Upstream
Cirrus's shapes are kept where it has the route (root, summary, items, item, stats).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import defaultdict
from datetime import timedelta
from statistics import median
from typing import TYPE_CHECKING, Any

from cirrus.errors import CirrusError, ConfigError, NotFound
from cirrus.runtime.jobs import execution_key
from cirrus.runtime.records import upstream_state_item
from cirrus.runtime.status import pipeline_status
from cirrus.state import State, StateRecord, execution_times, split_payload_id
from cirrus.state.base import encode_token
from cirrus.state.models import format_time, parse_time
from cirrus.storage import join_url, open_store

if TYPE_CHECKING:
    from cirrus.project import Project
    from cirrus.queue import WorkQueue
    from cirrus.runtime.settings import RuntimeSettings
    from cirrus.state import StateDB

__all__ = ["PipelineReader", "state_spans"]

LOG_MAX_BYTES = 2_000_000
"""Logs longer than this are shown cut to their end."""

STATS_SECONDS = 60.0
"""``/stats`` is computed at most this often (it counts 60 days of events: seconds at a
million records); upstream's figures come from a metrics store and lag likewise."""


class PipelineReader:
    """Reads one pipeline for the server.

    Args:
        settings: where the state, queue and stores are.
        project: the project (its workflow definitions); None: built-ins only.
        db: the state database.
        queue: the work queue (None: queue figures are left out).
    """

    def __init__(
        self,
        settings: RuntimeSettings,
        project: Project | None,
        db: StateDB,
        queue: WorkQueue | None,
    ) -> None:
        self.settings = settings
        self.project = project
        self.db = db
        self.queue = queue
        self.payload_store = open_store(settings.payload_root)
        self._stats: tuple[float, dict[str, Any]] | None = None
        self._stats_lock = threading.Lock()

    # ---------------------------------------------------------------- upstream's routes

    def root(self, base_url: str) -> dict[str, Any]:
        """``/``: the state API's landing document, a link per collections and workflow."""
        partitions = sorted({group for group, _ in self.db.counts(group_by="collections_workflow")})
        links = [_link(base_url, "home", "self")]
        for partition in partitions:
            collections, _, workflow = partition.rpartition("_")
            links.append(
                _link(
                    f"{base_url}{collections}/workflow-{workflow}",
                    f"{collections} - {workflow}",
                    "child",
                )
            )
        links.append(_link(f"{base_url}ui/", "dashboard", "service-doc", "text/html"))
        links.append(_link(f"{base_url}api/openapi.json", "OpenAPI", "service-desc"))
        name = self.project.root.name if self.project is not None else "cirrus"
        return {
            "id": f"{name}-state-api",
            "description": f"{name} State API",
            "links": links,
        }

    def summary(
        self, collections: str, workflow: str, since: str | None, limit: int | None
    ) -> dict[str, Any]:
        """``/<collections>/workflow-<workflow>``: counts per state (``"<limit>+"`` above
        ``limit``)."""
        partition = f"{collections}_{workflow}"
        counts = self.db.counts(since=since, group_by="collections_workflow")
        shown: dict[str, int | str] = {}
        for state in State:
            count = counts.get((partition, state), 0)
            shown[state.value] = f"{limit}+" if limit is not None and count > limit else count
        return {"collections": collections, "workflow": workflow, "counts": shown}

    def items(
        self,
        collections: str,
        workflow: str,
        *,
        state: str | None,
        since: str | None,
        limit: int,
        nextkey: str | None,
        ascending: bool,
        error_prefix: str | None = None,
    ) -> dict[str, Any]:
        """``…/items``: a page of records, continued from the payload id ``nextkey``."""
        token = None
        if nextkey:
            after = self.db.get(nextkey)
            if after is None:
                raise NotFound(f"nextkey {nextkey!r} is not a payload id with a record")
            token = encode_token(after)
        page = self.db.query(
            collections_workflow=f"{collections}_{workflow}",
            state=state,
            since=since,
            limit=limit,
            next_token=token,
            ascending=ascending,
            error_prefix=error_prefix,
        )
        body: dict[str, Any] = {"items": [self.item(record) for record in page.records]}
        if page.next_token is not None and page.records:
            body["nextkey"] = page.records[-1].payload_id
        return body

    def item(self, record: StateRecord) -> dict[str, Any]:
        """One record in upstream's item shape (as its ``get-state`` prints it), plus
        cirrus's own fields."""
        item = upstream_state_item(record, self.settings.payload_root)
        item["catid"] = record.payload_id
        item["catalog"] = item["input_payload_url"]
        item["started"] = None if record.started is None else format_time(record.started)
        item["duration"] = record.duration
        return item

    def record(self, payload_id: str) -> StateRecord:
        """The record of a payload id.

        Raises:
            NotFound: no record has that id.
        """
        split_payload_id(payload_id)
        record = self.db.get(payload_id)
        if record is None:
            raise NotFound(f"no state record for payload {payload_id!r}")
        return record

    def stats(self) -> dict[str, Any]:
        """``/stats``: state transitions per day (60 days) and per hour (36 hours)."""
        with self._stats_lock:  # one computation at a time; the others wait for its answer
            cached = self._stats
            if cached is not None and time.monotonic() - cached[0] < STATS_SECONDS:
                return cached[1]
            stats = self._compute_stats()
            self._stats = (time.monotonic(), stats)
            return stats

    def _compute_stats(self) -> dict[str, Any]:
        now = self.db.now()
        return {
            "state_transitions": {
                "daily": self._transitions(now - timedelta(days=60), "day"),
                "hourly": self._transitions(now - timedelta(hours=36), "hour"),
                "hourly_rolling": self._transitions(now - timedelta(hours=2), "hour"),
            }
        }

    def _transitions(self, since: Any, period: Any) -> list[dict[str, Any]]:
        periods: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for count in self.db.event_counts(since=since, period=period):
            state = _EVENT_STATES.get(count.event_type.value, count.event_type.value)
            if state not in _STATE_NAMES:
                continue
            periods[count.period].append(
                {"state": state, "unique_count": count.unique_count, "count": count.count}
            )
        label = "day" if period == "day" else "hour"
        return [
            {
                "period": key if period == "day" else f"{key}:00:00Z",
                "interval": label,
                "states": states,
            }
            for key, states in sorted(periods.items())
        ]

    # ---------------------------------------------------------------- cirrus's own

    def status(self) -> dict[str, Any]:
        """The pipeline at a glance (``cirrus status --json``)."""
        return pipeline_status(self.db, self.queue).to_dict()

    def payloads(
        self,
        *,
        workflow: str | None,
        state: str | None,
        since: str | None,
        error_prefix: str | None,
        search: str | None,
        limit: int,
        next_token: str | None,
    ) -> dict[str, Any]:
        """A page of records for the payload table; ``search`` is a payload id or an error."""
        if search and "/workflow-" in search:
            record = self.db.get(search.strip())
            records = [] if record is None else [record]
            return {"payloads": [self.item(r) for r in records], "next": None}
        page = self.db.query(
            workflow=workflow or None,
            state=state or None,
            since=since or None,
            error_prefix=(search or error_prefix) or None,
            limit=limit,
            next_token=next_token or None,
        )
        return {"payloads": [self.item(r) for r in page.records], "next": page.next_token}

    def payload(self, payload_id: str) -> dict[str, Any]:
        """A payload's record, executions (with times), event timeline and published items."""
        record = self.record(payload_id)
        events = self.db.events(payload_id)
        runs = execution_times(events)
        known = {run.execution for run in runs}
        executions = [run.to_dict() for run in runs]
        for name in record.executions:  # executions the log does not tell of
            if name not in known:
                executions.append({"execution": name, "status": None, "started": None})
        for execution in executions:
            execution["files"] = self._files(payload_id, execution["execution"])
        return {
            "record": self.item(record),
            "executions": executions,
            "timeline": _timeline([event.to_dict() for event in events]),
            "items": self._published(record),
        }

    def execution(self, payload_id: str, execution: str) -> dict[str, Any]:
        """One execution: its times, input, output, history (with per-state spans) and logs."""
        record = self.record(payload_id)
        if execution not in record.executions:
            raise NotFound(f"payload {payload_id!r} has no execution {execution!r}")
        runs = {run.execution: run for run in execution_times(self.db.events(payload_id))}
        run = runs.get(execution)
        history = self._json(payload_id, execution, "history.json")
        return {
            "payload_id": payload_id,
            "execution": execution,
            "times": None if run is None else run.to_dict(),
            "input": self._json(payload_id, execution, "input.json"),
            "output": self._json(payload_id, execution, "output.json"),
            "history": history,
            "states": state_spans(history) if isinstance(history, list) else [],
            "logs": self.logs(payload_id, execution),
        }

    def logs(self, payload_id: str, execution: str) -> list[dict[str, str]]:
        """The execution's log files (``*.log``, ``log*.txt``), each as text (cut to its end)."""
        logs = []
        for name in self._files(payload_id, execution):
            if name.endswith(".log") or (name.startswith("log") and name.endswith(".txt")):
                data = self.payload_store.get(execution_key(payload_id, execution, name))
                cut = len(data) > LOG_MAX_BYTES
                text = data[-LOG_MAX_BYTES:].decode("utf-8", "replace")
                logs.append({"name": name, "text": ("[… cut …]\n" if cut else "") + text})
        return logs

    def workflows(self) -> list[dict[str, Any]]:
        """Every workflow of the project with its description and counts per state."""
        counts = self.db.counts()
        found = []
        for name, component in sorted(self._workflow_components().items()):
            found.append(
                {
                    "name": name,
                    "description": getattr(component, "description", "") or "",
                    "counts": {
                        state.value: counts[(name, state)]
                        for state in State
                        if counts.get((name, state))
                    },
                }
            )
        return found

    def workflow(self, name: str, sample: int = 200) -> dict[str, Any]:
        """A workflow's definition, counts, and durations: whole executions and per state.

        Per-state durations come from the histories kept (failed executions by default,
        every one with ``keep_history: all``) among the ``sample`` latest records.
        """
        components = self._workflow_components()
        component = components.get(name)
        if component is None:
            raise NotFound(
                f"no workflow named {name!r}; known: {', '.join(sorted(components)) or 'none'}"
            )
        records = self.db.query(workflow=name, limit=sample).records
        durations = [r.duration for r in records if r.duration is not None]
        per_state: dict[str, list[float]] = defaultdict(list)
        histories = 0
        for record in records[:50]:
            if not record.executions:
                continue
            history = self._json(record.payload_id, record.executions[-1], "history.json")
            if not isinstance(history, list):
                continue
            histories += 1
            for span in state_spans(history):
                if span["duration"] is not None:
                    per_state[span["name"]].append(span["duration"])
        return {
            "name": name,
            "definition": component.definition,
            "counts": {
                state.value: count
                for (workflow, state), count in self.db.counts().items()
                if workflow == name
            },
            "durations": _describe(durations),
            "state_durations": {state: _describe(values) for state, values in per_state.items()},
            "histories_read": histories,
        }

    def file(self, url: str) -> tuple[bytes, str]:
        """An object under the data or payload root (assets, thumbnails), with its type.

        Raises:
            ConfigError: the URL is outside both roots.
        """
        wanted = _plain_path(url)
        for root in (self.settings.data_root, self.settings.payload_root):
            base = _plain_path(root).rstrip("/") + "/"
            key = wanted[len(base) :]
            if wanted.startswith(base) and key and ".." not in key.split("/"):
                return open_store(root).get(key), _media_type(url)
        raise ConfigError(f"{url!r} is outside the data and payload roots: only those are served")

    # ---------------------------------------------------------------- helpers

    def _workflow_components(self) -> dict[str, Any]:
        if self.project is None:
            return {}
        return dict(self.project.workflows())

    def _url(self, key: str) -> str:
        return join_url(self.settings.payload_root, key)

    def _files(self, payload_id: str, execution: str) -> list[str]:
        prefix = execution_key(payload_id, execution, "input.json").removesuffix("input.json")
        try:
            return sorted(key[len(prefix) :] for key in self.payload_store.list(prefix))
        except CirrusError:
            return []

    def _json(self, payload_id: str, execution: str, name: str) -> Any:
        try:
            return json.loads(self.payload_store.get(execution_key(payload_id, execution, name)))
        except (CirrusError, ValueError):
            return None

    def _published(self, record: StateRecord) -> list[dict[str, Any]]:
        """The output items of the latest success, with asset links the page can follow."""
        if record.state is not State.SUCCEEDED or not record.executions:
            return []
        output = self._json(record.payload_id, record.executions[-1], "output.json")
        if not isinstance(output, dict):
            return []
        items = []
        for feature in output.get("features") or []:
            if not isinstance(feature, dict):
                continue
            assets = []
            for key, asset in (feature.get("assets") or {}).items():
                if not isinstance(asset, dict) or not isinstance(asset.get("href"), str):
                    continue
                assets.append(
                    {
                        "key": str(key),
                        "href": asset["href"],
                        "type": asset.get("type"),
                        "roles": asset.get("roles") or [],
                        "thumbnail": key == "thumbnail"
                        or "thumbnail" in (asset.get("roles") or []),
                    }
                )
            items.append(
                {
                    "id": feature.get("id"),
                    "collection": feature.get("collection"),
                    "datetime": (feature.get("properties") or {}).get("datetime"),
                    "assets": assets,
                }
            )
        return items


_EVENT_STATES = {"CLAIMED_PROCESSING": "CLAIMED", "STARTED_PROCESSING": "PROCESSING"}
_STATE_NAMES = {state.value for state in State} | {"TIMED_OUT"}


def _link(href: str, title: str, rel: str, media_type: str = "application/json") -> dict[str, str]:
    return {"title": title, "rel": rel, "type": media_type, "href": href}


def _timeline(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events in time order, each with how long until the next (the time spent in it)."""
    ordered = sorted(events, key=lambda event: (event["time"], event["id"]))

    for current, following in itertools.pairwise(ordered):
        span = parse_time(following["time"]) - parse_time(current["time"])
        current["seconds_until_next"] = max(span.total_seconds(), 0.0)
    return ordered


def state_spans(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each state entered in an execution history, with when it was entered, left, and how
    long it took (``None`` when it never exited: the execution ended in it)."""
    spans: list[dict[str, Any]] = []
    open_spans: dict[str, list[dict[str, Any]]] = defaultdict(list)
    stamp: Any = None
    for event in history:
        kind = str(event.get("type", ""))
        stamp = event.get("timestamp")
        if kind.endswith("StateEntered"):
            name = (event.get("stateEnteredEventDetails") or {}).get("name")
            span = {
                "name": name,
                "type": kind.removesuffix("StateEntered"),
                "entered": stamp,
                "exited": None,
                "duration": None,
            }
            spans.append(span)
            open_spans[str(name)].append(span)
        elif kind.endswith("StateExited"):
            name = (event.get("stateExitedEventDetails") or {}).get("name")
            waiting = open_spans.get(str(name))
            if waiting:
                _close_span(waiting.pop(), stamp)
    # a state the execution ended in (failed, timed out, aborted) lasted until the end
    for waiting in open_spans.values():
        for span in waiting:
            _close_span(span, stamp)
    return spans


def _close_span(span: dict[str, Any], stamp: Any) -> None:
    """End a state's span at ``stamp``, with its duration when both times can be read."""
    span["exited"] = stamp
    try:
        seconds = (parse_time(str(stamp)) - parse_time(str(span["entered"]))).total_seconds()
    except ValueError:
        return
    span["duration"] = max(seconds, 0.0)


def _describe(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0}
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "mean": sum(ordered) / len(ordered),
        "median": median(ordered),
        "p95": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
        "max": ordered[-1],
    }


_MEDIA = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".json": "application/json",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
}


def _plain_path(url: str) -> str:
    """A local file's URL as its path (``file:///a/b`` and ``/a/b`` are the same file)."""
    return url.removeprefix("file://") if url.startswith("file:///") else url


def _media_type(url: str) -> str:
    path = url.split("?", 1)[0]
    for suffix, media_type in _MEDIA.items():
        if path.lower().endswith(suffix):
            return media_type
    return "application/octet-stream"
