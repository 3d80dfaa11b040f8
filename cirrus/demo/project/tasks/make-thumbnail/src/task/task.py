"""Makes a PNG thumbnail of each item."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from cirrus.errors import InvalidInput
from cirrus.task import Task


class MakeThumbnail(Task):
    """Make a small PNG preview of an item's raster asset.

    The first three bands (or the only band) are read at thumbnail size straight from the
    raster (a COG's overviews make that cheap), stretched to 0..255 when they are not
    8-bit, written as PNG, uploaded to the item's ``path_template`` location and added as
    the asset ``thumbnail`` with role ``thumbnail``. See README.md for the parameters.
    """

    name = "make-thumbnail"
    description = "Makes a PNG thumbnail of each item"
    version = "1.0.0"

    def process(
        self,
        asset: str = "cog",
        fallback_asset: str = "data",
        size: int = 256,
        output_asset: str = "thumbnail",
        **kwargs: Any,
    ) -> list[dict[str, Any]]:
        """Add a thumbnail of ``asset`` (or ``fallback_asset``) to every item."""
        from pystac import Item

        if not isinstance(size, int) or isinstance(size, bool) or not 16 <= size <= 2048:
            raise InvalidInput(
                f"make-thumbnail: size must be a whole number 16..2048, not {size!r}"
            )
        output = []
        for item in self.items_as_dicts:
            assets = item.get("assets", {})
            key = asset if asset in assets else fallback_asset
            if key not in assets:
                raise InvalidInput(
                    f"item {item['id']!r} has neither asset {asset!r} nor {fallback_asset!r}"
                )
            local = self.download_item_assets(
                Item.from_dict(item), assets=[key], file_name=None, keep_non_downloaded=False
            )
            source = Path(local.assets[key].href)
            target = source.with_name(f"{item['id']}-{output_asset}.png")
            width, height = write_thumbnail(source, target, size)
            item["assets"][output_asset] = {
                "href": str(target),
                "type": "image/png",
                "title": f"Thumbnail ({width} x {height} px)",
                "roles": ["thumbnail"],
            }
            output.append(self.upload_item_assets_dict(item, [output_asset]))
        return output


def write_thumbnail(source: Path, target: Path, size: int) -> tuple[int, int]:
    """Write a PNG of ``source`` whose longer side is at most ``size`` pixels.

    Returns:
        The thumbnail's width and height.
    """
    import numpy as np
    import rasterio
    from rasterio.enums import Resampling

    with warnings.catch_warnings():
        # rasterio multiplies Affine objects the way affine >= 3.1 deprecates, and a PNG
        # has no georeferencing (nor needs any).
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(source) as dataset:
            scale = min(1.0, size / max(dataset.width, dataset.height))
            width = max(1, round(dataset.width * scale))
            height = max(1, round(dataset.height * scale))
            bands = [1, 2, 3] if dataset.count >= 3 else [1]
            data = dataset.read(
                bands, out_shape=(len(bands), height, width), resampling=Resampling.average
            )
        if data.dtype != np.uint8:
            data = _stretch(data.astype("float64"))
        profile = {
            "driver": "PNG",
            "width": width,
            "height": height,
            "count": len(bands),
            "dtype": "uint8",
        }
        with rasterio.open(target, "w", **profile) as png:
            png.write(data)
    return width, height


def _stretch(data: Any) -> Any:
    """Scale each band from its 2nd..98th percentile to 0..255."""
    import numpy as np

    out = np.zeros(data.shape, dtype="uint8")
    for index, band in enumerate(data):
        low, high = np.nanpercentile(band, [2, 98])
        span = high - low or 1.0
        out[index] = np.clip((band - low) / span * 255, 0, 255).astype("uint8")
    return out


# AWS Lambda entry point: definition.yml `handler: task.handler`.
handler = MakeThumbnail.handler


if __name__ == "__main__":
    MakeThumbnail.cli()
