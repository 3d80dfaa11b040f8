"""The Task base class: stactask's interface, with storage that works anywhere.

A task is a class with a ``process(**parameters)`` method that returns the output items.
Written for stactask, it runs here after changing only its import::

    from cirrus.task import Task

    class AddTitle(Task):
        name = "add-title"
        description = "Adds a title to each item"
        version = "1.0.0"

        def process(self, title: str = "untitled", **kwargs):
            items = self.items_as_dicts
            for item in items:
                item["properties"]["title"] = title
            return items

    if __name__ == "__main__":
        AddTitle.cli()

``AddTitle.handler(payload)`` runs it in-process (the Lambda entry); ``python task.py run
payload.json`` runs it from the command line (the Batch entry, see :mod:`cirrus.task.cli`).

Both of stactask's APIs work: 0.7's ``self.payload`` (a dict with ``process_definition``,
``items_as_dicts``, ``get_collection_upload_options`` ...; see
:mod:`cirrus.task.task_payload`) and the older attributes on the task itself
(``self.items_as_dicts``, ``self.process_definition``, ``self._payload`` ...), which are
kept without deprecation warnings. docs/compat.md lists the differences from stactask.
"""

from __future__ import annotations

import copy
import logging
import os
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cirrus.errors import FailedValidation, PayloadError
from cirrus.task.task_payload import TaskPayload

if TYPE_CHECKING:
    from pystac import Item, ItemCollection

__all__ = ["Task"]

PROCESSING_EXTENSION = "https://stac-extensions.github.io/processing/v1.1.0/schema.json"


class Task(ABC):
    """Base class for tasks: payload in, payload out.

    Args:
        payload: the input payload (a dict; validated here).
        workdir: folder for temporary files; a temporary one (removed afterwards) when None.
        save_workdir: keep the work directory; defaults to True when ``workdir`` is given.
        skip_upload: deprecated spelling of ``upload=False``.
        skip_validation: deprecated spelling of ``validate=False``.
        upload: upload assets; False keeps everything local.
        validate: call :meth:`validate` and refuse the payload if it fails.
        data_root: where relative ``path_template`` locations go (default ``$CIRRUS_DATA_ROOT``).
        payload_root: where the pipeline keeps payloads (the runner gives it), for tasks that
            pass payloads by reference, such as ``pre-batch``.

    Raises:
        PayloadError: the payload is malformed.
        FailedValidation: :meth:`validate` rejected it.
    """

    name: str = "task"
    """Name used to find this task's parameters in ``process[0].tasks``."""
    description: str = "A task for doing things"
    """One line saying what the task does."""
    version: str = "0.1.0"
    """Version recorded in output items' ``processing:software``."""

    def __init__(
        self,
        payload: dict[str, Any],
        workdir: str | os.PathLike[str] | None = None,
        save_workdir: bool | None = None,
        skip_upload: bool = False,
        skip_validation: bool = False,
        upload: bool = True,
        validate: bool = True,
        data_root: str | None = None,
        payload_root: str | None = None,
    ) -> None:
        self.payload = TaskPayload(payload)
        """The input payload: a dict with stactask 0.7's accessors (``process_definition``,
        ``items_as_dicts``, ``get_collection_upload_options`` ...)."""
        self.payload.validate()
        self._upload = upload and not skip_upload
        self._skip_upload = not self._upload  # stactask spelling, kept for subclasses
        self.data_root = data_root
        self.payload_root = payload_root
        # a temporary work directory is made on first use: most tasks never touch one, and
        # creating and removing folders costs more than the rest of a small task
        self._workdir_path: Path | None = None
        if workdir is None:
            self._save_workdir = bool(save_workdir)
        else:
            self._workdir_path = Path(workdir).absolute()
            self._workdir_path.mkdir(parents=True, exist_ok=True)
            self._save_workdir = True if save_workdir is None else save_workdir
        self._payload_id = payload.get("id")
        if validate and not skip_validation and not self.validate():
            self.cleanup_workdir()
            raise FailedValidation(f"task {self.name!r} rejected the input payload")

    @property
    def _payload(self) -> TaskPayload:
        """The input payload (stactask's older name for :attr:`payload`, kept without warning)."""
        return self.payload

    @_payload.setter
    def _payload(self, value: dict[str, Any]) -> None:
        self.payload = TaskPayload(value)

    @cached_property
    def logger(self) -> logging.LoggerAdapter[logging.Logger]:
        """The task's logger (named after the task), adding ``payload_id`` to each record.

        Made on first use: most calls never log, and a logger costs more than a small task.
        """
        return logging.LoggerAdapter(logging.getLogger(self.name), {"payload_id": self._payload_id})

    @property
    def _workdir(self) -> Path:
        """The work directory (created when first asked for)."""
        if self._workdir_path is None:
            import tempfile

            # "tmp" first, as stactask's mkdtemp() names it; the task's name helps find it
            self._workdir_path = Path(tempfile.mkdtemp(prefix=f"tmp-cirrus-{self.name}-"))
        return self._workdir_path

    @_workdir.setter
    def _workdir(self, value: Path) -> None:
        self._workdir_path = Path(value)

    # -- the payload ---------------------------------------------------------------------

    @property
    def process_definition(self) -> dict[str, Any]:
        """The current process definition (``process[0]``): ``self.payload.process_definition``."""
        return self.payload.process_definition

    @property
    def workflow_options(self) -> dict[str, Any]:
        """Options given to every task of the workflow (a copy)."""
        return dict(self.payload.workflow_options)

    @property
    def task_options(self) -> dict[str, Any]:
        """This task's own options from ``process[0].tasks[<name>]`` (a copy)."""
        return dict(self.payload.task_options_dict.get(self.name) or {})

    @property
    def parameters(self) -> dict[str, Any]:
        """Keyword arguments for :meth:`process`: workflow options overlaid by task options."""
        return {**self.payload.workflow_options, **self.task_options}

    @property
    def upload_options(self) -> dict[str, Any]:
        """Global ``upload_options`` of the process definition."""
        return self.payload.upload_options

    @property
    def collection_mapping(self) -> dict[str, str]:
        """Legacy ``upload_options.collections``: collection name -> JSONPath expression."""
        return self.payload.collection_mapping

    @property
    def items_as_dicts(self) -> list[dict[str, Any]]:
        """The input items as dicts (the live list)."""
        return self.payload.items_as_dicts

    @property
    def items(self) -> ItemCollection:
        """The input items as a pystac ItemCollection."""
        from pystac import ItemCollection

        return ItemCollection.from_dict(
            {"type": "FeatureCollection", "features": self.items_as_dicts}, preserve_dict=True
        )

    def collection_upload_options(self, collection: str | None) -> dict[str, Any]:
        """Upload options for one collection: ``collection_options`` win over global ones."""
        return self.payload.get_collection_upload_options(collection)

    # -- software version ----------------------------------------------------------------

    @classmethod
    def add_software_version(cls, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Deprecated: use :meth:`add_software_version_to_item` on each item."""
        warnings.warn(
            "add_software_version is deprecated: use add_software_version_to_item",
            DeprecationWarning,
            stacklevel=2,
        )
        return [cls.add_software_version_to_item(item) for item in items]

    @classmethod
    def add_software_version_to_item(cls, item: dict[str, Any]) -> dict[str, Any]:
        """Record this task's name and version in the item (processing extension)."""
        extensions = set(item.get("stac_extensions", []))
        extensions.add(PROCESSING_EXTENSION)
        item["stac_extensions"] = sorted(extensions)
        properties = item.setdefault("properties", {})
        software = properties.get("processing:software")
        if not isinstance(software, dict):
            software = {}
        properties["processing:software"] = {**software, cls.name: cls.version}
        return item

    # -- lifecycle -----------------------------------------------------------------------

    def validate(self) -> bool:
        """Check the input; return False or raise ``InvalidInput`` to refuse it."""
        return True

    def cleanup_workdir(self) -> None:
        """Remove the work directory unless it is to be kept."""
        path = self._workdir_path
        if not self._save_workdir and path is not None and path.exists():
            import shutil

            shutil.rmtree(path, ignore_errors=True)

    def assign_collections(self) -> None:
        """Set each output item's collection from ``collection_matchers`` (or the legacy map)."""
        matchers = self.payload.collection_matchers
        mapping = self.collection_mapping
        if not matchers and not mapping:
            return  # the usual case: nothing to match, so no JSONPath import and no loop
        from cirrus.task.collections import assign_collection

        for item in self._payload["features"]:
            assign_collection(item, matchers or [], mapping or {})

    @abstractmethod
    def process(self, **kwargs: Any) -> list[dict[str, Any]]:
        """Do the work and return the output items as dicts."""

    def post_process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        """Tidy an output item; subclasses that override it call ``super()`` last."""
        extensions = item.get("stac_extensions")
        if isinstance(extensions, list):
            extensions.sort()
        return item

    @staticmethod
    def create_item_from_item(item: dict[str, Any]) -> dict[str, Any]:
        """A copy of an item for a derived product, linked to its source by ``derived_from``."""
        new_item = copy.deepcopy(item)
        selfs = [link["href"] for link in item.get("links", []) if link.get("rel") == "self"]
        if len(selfs) == 1:
            new_item.setdefault("links", []).append(
                {
                    "title": "Source STAC Item",
                    "rel": "derived_from",
                    "href": selfs[0],
                    "type": "application/json",
                }
            )
        return new_item

    # -- assets --------------------------------------------------------------------------

    def download_item_assets(
        self,
        item: Item,
        path_template: str = "${collection}/${id}",
        config: Any = None,
        keep_non_downloaded: bool = True,
        file_name: str | None = "item.json",
        assets: Iterable[str] | None = None,
    ) -> Item:
        """Download an item's assets into the work directory and point hrefs at them.

        Args:
            item: the pystac Item.
            path_template: folder under the work directory, filled from the item.
            config: stac-asset style config; its ``include`` lists the asset keys.
            keep_non_downloaded: keep assets that were not downloaded.
            file_name: also save the item JSON there under this name (None: don't).
            assets: asset keys to download (all when None and no ``config``).
        """
        from pystac import Item as PystacItem

        from cirrus.task.assets import download_assets
        from cirrus.templating import render_path_template

        item_dict = item.to_dict(transform_hrefs=False)
        directory = self._workdir / render_path_template(path_template, item_dict)
        directory.resolve().relative_to(self._workdir.resolve())  # ids must not climb out
        keys = assets if assets is not None else _config_keys(config)
        updated = download_assets(
            item_dict, directory, keys, keep_non_downloaded=keep_non_downloaded
        )
        # as stac-asset does: the returned item's self link is its local copy (or none), so
        # relative hrefs resolve in the work directory rather than on the remote host
        links = [link for link in updated.get("links", []) if link.get("rel") != "self"]
        if file_name:
            import json

            local = directory / file_name
            links.append({"rel": "self", "href": str(local), "type": "application/json"})
            updated["links"] = links
            local.write_text(json.dumps(updated))
        else:
            updated["links"] = links
        return PystacItem.from_dict(updated, preserve_dict=False)

    def download_items_assets(
        self,
        items: Iterable[Item],
        path_template: str = "${collection}/${id}",
        config: Any = None,
        keep_non_downloaded: bool = True,
        file_name: str | None = "item.json",
        assets: Iterable[str] | None = None,
    ) -> list[Item]:
        """:meth:`download_item_assets` for several items."""
        return [
            self.download_item_assets(
                item, path_template, config, keep_non_downloaded, file_name, assets
            )
            for item in items
        ]

    def upload_item_assets_to_s3(
        self, item: Item, assets: list[str] | None = None, s3_client: Any = None
    ) -> Item:
        """Copy the item's assets (all, or ``assets``) to its ``path_template`` location.

        Despite the stactask name the destination may be any storage URL.
        """
        from pystac import Item as PystacItem

        if not self._upload:
            self.logger.warning("upload disabled: keeping assets of %s where they are", item.id)
            return item
        item_dict = self.upload_item_assets_dict(item.to_dict(transform_hrefs=False), assets)
        return PystacItem.from_dict(item_dict, preserve_dict=False)

    def upload_item_assets_dict(
        self, item: dict[str, Any], assets: list[str] | None = None
    ) -> dict[str, Any]:
        """:meth:`upload_item_assets_to_s3` for an item dict; returns the updated copy."""
        from cirrus.task.assets import upload_assets

        if not self._upload:
            return item
        options = self.collection_upload_options(item.get("collection"))
        return upload_assets(item, assets, options, data_root=self.data_root)

    def upload_local_item_assets_to_s3(self, item: Item, s3_client: Any = None) -> Item:
        """Upload only the assets whose files are in the work directory."""
        workdir = str(self._workdir)
        keys = [key for key, asset in item.assets.items() if asset.href.startswith(workdir)]
        return self.upload_item_assets_to_s3(item, keys)

    def upload_item(self, item: dict[str, Any], file_name: str | None = None) -> str:
        """Write the item's JSON to its ``path_template`` location; returns its URL."""
        from cirrus.storage import join_url, write_json
        from cirrus.task.assets import item_location

        options = self.collection_upload_options(item.get("collection"))
        template = options.get("path_template", "${collection}/${id}")
        location = item_location(template, item, self.data_root)
        url = join_url(location, file_name or f"{item['id']}.json")  # checked: stays in root
        write_json(url, item, content_type="application/json")
        return url

    # -- entries -------------------------------------------------------------------------

    @classmethod
    def handler(cls, payload: dict[str, Any], context: Any = None, **kwargs: Any) -> Any:
        """Run the task on a payload: the in-process and Lambda entry.

        ``payload`` may be a reference ``{"url": ...}``; when it also has ``url_out`` (the
        batch convention) the output is written there and ``{"url": url_out}`` returned.
        """
        url_out = payload.get("url_out") if isinstance(payload, dict) else None
        if isinstance(payload, dict) and "features" in payload:
            data = payload  # a payload itself, not a reference: the usual case
        else:
            from cirrus.storage import load_payload

            data = load_payload(payload)  # a reference is read; anything else is refused
        task = cls(data, **kwargs)
        try:
            produced = task.process(**task.parameters)
            if not isinstance(produced, list):
                raise PayloadError(f"{cls.name}.process()", "must return a list of item dicts")
            items = [task.post_process_item(item) for item in produced]
            task.payload["features"] = items
            task.assign_collections()
            # a plain dict, as JSON gives: the runner copies plain dicts at C-like speed
            output = dict(task.payload)
        finally:
            task.cleanup_workdir()
        if isinstance(url_out, str):
            from cirrus.storage import write_json

            write_json(url_out, output)
            return {"url": url_out}
        return output

    @classmethod
    def parse_args(cls, args: list[str]) -> dict[str, Any]:
        """Parse a command line as :meth:`cli` does (stactask's ``parse_args``)."""
        from cirrus.task.cli import parse_args

        return parse_args(cls, args)

    @classmethod
    def cli(cls, argv: list[str] | None = None) -> None:
        """Command-line entry: ``python task.py run INPUT [--output OUT] ...``."""
        from cirrus.task.cli import main

        main(cls, argv)


def _config_keys(config: Any) -> list[str] | None:
    if config is None:
        return None
    include = getattr(config, "include", None)
    if include is None and isinstance(config, dict):
        include = config.get("include")
    return list(include) if include else None
