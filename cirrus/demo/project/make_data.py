"""Make the demo's input: small synthetic GeoTIFF scenes and the payloads that name them.

Each scene is a 256 x 256, 3-band uint8 GeoTIFF in UTM zone 17N (EPSG:32617) at 30 m,
drawn from smooth functions so it is the same on every machine and compresses to a few
kilobytes. Nothing binary is committed: run this before the demo.

    python make_data.py [OUT_DIR] [--scenes N]

writes ``OUT_DIR/<id>.tif`` and ``OUT_DIR/<id>.json`` (one payload per scene),
``OUT_DIR/collection.json`` (their STAC collection) and ``OUT_DIR/payloads.ndjson`` (all
payloads, one per line), and prints the payload paths.
OUT_DIR defaults to ``.cirrus/input`` beside this file. Needs rasterio (cirrus's ``geo`` extra).
"""

from __future__ import annotations

import argparse
import json
import math
import warnings
from pathlib import Path
from typing import Any

SIZE = 256
PIXEL = 30.0
CRS = "EPSG:32617"
COLLECTION = "demo-scenes"
WORKFLOW = "cog-thumbnail"
# Upper-left corners (UTM 17N metres) of the scenes, a few kilometres apart near 35.6N 78.8W.
ORIGINS = [(700_000.0, 3_960_000.0), (707_680.0, 3_960_000.0), (700_000.0, 3_952_320.0)]
DATES = ["2024-05-01T15:30:00Z", "2024-05-17T15:30:00Z", "2024-06-02T15:30:00Z"]


def scene_id(index: int) -> str:
    """The item id of scene ``index`` (0-based)."""
    return f"demo-scene-{index + 1}"


def _bands(index: int) -> Any:
    """Three uint8 bands: rolling hills (red), a river valley (green), a clearing (blue)."""
    import numpy as np

    y, x = np.mgrid[0:SIZE, 0:SIZE].astype("float64") / SIZE
    phase = index * math.pi / 3
    hills = 0.5 + 0.25 * np.sin(6 * x + phase) * np.cos(4 * y - phase)
    valley = np.exp(-(((y - 0.5 - 0.2 * np.sin(5 * x + phase)) / 0.12) ** 2))
    cx, cy = 0.3 + 0.2 * index, 0.6 - 0.1 * index
    clearing = np.clip(1 - np.hypot(x - cx, y - cy) / 0.35, 0, 1)
    red = 70 + 60 * hills + 110 * clearing
    green = 90 + 120 * hills * (1 - valley) + 60 * clearing
    blue = 40 + 170 * valley + 30 * clearing
    stack = np.stack([red, green, blue])
    return np.clip(np.rint(stack), 0, 255).astype("uint8")


def write_scene(path: Path, index: int, collection_href: str | None = None) -> dict[str, Any]:
    """Write scene ``index`` to ``path`` and return its STAC item.

    Args:
        path: the GeoTIFF to write.
        index: which scene (0-based); each has its own place, date and pattern.
        collection_href: where the item's collection is, for its ``collection`` link.

    Returns:
        A STAC 1.1.0 item whose ``data`` asset is the GeoTIFF at ``path``.
    """
    import rasterio
    from affine import Affine
    from rasterio.warp import transform_bounds

    west, north = ORIGINS[index % len(ORIGINS)]
    transform = Affine(PIXEL, 0.0, west, 0.0, -PIXEL, north)  # north-up, from the top-left
    profile = {
        "driver": "GTiff",
        "width": SIZE,
        "height": SIZE,
        "count": 3,
        "dtype": "uint8",
        "crs": CRS,
        "transform": transform,
        "compress": "deflate",
        "predictor": 2,
        "photometric": "RGB",
        "interleave": "pixel",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # rasterio multiplies Affine objects the way affine >= 3.1 deprecates.
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        with rasterio.open(path, "w", **profile) as dataset:
            dataset.write(_bands(index))
    bounds = (west, north - SIZE * PIXEL, west + SIZE * PIXEL, north)
    lon_min, lat_min, lon_max, lat_max = (
        round(value, 6) for value in transform_bounds(CRS, "EPSG:4326", *bounds)
    )
    ring = [
        [lon_min, lat_min],
        [lon_max, lat_min],
        [lon_max, lat_max],
        [lon_min, lat_max],
        [lon_min, lat_min],
    ]
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": [],
        "id": scene_id(index),
        "collection": COLLECTION,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "bbox": [lon_min, lat_min, lon_max, lat_max],
        "properties": {"datetime": DATES[index % len(DATES)]},
        "links": (
            [{"rel": "collection", "href": collection_href, "type": "application/json"}]
            if collection_href
            else []
        ),
        "assets": {
            "data": {
                "href": str(path.resolve()),
                "type": "image/tiff; application=geotiff",
                "title": "Synthetic RGB scene",
                "roles": ["data"],
            }
        },
    }


def collection_for(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The STAC collection of the demo scenes, with the extent of ``items``."""
    boxes = [item["bbox"] for item in items]
    dates = sorted(item["properties"]["datetime"] for item in items)
    return {
        "type": "Collection",
        "stac_version": "1.1.0",
        "stac_extensions": [],
        "id": COLLECTION,
        "title": "Demo scenes",
        "description": "Synthetic 3-band scenes in UTM zone 17N, made by the cirrus demo.",
        "license": "CC0-1.0",
        "extent": {
            "spatial": {
                "bbox": [
                    [
                        min(box[0] for box in boxes),
                        min(box[1] for box in boxes),
                        max(box[2] for box in boxes),
                        max(box[3] for box in boxes),
                    ]
                ]
            },
            "temporal": {"interval": [[dates[0], dates[-1]]]},
        },
        "links": [],
    }


def payload_for(item: dict[str, Any]) -> dict[str, Any]:
    """A payload that runs the demo workflow on one item."""
    return {
        "type": "FeatureCollection",
        "features": [item],
        "process": [
            {
                "workflow": WORKFLOW,
                # s3:// hrefs on AWS: the next task reads the COG back with the pipeline's own
                # credentials (stactask's default, false, gives https:// hrefs)
                "upload_options": {"path_template": "${collection}/${id}", "s3_urls": True},
                "tasks": {
                    "make-cog": {"asset": "data"},
                    "make-thumbnail": {"asset": "cog", "size": 128},
                },
            }
        ],
    }


def make_inputs(out_dir: Path, scenes: int = 2) -> list[Path]:
    """Write ``scenes`` GeoTIFFs, their collection and their payloads under ``out_dir``.

    Returns:
        The payload files, one per scene.
    """
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    collection_file = out_dir / "collection.json"
    items = [
        write_scene(out_dir / f"{scene_id(index)}.tif", index, str(collection_file))
        for index in range(scenes)
    ]
    collection_file.write_text(json.dumps(collection_for(items), indent=2) + "\n", encoding="utf-8")
    files = []
    lines = []
    for index, item in enumerate(items):
        payload = payload_for(item)
        file = out_dir / f"{scene_id(index)}.json"
        file.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        files.append(file)
        lines.append(json.dumps(payload))
    (out_dir / "payloads.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return files


def main(argv: list[str] | None = None) -> None:
    """Command-line entry: write the inputs and print the payload paths."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "out_dir", nargs="?", type=Path, default=Path(__file__).parent / ".cirrus" / "input"
    )
    parser.add_argument("--scenes", type=int, default=2, choices=range(1, len(ORIGINS) + 1))
    args = parser.parse_args(argv)
    for file in make_inputs(args.out_dir, args.scenes):
        print(file)


if __name__ == "__main__":
    main()
