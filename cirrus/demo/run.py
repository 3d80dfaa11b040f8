"""Run the demo end to end, in a folder of its own.

from cirrus.demo.run import run_demo

result = run_demo(Path("cirrus-demo"))
print(result.ok, result.catalog)

1. copy the demo project (shipped in ``cirrus/demo/project``) into the folder;
2. write the input scenes and their payloads with the project's ``make_data.py``;
3. submit the payloads and process them with the embedded pipeline (SQLite state under
   ``.cirrus/``, tasks in-process);
4. build a static STAC catalog in ``catalog/`` from the items the workflow published;
5. check the catalog, its COGs and its thumbnails, and the state records.

Everything the demo writes stays inside the folder. Environment variables that move a
project's state or data elsewhere (``CIRRUS_STATE_DB``, ``CIRRUS_DATA_ROOT``, ...) are
ignored here, so the demo always runs on the embedded defaults.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cirrus.errors import ConfigError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from cirrus.demo.check import CatalogReport
    from cirrus.runtime import Outcome, PayloadResult, Pipeline

__all__ = ["MARKER", "WORKFLOW", "DemoResult", "prepare_folder", "run_demo"]

MARKER = ".cirrus-demo"
"""File that marks a folder as made by the demo (only such a folder is ever wiped)."""
WORKFLOW = "cog-thumbnail"
SCENES = 2
_SKIP = frozenset({"__pycache__", ".cirrus", MARKER})


@dataclass
class DemoResult:
    """What a demo run made and found."""

    folder: Path
    catalog: Path | None = None
    """The catalog's ``catalog.json`` (None when the run stopped before it)."""
    submitted: int = 0
    outcomes: Counter[Outcome] = field(default_factory=Counter)
    """Worker outcomes: succeeded, failed, invalid, ..."""
    states: dict[str, str] = field(default_factory=dict)
    """Payload id -> state of its record."""
    report: CatalogReport | None = None
    problems: list[str] = field(default_factory=list)
    """Failures outside the catalog check: payloads that did not succeed, missing items."""

    @property
    def ok(self) -> bool:
        """True when every payload succeeded and the catalog passed every check."""
        return not self.all_problems

    @property
    def all_problems(self) -> list[str]:
        """Run problems and catalog problems together."""
        return self.problems + (self.report.problems if self.report else [])

    @property
    def state_counts(self) -> dict[str, int]:
        """Number of state records per state."""
        return dict(sorted(Counter(self.states.values()).items()))

    def to_dict(self) -> dict[str, Any]:
        """The machine-readable summary (paths as strings)."""
        report = self.report
        return {
            "ok": self.ok,
            "folder": str(self.folder),
            "catalog": str(self.catalog) if self.catalog else None,
            "collections": [str(path) for path in report.collections] if report else [],
            "items": [
                {
                    "id": item.id,
                    "path": str(item.path),
                    "cogs": [str(path) for path in item.cogs],
                    "thumbnails": [str(path) for path in item.thumbnails],
                }
                for item in (report.items if report else [])
            ],
            "submitted": self.submitted,
            "outcomes": dict(sorted(self.outcomes.items())),
            "states": self.state_counts,
            "payload_ids": sorted(self.states),
            "validation": {
                "schemas": report.schemas if report else None,
                "cog_warnings": report.cog_warnings if report else [],
                "problems": self.all_problems,
            },
        }


def run_demo(
    folder: Path,
    *,
    force: bool = False,
    scenes: int = SCENES,
    workers: int | None = None,
    on_step: Callable[[str], None] | None = None,
    on_submitted: Callable[[int], None] | None = None,
    on_result: Callable[[PayloadResult], None] | None = None,
) -> DemoResult:
    """Run the whole demo in ``folder``; see the module docstring for the steps.

    Args:
        folder: where the demo project is copied and everything is written.
        force: replace an earlier demo in ``folder`` (found by its marker file).
        scenes: how many input scenes to make (1 to 3).
        workers: payloads processed at once (default: the project's setting).
        on_step: called with a short description as each step starts.
        on_submitted: called with the number of payloads queued.
        on_result: called as each payload finishes.

    Returns:
        The result; failures are collected in it, not raised.

    Raises:
        ConfigError: ``folder`` cannot be used, or the geospatial libraries are missing.
    """
    step = on_step or (lambda _text: None)
    _require_geo()
    folder = folder.resolve()
    result = DemoResult(folder)

    _check_folder(folder, force=force)
    step(f"copying the demo project to {folder}")
    prepare_folder(folder, force=force)

    step(f"writing {scenes} input scene(s) and their payloads")
    inputs = folder / ".cirrus" / "input"
    _make_data(folder).make_inputs(inputs, scenes=scenes)

    step(f"processing the payloads with the {WORKFLOW} workflow")
    with _open_pipeline(folder) as pipeline:
        with (inputs / "payloads.ndjson").open(encoding="utf-8") as stream:
            submission = pipeline.submit_stream(stream, "payloads.ndjson")
        result.submitted = submission.queued
        result.problems.extend(f"rejected payload: {reason}" for reason in submission.rejected)
        if on_submitted is not None:
            on_submitted(submission.queued)
        with warnings.catch_warnings():
            # Tasks run in threads, and warnings.catch_warnings inside a task is not
            # thread-safe: one task restoring the filters can unmute another's warnings.
            # Muting them for the whole run keeps the output readable.
            warnings.simplefilter("ignore", PendingDeprecationWarning)  # affine >= 3.1
            warnings.filterwarnings("ignore", category=_not_georeferenced())  # PNG output
            result.outcomes = pipeline.drain(on_result, workers=workers)
        items = _published_items(pipeline, result)

    step("building the static STAC catalog")
    if len(items) != scenes:
        result.problems.append(f"expected {scenes} published item(s), found {len(items)}")
    from cirrus.demo.catalog import build_static_catalog

    collection = json.loads((inputs / "collection.json").read_text(encoding="utf-8"))
    result.catalog = build_static_catalog(
        items,
        collection,
        folder / "catalog",
        catalog_id="cirrus-demo",
        title="cirrus demo",
        description="Cloud-Optimized GeoTIFFs and thumbnails made by the cirrus demo pipeline",
    )

    step("validating the catalog, its COGs and its thumbnails")
    from cirrus.demo.check import check_catalog

    result.report = check_catalog(result.catalog)
    for item in result.report.items:
        if not item.cogs:
            result.problems.append(f"{item.path}: item {item.id!r} has no valid COG asset")
        if not item.thumbnails:
            result.problems.append(f"{item.path}: item {item.id!r} has no PNG thumbnail")
    return result


def prepare_folder(folder: Path, *, force: bool = False) -> None:
    """Copy the demo project into ``folder``, which must be new, empty or an earlier demo.

    Raises:
        ConfigError: ``folder`` is a file, holds something else, or holds an earlier demo
            and ``force`` is false.
    """
    if _check_folder(folder, force=force):
        _empty(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # The marker goes first, so that even a copy cut short can be replaced with --force.
    (folder / MARKER).write_text(
        "This folder was made by `cirrus demo`; `cirrus demo --force` replaces it.\n",
        encoding="utf-8",
    )
    _copy_tree(project_source(), folder)


def _check_folder(folder: Path, *, force: bool) -> bool:
    """Whether ``folder`` holds an earlier demo to replace; raise if it cannot be used."""
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{folder} is a file; give the demo a new or empty folder")
    if not folder.is_dir() or not any(folder.iterdir()):
        return False
    if not (folder / MARKER).is_file():
        raise ConfigError(
            f"{folder} is not empty and was not made by cirrus demo; "
            "give the demo a new or empty folder"
        )
    if not force:
        raise ConfigError(
            f"{folder} holds an earlier demo; add --force to replace it, or give another folder"
        )
    return True


def _not_georeferenced() -> type[Warning]:
    from rasterio.errors import NotGeoreferencedWarning

    warning: type[Warning] = NotGeoreferencedWarning
    return warning


def project_source() -> Traversable:
    """The demo project shipped with the package."""
    from importlib.resources import files

    return files("cirrus.demo").joinpath("project")


def _empty(folder: Path) -> None:
    """Remove everything inside ``folder`` (not the folder: it may be a mount or a link)."""
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _copy_tree(source: Traversable, target: Path) -> None:
    target.mkdir(exist_ok=True)
    for entry in source.iterdir():
        if entry.name in _SKIP or entry.name.endswith(".pyc"):
            continue
        if entry.is_dir():
            _copy_tree(entry, target / entry.name)
        else:
            (target / entry.name).write_bytes(entry.read_bytes())


def _require_geo() -> None:
    missing = [name for name in ("rasterio", "rio_cogeo") if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"the demo needs {' and '.join(missing)}: install cirrus with its demo extra "
            "(pip install -e '.[demo]' in cirrus's folder)"
        )


def _make_data(folder: Path) -> Any:
    """The copied project's ``make_data`` module (its own script, run as a user would)."""
    path = folder / "make_data.py"
    spec = importlib.util.spec_from_file_location("cirrus_demo_make_data", path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{path} cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _open_pipeline(folder: Path) -> Pipeline:
    """The copied project's pipeline, on its own settings only (no environment overrides)."""
    from cirrus.project import Project, ProjectConfig
    from cirrus.runtime import Pipeline, RuntimeSettings

    config = ProjectConfig.load(folder, env={})
    settings = RuntimeSettings.from_config(config).with_changes(
        queue=str(folder / ".cirrus" / "queue.db")
    )
    return Pipeline(settings, Project(folder, config))


def _published_items(pipeline: Pipeline, result: DemoResult) -> list[dict[str, Any]]:
    """The items in the output payloads of the demo workflow's state records."""
    from cirrus.state import State
    from cirrus.storage import read_json

    items: list[dict[str, Any]] = []
    for record in pipeline.db.query(workflow=WORKFLOW).records:
        result.states[record.payload_id] = str(record.state)
        if record.state is not State.SUCCEEDED:
            result.problems.append(
                f"payload {record.payload_id} is {record.state}: {record.last_error or 'no error'}"
            )
            continue
        if record.output_url:
            items.extend(read_json(record.output_url).get("features", []))
    return sorted(items, key=lambda item: str(item.get("id")))
