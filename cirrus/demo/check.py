"""Check a static STAC catalog on disk: schemas, links, COGs and thumbnails.

from cirrus.demo.check import check_catalog

report = check_catalog(Path("catalog/catalog.json"))
if not report.ok:
    print("\\n".join(report.problems))

Every catalog, collection and item file is validated against the STAC core JSON schemas
that pystac carries with it, so no network is needed; extension schemas would have to be
downloaded and are not checked. Assets whose media type says ``profile=cloud-optimized``
must pass rio-cogeo's COG validation; assets with the ``thumbnail`` role must be PNG files.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["PNG_SIGNATURE", "CatalogReport", "CheckedItem", "check_catalog"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SCHEMA_NOTE = (
    "STAC core schemas, offline (pystac's bundled copies); extension schemas need the "
    "network and were not checked"
)


@dataclass
class CheckedItem:
    """One item of a checked catalog and its checked assets."""

    id: str
    path: Path
    """The item's JSON file."""
    cogs: list[Path] = field(default_factory=list)
    """Cloud-Optimized GeoTIFF assets that passed validation."""
    thumbnails: list[Path] = field(default_factory=list)
    """Thumbnail assets that are PNG files."""


@dataclass
class CatalogReport:
    """What :func:`check_catalog` found."""

    catalog: Path
    collections: list[Path] = field(default_factory=list)
    items: list[CheckedItem] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Everything that failed, one line each, naming the file and what is wrong."""
    cog_warnings: list[str] = field(default_factory=list)
    """rio-cogeo's warnings (not failures), one line each."""
    schemas: str = SCHEMA_NOTE
    """What the JSON was validated against."""

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.problems


def check_catalog(catalog_file: Path) -> CatalogReport:
    """Validate the catalog at ``catalog_file`` and everything it links to.

    Args:
        catalog_file: the root ``catalog.json``.

    Returns:
        The report; check :attr:`CatalogReport.ok`. Problems are collected, not raised.
    """
    import pystac

    report = CatalogReport(catalog=catalog_file)
    try:
        root = pystac.Catalog.from_file(str(catalog_file))
    except (OSError, ValueError, pystac.STACError) as err:
        report.problems.append(f"{catalog_file}: cannot be read as a STAC catalog: {err}")
        return report
    _validate_file(catalog_file, report)
    try:
        for child in root.get_children():
            path = _self_path(child)
            report.collections.append(path)
            _validate_file(path, report)
        for item in root.get_items(recursive=True):
            report.items.append(_check_item(item, report))
    except (OSError, ValueError, pystac.STACError) as err:
        report.problems.append(f"{catalog_file}: a link does not lead to a STAC object: {err}")
    return report


def _self_path(stac_object: Any) -> Path:
    href = stac_object.get_self_href()
    assert href is not None  # objects read from files know where they came from
    return Path(href)


def _validate_file(path: Path, report: CatalogReport) -> None:
    """Validate one JSON file against its STAC core schema; record problems."""
    from pystac.errors import STACValidationError
    from pystac.validation import GetSchemaError, validate_dict

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        report.problems.append(f"{path}: not readable JSON: {err}")
        return
    try:
        validate_dict(document, extensions=[], href=str(path))
    except STACValidationError as err:
        report.problems.append(f"{path}: {str(err).splitlines()[-1]}")
    except GetSchemaError as err:
        report.problems.append(f"{path}: the core schema is not available offline: {err}")
    for link in document.get("links", []):
        href = str(link.get("href", ""))
        if link.get("rel") in ("root", "parent", "child", "item", "collection") and (
            href.startswith("/") or "://" in href
        ):
            report.problems.append(f"{path}: link {link.get('rel')} is not relative: {href}")


def _check_item(item: Any, report: CatalogReport) -> CheckedItem:
    path = _self_path(item)
    checked = CheckedItem(id=item.id, path=path)
    _validate_file(path, report)
    for key, asset in item.assets.items():
        href = asset.get_absolute_href() or asset.href
        file = Path(href)
        if "://" in href or not file.is_file():
            report.problems.append(f"{path}: asset {key!r} has no local file at {href}")
            continue
        if "profile=cloud-optimized" in (asset.media_type or ""):
            errors, cog_warnings = _cog_problems(file)
            report.cog_warnings.extend(f"{file}: {text}" for text in cog_warnings)
            if errors:
                report.problems.extend(f"{file}: not a valid COG: {text}" for text in errors)
            else:
                checked.cogs.append(file)
        if "thumbnail" in (asset.roles or []):
            with file.open("rb") as stream:
                signature = stream.read(len(PNG_SIGNATURE))
            if signature != PNG_SIGNATURE:
                report.problems.append(f"{file}: thumbnail {key!r} is not a PNG file")
            else:
                checked.thumbnails.append(file)
    return checked


def _cog_problems(file: Path) -> tuple[list[str], list[str]]:
    """rio-cogeo's errors and warnings for ``file``."""
    from rio_cogeo.cogeo import cog_validate

    with warnings.catch_warnings():
        # rasterio multiplies Affine objects the way affine >= 3.1 deprecates.
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        _valid, errors, cog_warnings = cog_validate(str(file), quiet=True)
    return list(errors), list(cog_warnings)
