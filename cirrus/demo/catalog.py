"""Turn published STAC items into a static, self-contained catalog on disk.

from cirrus.demo.catalog import build_static_catalog

catalog_file = build_static_catalog(items, collection, "out/catalog")

writes::

    out/catalog/catalog.json                          root catalog
    out/catalog/<collection>/collection.json          the collection
    out/catalog/<collection>/<item>/<item>.json       each item, its local assets beside it

Every link and asset href in the written files is relative, so the folder can be moved,
zipped or served over HTTP as it is.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from cirrus.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    import pystac

__all__ = ["build_static_catalog"]

# Links that describe where an object sits; the catalog being built decides them anew.
_PLACEMENT_RELS = frozenset({"self", "root", "parent", "child", "item", "collection", "canonical"})


def build_static_catalog(
    items: Iterable[Mapping[str, Any]],
    collection: Mapping[str, Any],
    out_dir: Path | str,
    *,
    catalog_id: str = "catalog",
    description: str = "Static STAC catalog",
    title: str | None = None,
    copy_assets: bool = True,
) -> Path:
    """Write ``items`` under ``collection`` as a self-contained static catalog in ``out_dir``.

    Links that place an object (self, root, parent, collection, canonical, ...) are dropped
    from the inputs and rebuilt; the others are kept. The inputs are not changed.

    Args:
        items: STAC items as dicts; each joins ``collection`` whatever its ``collection``.
        collection: the STAC collection as a dict.
        out_dir: the catalog's folder (created if needed; files already there with the
            same names are replaced, others are left alone).
        catalog_id: the id of the root catalog.
        description: the description of the root catalog.
        title: the title of the root catalog.
        copy_assets: copy each local asset (a path or ``file://`` URL) into its item's
            folder, so the catalog carries its data; remote assets keep their URLs. When
            false, local assets are linked where they are, by relative path.

    Returns:
        The path of the written ``catalog.json``.

    Raises:
        InvalidInput: two items share an id.
        NotFound: a local asset to copy does not exist.
    """
    import pystac

    out = Path(out_dir).resolve()
    root = pystac.Catalog(id=catalog_id, description=description, title=title)
    stac_collection = pystac.Collection.from_dict(_without_placement(collection))
    root.add_child(stac_collection)
    seen: set[str] = set()
    for source in items:
        item = pystac.Item.from_dict(_without_placement(source))
        if item.id in seen:
            raise InvalidInput(
                f"two items have the id {item.id!r}; give each item of a catalog its own id"
            )
        seen.add(item.id)
        stac_collection.add_item(item)
    root.normalize_hrefs(str(out))
    if copy_assets:
        for item in stac_collection.get_items():
            _copy_local_assets(item)
    root.make_all_asset_hrefs_relative()
    root.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return out / "catalog.json"


def _without_placement(stac: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``stac`` without the links that place it in a catalog."""
    result = copy.deepcopy(dict(stac))
    result["links"] = [
        link for link in result.get("links", []) if link.get("rel") not in _PLACEMENT_RELS
    ]
    return result


def _local_path(href: str) -> Path | None:
    """The file an href names, or None when it is a remote URL."""
    parsed = urlparse(href)
    if parsed.scheme == "file":
        return Path(parsed.path)
    if parsed.scheme in ("", None) or len(parsed.scheme) == 1:  # "C:\..." parses as scheme "c"
        return Path(href)
    return None


def _copy_local_assets(item: pystac.Item) -> None:
    """Copy the item's local assets beside its JSON and point the assets at the copies."""
    self_href = item.get_self_href()
    assert self_href is not None  # normalize_hrefs gave every item one
    folder = Path(self_href).parent
    folder.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    for key, asset in item.assets.items():
        source = _local_path(asset.get_absolute_href() or asset.href)
        if source is None:
            continue
        if not source.is_file():
            raise NotFound(
                f"item {item.id!r} asset {key!r}: no file at {source}; "
                "publish the asset first or build with copy_assets=False"
            )
        name = source.name if source.name not in used else f"{key}-{source.name}"
        used.add(name)
        target = folder / name
        if source.resolve() != target.resolve():
            shutil.copyfile(source, target)
        asset.href = str(target)
