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
    "media_type",
    "public_asset_keys",
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

    A requested key the item does not have is skipped, as stactask (stac-asset) does: an
    optional asset may simply be absent.
    """
    from cirrus.storage import copy_many

    assets: dict[str, Any] = item.get("assets") or {}
    wanted = set(assets) if keys is None else {key for key in keys if key in assets}
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


def public_asset_keys(public_assets: Any, keys: Iterable[str]) -> set[str]:
    """The asset keys that ``public_assets`` makes public: true or ``"ALL"`` for all of them,
    or a list of keys."""
    if public_assets is True or public_assets == "ALL":
        return set(keys)
    if isinstance(public_assets, list):
        return {str(key) for key in public_assets}
    return set()


def media_type(asset: Mapping[str, Any], file_name: str) -> str | None:
    """The Content-Type to store an asset with: its ``type``, else a guess from its name."""
    declared = asset.get("type")
    if isinstance(declared, str) and declared:
        return declared
    import mimetypes

    return mimetypes.guess_type(file_name)[0]


def upload_assets(
    item: dict[str, Any],
    keys: Iterable[str] | None,
    upload_options: Mapping[str, Any],
    *,
    data_root: str | None = None,
    s3_client: Any = None,
) -> dict[str, Any]:
    """Copy assets to the item's ``path_template`` location and rewrite their hrefs.

    As in stactask: each object is stored with the asset's media type as its Content-Type;
    ``public_assets`` (true, ``"ALL"`` or a list of keys) makes copies publicly readable on
    S3; ``headers`` become object attributes; S3 hrefs are ``https://`` unless ``s3_urls`` is
    true. Uploads to ``s3://`` go through boto3 (see :mod:`cirrus.task.asset_io`).

    Returns:
        A copy of the item with the new hrefs.
    """
    from cirrus.storage import join_url, to_https_url
    from cirrus.task.asset_io import S3Upload, boto3_available, bucket_region, upload_to_s3

    template = upload_options.get("path_template", "${collection}/${id}")
    location = item_location(template, item, data_root)
    headers = dict(upload_options.get("headers") or {})
    s3_urls = bool(upload_options.get("s3_urls", False))
    assets: dict[str, Any] = dict(item.get("assets") or {})
    wanted = list(assets) if keys is None else [key for key in keys if key in assets]
    public = public_asset_keys(upload_options.get("public_assets"), assets)
    uploads: list[S3Upload] = []
    for key in wanted:
        asset = assets[key]
        name = asset_file_name(asset["href"])
        destination = join_url(location, name)  # checked: a name cannot leave the location
        uploads.append(
            S3Upload(_as_url(asset["href"]), destination, media_type(asset, name), key in public)
        )
    if not uploads:
        return {**item, "assets": assets}
    to_s3 = location.startswith("s3://")
    client = None
    if to_s3 and boto3_available():
        client = upload_to_s3(uploads, headers, s3_client)
    else:
        _copy_all(uploads, headers)
    region = None
    if to_s3 and not s3_urls and client is not None and not _custom_endpoint():
        region = bucket_region(client, location.removeprefix("s3://").split("/", 1)[0])
    for key, upload in zip(wanted, uploads, strict=True):
        href = upload.destination
        if to_s3 and not s3_urls:
            href = to_https_url(href, region=region)
        assets[key] = {**assets[key], "href": href}
    return {**item, "assets": assets}


def _custom_endpoint() -> bool:
    return bool(os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"))


def _copy_all(uploads: list[Any], headers: dict[str, Any]) -> None:
    """Copy through :mod:`cirrus.storage`, several at once."""
    from concurrent.futures import ThreadPoolExecutor

    from cirrus.storage import copy

    with ThreadPoolExecutor(max_workers=min(8, len(uploads))) as pool:
        futures = [
            pool.submit(
                copy,
                upload.source,
                upload.destination,
                content_type=upload.content_type,
                public=upload.public,
                headers=headers or None,
            )
            for upload in uploads
        ]
    for future in futures:
        future.result()


def _as_url(href: str) -> str:
    return href if _has_scheme(href) else Path(href).absolute().as_uri()
