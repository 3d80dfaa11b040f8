"""The ``publish`` task."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cirrus.task.base import Task

__all__ = ["Publish"]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Publish(Task):
    """Write each output item's JSON next to its assets, per ``path_template``.

    The item is written to ``<path_template>/<id>.json`` with ``self`` and ``canonical``
    links to that location. When a copy already exists there, its ``created`` time is kept;
    ``updated`` is set to now. With ``s3_urls: false`` the links are https URLs.
    """

    name = "publish"
    description = "Writes output items to the catalog next to their assets"
    version = "1.0.0"

    def process(self, **kwargs: Any) -> list[dict[str, Any]]:
        """Publish every item of the payload."""
        from cirrus.errors import NotFound
        from cirrus.storage import join_url, read_json, to_https_url, write_json
        from cirrus.task.assets import item_location

        output = []
        for source in self.items_as_dicts:
            item = dict(source)
            options = self.collection_upload_options(item.get("collection"))
            template = options.get("path_template", "${collection}/${id}")
            # join_url checks the id: one a task made (``../../x``) cannot leave the root
            url = join_url(item_location(template, item, self.data_root), f"{item['id']}.json")
            href = url
            if not options.get("s3_urls", True) and url.startswith("s3://"):
                href = to_https_url(url)
            properties = dict(item.get("properties") or {})
            now = _now()
            try:
                existing = read_json(url)
            except NotFound:
                existing = None
            created = (existing or {}).get("properties", {}).get("created")
            properties["created"] = created or properties.get("created") or now
            properties["updated"] = now
            item["properties"] = properties
            links = [
                link
                for link in item.get("links", [])
                if link.get("rel") not in ("self", "canonical")
            ]
            links.append({"rel": "self", "href": href, "type": "application/geo+json"})
            links.append({"rel": "canonical", "href": href, "type": "application/geo+json"})
            item["links"] = links
            if self._upload:
                write_json(url, item, content_type="application/geo+json")
            output.append(item)
        return output
