"""Moving item assets between storage and a task's work directory.

Every transfer goes through :mod:`cirrus.storage`, so sources and destinations may be local
paths, ``file://``, ``s3://`` or (for reading) ``http(s)://`` URLs.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from cirrus.errors import ConfigError, InvalidInput
from cirrus.templating import render_path_template

__all__ = [
    "DATA_ROOT_ENV",
    "asset_file_name",
    "download_assets",
    "item_location",
    "upload_assets",
]

DATA_ROOT_ENV = "CIRRUS_DATA_ROOT"


def _has_scheme(location: str) -> bool:
    scheme = urlparse(location).scheme
    return len(scheme) > 1  # one letter is a Windows drive, not a scheme


def asset_file_name(href: str) -> str:
    """The file name an asset keeps when copied: the last path segment of its href."""
    name = posixpath.basename(urlparse(href).path) if _has_scheme(href) else Path(href).name
    if not name:
        raise InvalidInput(f"asset href {href!r} has no file name to keep")
    return name


def item_location(path_template: str, item: Mapping[str, Any], data_root: str | None) -> str:
    """Where an item's files go: its rendered ``path_template`` as a URL.

    The fixed part of the template (before its first variable) is the root; the rendered
    rest is joined to it with :func:`cirrus.storage.join_url`, so an item id such as
    ``../../etc`` can never lead outside it. A relative template is placed under
    ``data_root`` (or ``$CIRRUS_DATA_ROOT``).

    Raises:
        ConfigError: the template is relative and no data root is known.
        PathEscapeError: the rendered path would leave its root.
    """
    from cirrus.storage import join_url

    cut = path_template.find("${")
    fixed = path_template if cut < 0 else path_template[:cut]
    variable = "" if cut < 0 else path_template[cut:]
    root, _, head = fixed.rpartition("/")
    if not _has_scheme(path_template) and not Path(path_template).is_absolute():
        base = data_root or os.environ.get(DATA_ROOT_ENV)
        if not base:
            raise ConfigError(
                f"upload_options.path_template {path_template!r} is relative: make it a URL "
                f"(file:///..., s3://bucket/...) or set {DATA_ROOT_ENV} to a data root"
            )
        root = join_url(base, root) if root else base
    elif not root:
        root, head = fixed, ""
    rendered = render_path_template(head + variable, item)
    return join_url(root, rendered) if rendered else root


def download_assets(
    item: dict[str, Any],
    directory: Path,
    keys: Iterable[str] | None = None,
    *,
    keep_non_downloaded: bool = True,
) -> dict[str, Any]:
    """Download assets of an item into ``directory`` and point their hrefs there.

    Args:
        item: the STAC item dict; a changed copy is returned.
        directory: local folder for the files.
        keys: asset keys to fetch; all assets when None.
        keep_non_downloaded: keep assets that were not fetched (else drop them).

    Raises:
        InvalidInput: a requested asset key is not in the item.
    """
    from cirrus.storage import copy_many

    assets: dict[str, Any] = item.get("assets") or {}
    wanted = list(assets) if keys is None else list(keys)
    missing = [key for key in wanted if key not in assets]
    if missing:
        raise InvalidInput(
            f"item {item.get('id')!r} has no asset {', '.join(map(repr, missing))}; "
            f"it has {', '.join(map(repr, assets)) or 'none'}"
        )
    directory.mkdir(parents=True, exist_ok=True)
    new_assets: dict[str, Any] = {}
    pairs: list[tuple[str, str]] = []
    for key, asset in assets.items():
        if key not in wanted:
            if keep_non_downloaded:
                new_assets[key] = asset
            continue
        target = directory / asset_file_name(asset["href"])
        pairs.append((asset["href"], target.as_uri()))
        new_assets[key] = {**asset, "href": str(target)}
    copy_many(pairs)
    return {**item, "assets": new_assets}


def upload_assets(
    item: dict[str, Any],
    keys: Iterable[str] | None,
    upload_options: Mapping[str, Any],
    *,
    data_root: str | None = None,
) -> dict[str, Any]:
    """Copy assets to the item's ``path_template`` location and rewrite their hrefs.

    ``public_assets`` (true, or a list of keys) makes copies publicly readable on S3,
    ``headers`` become object attributes, and ``s3_urls: false`` gives https hrefs.

    Returns:
        A copy of the item with the new hrefs.
    """
    from cirrus.storage import copy_many, join_url, to_https_url

    template = upload_options.get("path_template", "${collection}/${id}")
    location = item_location(template, item, data_root)
    public = upload_options.get("public_assets", False)
    headers = upload_options.get("headers") or None
    s3_urls = upload_options.get("s3_urls", True)
    assets: dict[str, Any] = dict(item.get("assets") or {})
    wanted = list(assets) if keys is None else [key for key in keys if key in assets]
    jobs: dict[bool, list[tuple[str, str]]] = {True: [], False: []}
    for key in wanted:
        asset = assets[key]
        destination = join_url(location, asset_file_name(asset["href"]))
        is_public = public is True or (isinstance(public, list) and key in public)
        jobs[is_public].append((_as_url(asset["href"]), destination))
        href = destination
        if not s3_urls and destination.startswith("s3://"):
            href = to_https_url(destination)
        assets[key] = {**asset, "href": href}
    for is_public, pairs in jobs.items():
        if pairs:
            copy_many(pairs, public=is_public, headers=headers)
    return {**item, "assets": assets}


def _as_url(href: str) -> str:
    return href if _has_scheme(href) else Path(href).absolute().as_uri()
