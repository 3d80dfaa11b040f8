"""The ``copy-assets`` task."""

from __future__ import annotations

from typing import Any

from cirrus.task.base import Task

__all__ = ["CopyAssets"]


class CopyAssets(Task):
    """Copy item assets to the location given by ``upload_options.path_template``.

    Each file keeps its name and the item's hrefs are rewritten to the copies.

    Parameters:
        assets (list of str, optional): asset keys to copy; all assets when absent.

    Upload options honoured: ``path_template``, ``public_assets`` (true or a list of keys:
    publicly readable copies on S3), ``headers`` (object attributes such as CacheControl),
    ``s3_urls`` (false gives https hrefs for S3 copies), and per-collection
    ``collection_options``.
    """

    name = "copy-assets"
    description = "Copies item assets to the upload location and rewrites their hrefs"
    version = "1.0.0"

    def process(self, assets: list[str] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        """Copy the assets of every input item."""
        from cirrus.errors import InvalidInput

        if assets is not None and not (
            isinstance(assets, list) and all(isinstance(key, str) for key in assets)
        ):
            raise InvalidInput(
                f"copy-assets parameter 'assets' must be a list of asset keys, got {assets!r}"
            )
        output = []
        for item in self.items_as_dicts:
            if assets is not None:
                missing = [key for key in assets if key not in (item.get("assets") or {})]
                if missing:
                    raise InvalidInput(
                        f"item {item['id']!r} has no asset {', '.join(map(repr, missing))}"
                    )
            output.append(self.upload_item_assets_dict(item, assets))
        return output
