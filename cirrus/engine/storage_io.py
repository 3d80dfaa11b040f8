"""Map ``ItemReader``/``ResultWriter`` objects on cirrus storage URLs.

Bucket ``b`` and key ``k`` are ``s3://b/k`` unless ``roots`` maps the bucket name to another
storage root, in which case the key sits directly under that root. A definition written for
S3 then runs locally unchanged::

    from cirrus.engine import run_execution, storage_object_io

    io = storage_object_io({"my-bucket": "file:///project/.cirrus/data"})
    result = run_execution(machine, {}, object_io=io)
    # ItemReader {"Bucket": "my-bucket", "Key": "in/items.json"}
    #   reads file:///project/.cirrus/data/in/items.json

Storage errors reach the engine as ASL errors a ``Catch`` can handle: a missing object is the
``KeyError`` :class:`~cirrus.engine.objects.ObjectIO` promises, other read and list failures
are ``States.ItemReaderFailed`` and write failures ``States.ResultWriterFailed``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, cast

from cirrus.engine.errors import ITEM_READER_FAILED, RESULT_WRITER_FAILED, StatesError
from cirrus.errors import ConfigError, NotFound, StorageError

if TYPE_CHECKING:
    from cirrus.storage import ObjectStore

__all__ = ["StorageObjectIO", "parse_bucket_roots", "storage_object_io"]


class StorageObjectIO:
    """An :class:`~cirrus.engine.objects.ObjectIO` over :mod:`cirrus.storage` URLs.

    Args:
        roots: bucket name to storage root URL (a local path, ``file://``, ``s3://``,
            ``memory://`` or ``http(s)://``); buckets not named here are ``s3://<bucket>``.

    Raises:
        ConfigError: a bucket name is empty or holds ``/``, or a root is not a storage URL.
    """

    def __init__(self, roots: Mapping[str, str] | None = None) -> None:
        from cirrus.storage.paths import parse_root

        self.roots: dict[str, str] = {}
        """Bucket name to normalized root URL (relative paths made absolute)."""
        for bucket, root in (roots or {}).items():
            _check_bucket(bucket)
            try:
                self.roots[bucket] = parse_root(root).url
            except StorageError as err:
                raise ConfigError(f"storage root for bucket {bucket!r}: {err}") from err

    def root_for(self, bucket: str) -> str:
        """The storage root URL holding ``bucket``'s objects.

        Raises:
            ConfigError: ``bucket`` is empty or holds ``/``.
        """
        root = self.roots.get(bucket)
        if root is not None:
            return root
        _check_bucket(bucket)
        return f"s3://{bucket}"

    def url_for(self, bucket: str, key: str) -> str:
        """The storage URL of ``key`` in ``bucket``."""
        return f"{self.root_for(bucket)}/{key}"

    def get(self, bucket: str, key: str) -> bytes:
        """The object's bytes.

        Raises:
            KeyError: there is no such object.
            StatesError: ``States.ItemReaderFailed`` when reading fails otherwise.
        """
        try:
            return self._store(bucket, ITEM_READER_FAILED).get(key)
        except NotFound:
            raise KeyError(f"{bucket}/{key}") from None
        except StorageError as err:
            raise _states_error(ITEM_READER_FAILED, bucket, key, err) from err

    def put(self, bucket: str, key: str, data: bytes) -> None:
        """Write an object (JSON content type for ``.json`` keys).

        Raises:
            StatesError: ``States.ResultWriterFailed`` when writing fails.
        """
        content_type = "application/json" if key.endswith(".json") else None
        try:
            self._store(bucket, RESULT_WRITER_FAILED).put(key, data, content_type=content_type)
        except StorageError as err:
            raise _states_error(RESULT_WRITER_FAILED, bucket, key, err) from err

    def list(self, bucket: str, prefix: str) -> list[tuple[str, int]]:
        """Keys starting with ``prefix`` (a plain string prefix, as S3 lists) and their sizes.

        Raises:
            StatesError: ``States.ItemReaderFailed`` when listing fails.
        """
        # Stores list by whole path segments; S3 prefixes may end mid-name ("logs/2024-").
        folder = prefix.rpartition("/")[0]
        try:
            store = self._store(bucket, ITEM_READER_FAILED)
            return sorted(
                (key, size) for key, size in _sized(store, folder) if key.startswith(prefix)
            )
        except (StorageError, OSError) as err:
            raise _states_error(ITEM_READER_FAILED, bucket, prefix, err) from err

    def _store(self, bucket: str, failure: str) -> ObjectStore:
        from cirrus.storage import open_store

        try:
            return open_store(self.root_for(bucket))
        except (ConfigError, StorageError) as err:
            raise StatesError(failure, f"cannot open bucket {bucket!r}: {err}") from err

    def __repr__(self) -> str:
        return f"StorageObjectIO({self.roots!r})"


def storage_object_io(roots: Mapping[str, str] | None = None) -> StorageObjectIO:
    """Object storage for Map ``ItemReader``/``ResultWriter``: pass it as ``object_io``.

    Args:
        roots: bucket name to storage root URL; other buckets are ``s3://<bucket>``.

    Raises:
        ConfigError: a bucket name or root URL is not valid.
    """
    return StorageObjectIO(roots)


def parse_bucket_roots(specs: Iterable[str]) -> dict[str, str]:
    """Read ``NAME=ROOT`` pairs (as ``--bucket`` takes them) into a bucket-to-root mapping.

    Args:
        specs: strings such as ``my-bucket=./data`` or ``in=s3://other-bucket/prefix``.

    Raises:
        ConfigError: a pair has no ``=``, an empty side, or names a bucket twice.
    """
    roots: dict[str, str] = {}
    for spec in specs:
        name, sep, root = spec.partition("=")
        name, root = name.strip(), root.strip()
        if not sep or not name or not root:
            raise ConfigError(
                f"bucket mapping {spec!r} is not NAME=ROOT: write e.g. my-bucket=./data"
            )
        if name in roots:
            raise ConfigError(f"bucket {name!r} is mapped twice: give one root per bucket")
        _check_bucket(name)
        roots[name] = root
    return roots


def _check_bucket(bucket: str) -> None:
    if not isinstance(bucket, str) or not bucket or "/" in bucket:
        raise ConfigError(
            f"bucket name {bucket!r} is not valid: give a non-empty name without '/' "
            "(put key prefixes in the root URL instead)"
        )


def _sized(store: ObjectStore, folder: str) -> Iterable[tuple[str, int]]:
    """Keys under ``folder`` with their sizes, asking each backend the cheapest way."""
    from cirrus.storage.local import LocalStore

    if isinstance(store, LocalStore):
        return [(key, Path(store.path_for(key)).stat().st_size) for key in store.list(folder)]
    if store.url.startswith("s3://"):
        return _s3_sized(store, folder)
    return [(key, len(store.get(key))) for key in store.list(folder)]


def _s3_sized(store: ObjectStore, folder: str) -> list[tuple[str, int]]:
    # The store's list drops object sizes; one obstore listing gives keys and sizes at once.
    import obstore

    from cirrus.storage.paths import check_prefix
    from cirrus.storage.s3 import S3Store, map_obstore_errors

    s3 = cast(S3Store, store)
    check_prefix(folder)
    out: list[tuple[str, int]] = []
    with map_obstore_errors(s3.url_for(folder) if folder else s3.url, "list"):
        for chunk in obstore.list(s3._store, prefix=folder or None):
            out.extend((meta["path"], int(meta["size"])) for meta in chunk)
    return out


def _states_error(failure: str, bucket: str, key: str, err: Exception) -> StatesError:
    return StatesError(failure, f"bucket {bucket!r}, key {key!r}: {err}")
