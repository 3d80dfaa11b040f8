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
_HIERARCHY = frozenset({"root", "parent", "child", "item", "collection"})


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

    The files are walked by their ``child`` and ``item`` links; one broken file is
    reported and the walk goes on with the others.

    Args:
        catalog_file: the root ``catalog.json``.

    Returns:
        The report; check :attr:`CatalogReport.ok`. Problems are collected, not raised.
    """
    report = CatalogReport(catalog=catalog_file)
    document = _read(catalog_file, report)
    if document is None:
        return report
    if document.get("type") != "Catalog":
        report.problems.append(f"{catalog_file}: type is {document.get('type')!r}, not Catalog")
        return report
    _walk(catalog_file, document, report, seen={catalog_file.resolve()})
    return report


def _read(path: Path, report: CatalogReport, linked_from: str = "") -> dict[str, Any] | None:
    """The JSON object in ``path``, or None with the problem recorded."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        report.problems.append(f"{linked_from}{path}: not readable JSON: {err}")
        return None
    if not isinstance(document, dict):
        report.problems.append(f"{linked_from}{path}: not a JSON object")
        return None
    return document


def _walk(path: Path, document: dict[str, Any], report: CatalogReport, seen: set[Path]) -> None:
    """Validate one catalog or collection file, then what its links lead to."""
    _validate(path, document, report)
    for link in document.get("links", []):
        rel = link.get("rel")
        if rel not in ("child", "item"):
            continue
        target = (path.parent / str(link.get("href", ""))).resolve()
        if target in seen:
            continue
        seen.add(target)
        linked = _read(target, report, f"{path}: {rel} link {link.get('href')!r} -> ")
        if linked is None:
            continue
        if rel == "item":
            report.items.append(_check_item(target, linked, report))
        else:
            if linked.get("type") == "Collection":
                report.collections.append(target)
            _walk(target, linked, report, seen)


def _validate(path: Path, document: dict[str, Any], report: CatalogReport) -> None:
    """Validate one document against its STAC core schema; check its links are relative."""
    from pystac.errors import STACError, STACValidationError
    from pystac.validation import GetSchemaError, validate_dict

    try:
        validate_dict(document, extensions=[], href=str(path))
    except STACValidationError as err:
        report.problems.append(f"{path}: does not match the STAC core schema: {_reason(err)}")
    except GetSchemaError as err:
        report.problems.append(f"{path}: the core schema is not available offline: {err}")
    except STACError as err:  # not recognisable as STAC at all
        report.problems.append(f"{path}: {err}")
    for link in document.get("links", []):
        href = str(link.get("href", ""))
        if link.get("rel") in _HIERARCHY and (href.startswith("/") or "://" in href):
            report.problems.append(f"{path}: link {link.get('rel')} is not relative: {href}")


def _reason(error: Exception) -> str:
    """The most telling jsonschema error behind a validation failure, with where it is."""
    from jsonschema.exceptions import ValidationError, best_match

    best = error.__cause__
    if not isinstance(best, ValidationError):
        return str(error).splitlines()[0]
    # "not valid under any of the given schemas" says little: look inside oneOf/anyOf
    while best.context:
        best = best_match(best.context)
    return f"{best.message} (at {best.json_path})"


def _check_item(path: Path, document: dict[str, Any], report: CatalogReport) -> CheckedItem:
    checked = CheckedItem(id=str(document.get("id")), path=path)
    _validate(path, document, report)
    for key, asset in (document.get("assets") or {}).items():
        href = str(asset.get("href", ""))
        file = path.parent / href
        if "://" in href or not file.is_file():
            report.problems.append(f"{path}: asset {key!r} has no local file at {href}")
            continue
        file = file.resolve()
        if "profile=cloud-optimized" in str(asset.get("type", "")):
            errors, cog_warnings = _cog_problems(file)
            report.cog_warnings.extend(f"{file}: {text}" for text in cog_warnings)
            if errors:
                report.problems.extend(f"{file}: not a valid COG: {text}" for text in errors)
            else:
                checked.cogs.append(file)
        if "thumbnail" in (asset.get("roles") or []):
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
