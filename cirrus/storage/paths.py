"""URL parsing and the key check that keeps payload-built paths inside their root.

Every store key and every part given to :func:`join_url` passes :func:`check_key`: a key is
one or more ``/``-separated segments, none of them empty, ``.`` or ``..``, with no backslash,
NUL byte, leading ``/`` or drive letter. So ``coll/workflow-x/item1/item2`` is fine and
``../../etc/passwd`` is refused with :class:`~cirrus.errors.PathEscapeError`::

    >>> join_url("s3://bucket/data", "sentinel-2/workflow-cog/S2B_1")
    's3://bucket/data/sentinel-2/workflow-cog/S2B_1'
    >>> split_url("s3://bucket/data/a.json")
    ('s3://bucket', 'data/a.json')
"""

from __future__ import annotations

import os
import re
from typing import NamedTuple
from urllib.parse import quote, unquote, urlsplit

from cirrus.errors import PathEscapeError, StorageError
from cirrus.storage.errors import BadURL

__all__ = [
    "SCHEMES",
    "ParsedRoot",
    "check_key",
    "check_prefix",
    "join_url",
    "parse_root",
    "split_url",
    "to_https_url",
]

SCHEMES = ("file", "s3", "memory", "sqlite", "http", "https")
"""URL schemes a store can be opened for; a plain path means ``file``."""

_DRIVE = re.compile(r"^[A-Za-z]:")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_ALLOWED = (
    "a key is one or more '/'-separated names relative to its root, without '..', '.', "
    "empty names, a leading '/', a drive letter, backslashes or NUL bytes"
)


def _refuse(part: str, problem: str) -> PathEscapeError:
    return PathEscapeError(f"path part {part!r} {problem}: {_ALLOWED}")


def check_key(key: str, *, allow_empty: bool = False) -> str:
    """Check that ``key`` stays inside its root and return it unchanged.

    Args:
        key: a relative key such as ``coll/workflow-x/item1/item.json``.
        allow_empty: accept ``""`` (the root itself), as listing does.

    Raises:
        PathEscapeError: the key could leave its root or is not a plain relative key.
    """
    # Fast path (C-level string searches): this runs for every object read or written.
    # Padded with "/", a leading, trailing or doubled "/" shows as "//".
    padded = f"/{key}/" if isinstance(key, str) else "//"
    if (
        "//" not in padded
        and "/./" not in padded
        and "/../" not in padded
        and "\\" not in key
        and "\x00" not in key
        and key[1:2] != ":"
    ):
        return key
    if not isinstance(key, str):
        raise PathEscapeError(f"path part {key!r} is a {type(key).__name__}, not a str: {_ALLOWED}")
    if key == "":
        if allow_empty:
            return key
        raise _refuse(key, "is empty")
    if "\x00" in key:
        raise _refuse(key, "contains a NUL byte")
    if "\\" in key:
        raise _refuse(key, "contains a backslash")
    if key.startswith("/"):
        raise _refuse(key, "is an absolute path")
    if _DRIVE.match(key):
        raise _refuse(key, "starts with a drive letter")
    for segment in key.split("/"):
        if segment == "..":
            raise _refuse(key, "contains a '..' segment")
        if segment == ".":
            raise _refuse(key, "contains a '.' segment")
        if segment == "":
            raise _refuse(key, "contains an empty segment ('//' or a trailing '/')")
    return key


def check_prefix(prefix: str) -> str:
    """Check a listing prefix: a key, ``""``, or a key with one trailing ``/``; returns it bare."""
    bare = prefix[:-1] if prefix.endswith("/") else prefix
    return check_key(bare, allow_empty=True)


def _is_windows_path(url: str) -> bool:
    return bool(_DRIVE.match(url)) and (len(url) == 2 or url[2] in "\\/")


def _scheme_of(url: str) -> str:
    match = _SCHEME.match(url)
    if match is None or _is_windows_path(url):
        return ""
    return match.group(1).lower()


class ParsedRoot(NamedTuple):
    """A root URL taken apart.

    Attributes:
        scheme: ``file``, ``s3``, ``memory``, ``sqlite``, ``http`` or ``https``.
        base: the scheme's fixed part: ``"/"`` for files, the bucket, the memory store name,
            the database file's absolute path (sqlite) or ``scheme://host[:port]``.
        prefix: the key prefix under ``base`` (no leading or trailing ``/``), may be ``""``.
    """

    scheme: str
    base: str
    prefix: str

    @property
    def url(self) -> str:
        """The normalized root URL."""
        if self.scheme == "file":
            return "file://" + quote("/" + self.prefix if self.prefix else "/")
        if self.scheme in ("http", "https"):
            return f"{self.base}/{self.prefix}" if self.prefix else self.base
        root = f"{self.scheme}://{self.base}"
        return f"{root}/{self.prefix}" if self.prefix else root


def parse_root(url: str) -> ParsedRoot:
    """Take a root URL (or plain local path) apart.

    Plain paths are made absolute (so ``../data`` works from the command line); ``file://``
    URLs must be absolute and are percent-decoded.

    Raises:
        StorageError: the scheme is unknown or the URL lacks a bucket/name/host.
    """
    if not isinstance(url, str) or url == "":
        raise BadURL(
            f"storage URL {url!r} is empty: give a local path, file://, s3://, memory:// or http(s)://"
        )
    scheme = _scheme_of(url)
    if scheme == "":
        path = os.path.abspath(url).replace(os.sep, "/")  # noqa: PTH100 - no symlink resolution
        return ParsedRoot("file", "/", _strip(_drop_drive_slash(path)))
    if scheme not in SCHEMES:
        raise BadURL(
            f"storage URL {url!r} has unknown scheme {scheme!r}: use one of "
            f"{', '.join(s + '://' for s in SCHEMES)} or a plain local path"
        )
    rest = url[len(scheme) + 3 :]
    if scheme == "sqlite":
        return _parse_sqlite(url, rest)
    if scheme == "file":
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise BadURL(f"file URL {url!r} names host {parts.netloc!r}: use file:///absolute/path")
        return ParsedRoot("file", "/", _strip(unquote(parts.path)))
    if scheme in ("http", "https"):
        parts = urlsplit(url)
        if not parts.netloc:
            raise BadURL(f"http URL {url!r} has no host: use {scheme}://host/path")
        return ParsedRoot(
            scheme,
            f"{scheme}://{parts.netloc}",
            url[len(f"{scheme}://{parts.netloc}") :].strip("/"),
        )
    base, _, prefix = rest.partition("/")
    if not base:
        what = "bucket" if scheme == "s3" else "store name"
        raise BadURL(
            f"{scheme} URL {url!r} has no {what}: use {scheme}://{what.replace(' ', '-')}/prefix"
        )
    return ParsedRoot(scheme, base, prefix.strip("/"))


_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def _parse_sqlite(url: str, rest: str) -> ParsedRoot:
    """``sqlite://PATH/file.db/prefix``: the file is the first name with a database suffix.

    A folder that merely has such a name (``archive.db/``) is passed over.
    """
    names = rest.split("/")
    for index, name in enumerate(names):
        if name.endswith(_SQLITE_SUFFIXES) and len(name) > 3:
            path = "/".join(names[: index + 1])
            path = os.path.abspath(path).replace(os.sep, "/")  # noqa: PTH100 - relative to cwd
            if os.path.isdir(path):  # noqa: PTH112 - a str path, like the rest here
                continue
            return ParsedRoot("sqlite", path, "/".join(names[index + 1 :]).strip("/"))
    raise BadURL(
        f"sqlite URL {url!r} names no database file: use sqlite:///path/to/payloads.db "
        f"(the file's name ends in {', '.join(_SQLITE_SUFFIXES)})"
    )


def _strip(path: str) -> str:
    return path.strip("/")


def _drop_drive_slash(path: str) -> str:
    # Windows: C:/data -> /C:/data, so the drive stays inside the file:/// URL's path.
    return "/" + path if _DRIVE.match(path) else path


def join_url(root_url: str, *parts: str) -> str:
    """Join a root URL and relative parts built from payload content.

    Parts may contain ``/`` (payload ids do); a trailing ``/`` on a part is dropped. The
    root keeps its form: a plain path stays a plain path, a URL stays a URL.

    Args:
        root_url: a local path or ``file://``, ``s3://``, ``memory://``, ``http(s)://`` URL.
        parts: relative parts such as a payload id or ``item.json``.

    Raises:
        PathEscapeError: a part could leave the root (``..``, absolute, drive letter,
            backslash, NUL, empty segment); the message names the part.
    """
    keys = []
    for part in parts:
        bare = part[:-1] if isinstance(part, str) and part.endswith("/") and part != "/" else part
        keys.append(check_key(bare))
    if not keys:
        return root_url
    tail = "/".join(keys)
    if _scheme_of(root_url) == "file":
        tail = quote(tail)
    return (root_url if root_url.endswith("/") else root_url + "/") + tail


def split_url(url: str) -> tuple[str, str]:
    """Split a full URL into its store root and the key below it.

    The root is the filesystem root (``file:///``), the bucket (``s3://bucket``), the
    memory store (``memory://name``) or the host (``https://host``).

    Raises:
        StorageError: unknown scheme or no bucket/host.
    """
    parsed = parse_root(url)
    root = ParsedRoot(parsed.scheme, parsed.base, "")
    return root.url, parsed.prefix


def to_https_url(s3_url: str, *, region: str | None = None) -> str:
    """The https URL of an S3 object.

    ``https://<bucket>.s3.<region>.amazonaws.com/<key>`` on AWS; when ``AWS_ENDPOINT_URL_S3``
    or ``AWS_ENDPOINT_URL`` is set, ``<endpoint>/<bucket>/<key>``.

    Args:
        s3_url: ``s3://bucket/key``.
        region: the bucket's region; defaults to ``AWS_REGION``, ``AWS_DEFAULT_REGION`` or
            ``us-east-1``.

    Raises:
        StorageError: the URL is not an ``s3://`` URL.
    """
    parsed = parse_root(s3_url)
    if parsed.scheme != "s3":
        raise StorageError(f"cannot make an https URL from {s3_url!r}: give an s3://bucket/key URL")
    key = quote(parsed.prefix, safe="/:@!$&'()*+,;=-._~")
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        return f"{endpoint.rstrip('/')}/{parsed.base}/{key}"
    region = (
        region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-1"
    )
    return f"https://{parsed.base}.s3.{region}.amazonaws.com/{key}"
