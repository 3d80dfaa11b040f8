"""Converts each item's data GeoTIFF into a Cloud-Optimized GeoTIFF."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from cirrus.errors import InvalidInput
from cirrus.task import Task

COG_MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"


class MakeCog(Task):
    """Convert an item's GeoTIFF asset into a Cloud-Optimized GeoTIFF (COG).

    The COG is written with rio-cogeo (tiled, internal overviews, compressed), uploaded
    to the item's ``path_template`` location and added as the asset ``cog``. The source
    asset is left as it is. See README.md for the parameters.
    """

    name = "make-cog"
    description = "Converts each item's data GeoTIFF into a Cloud-Optimized GeoTIFF"
    version = "1.0.0"

    def process(
        self,
        asset: str = "data",
        output_asset: str = "cog",
        profile: str = "deflate",
        blocksize: int = 128,
        overview_level: int | None = None,
        **kwargs: Any,
    ) -> list[dict[str, Any]]:
        """Make a COG of ``asset`` for every item and add it as ``output_asset``."""
        from pystac import Item

        output = []
        for item in self.items_as_dicts:
            if asset not in item.get("assets", {}):
                raise InvalidInput(
                    f"item {item['id']!r} has no asset {asset!r} to convert; "
                    f"it has {', '.join(item.get('assets', {})) or 'none'}"
                )
            local = self.download_item_assets(
                Item.from_dict(item), assets=[asset], file_name=None, keep_non_downloaded=False
            )
            source = Path(local.assets[asset].href)
            target = source.with_name(f"{item['id']}-{output_asset}.tif")
            _translate(source, target, profile, blocksize, overview_level)
            item["assets"][output_asset] = {
                "href": str(target),
                "type": COG_MEDIA_TYPE,
                "title": "Cloud-Optimized GeoTIFF",
                "roles": ["data"],
            }
            output.append(self.upload_item_assets_dict(item, [output_asset]))
        return output


def _translate(
    source: Path, target: Path, profile: str, blocksize: int, overview_level: int | None
) -> None:
    """Write ``source`` as a COG at ``target`` with the named rio-cogeo profile."""
    from rio_cogeo.cogeo import cog_translate
    from rio_cogeo.profiles import cog_profiles

    if profile not in cog_profiles:
        known = ", ".join(sorted(cog_profiles))
        raise InvalidInput(f"make-cog: unknown profile {profile!r}; known: {known}")
    options = dict(cog_profiles[profile])
    options.update(blockxsize=blocksize, blockysize=blocksize)
    if options.get("compress", "").lower() in ("deflate", "lzw", "zstd"):
        options.setdefault("predictor", 2)  # horizontal differencing: smaller files
    with warnings.catch_warnings():
        # rasterio multiplies Affine objects the way affine >= 3.1 deprecates.
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        cog_translate(
            str(source),
            str(target),
            options,
            overview_level=overview_level,
            overview_resampling="average",
            quiet=True,
        )


# AWS Lambda entry point: definition.yml `handler: task.handler`, Dockerfile.lambda CMD.
handler = MakeCog.handler


if __name__ == "__main__":
    # Batch entry point: python task.py run <payload file or URL> [--output URL]
    MakeCog.cli()
