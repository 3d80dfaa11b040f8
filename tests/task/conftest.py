from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def scene(tmp_path: Path) -> Path:
    """A small local 'asset' file."""
    path = tmp_path / "source" / "scene.tif"
    path.parent.mkdir()
    path.write_bytes(b"II*\x00" + bytes(range(256)) * 8)
    path.with_name("meta.xml").write_text("<metadata/>")
    return path


def make_payload(scene: Path, path_template: str, **process: Any) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "stac_extensions": [],
                "id": "S2B_17HQD_20201103_0_L2A",
                "collection": "sentinel-2-l2a",
                "geometry": None,
                "properties": {"datetime": "2020-11-03T15:22:04Z"},
                "links": [],
                "assets": {
                    "data": {"href": str(scene), "type": "image/tiff"},
                    "metadata": {"href": str(scene.with_name("meta.xml"))},
                },
            }
        ],
        "process": [
            {
                "workflow": "cog-archive",
                "upload_options": {"path_template": path_template},
                **process,
            }
        ],
    }
