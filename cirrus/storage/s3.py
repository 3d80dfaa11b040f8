"""S3 store (any S3-compatible endpoint) on obstore: ``s3://bucket[/prefix]``.

Configuration comes from the standard AWS variables: ``AWS_ENDPOINT_URL_S3`` /
``AWS_ENDPOINT_URL`` (an ``http://`` endpoint such as a local moto or MinIO is allowed),
``AWS_REGION`` / ``AWS_DEFAULT_REGION`` and the credential variables.

obstore cannot set an object ACL, so ``public=True`` writes the object with obstore and then
grants public read with boto3 (cirrus's ``aws`` extra).
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

import obstore
from obstore.exceptions import (
    AlreadyExistsError,
    BaseError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionError,
    UnauthenticatedError,
)
from obstore.store import S3Store as _ObstoreS3Store

from cirrus.errors import NotFound, StorageError
from cirrus.storage.attributes import object_attributes
from cirrus.storage.base import ObjectStore, Source
from cirrus.storage.errors import AlreadyExists
from cirrus.storage.paths import parse_root

__all__ = ["S3Store", "map_obstore_errors"]

_STREAM_PARTS = 4
_PART_SIZE = 5 * 1024 * 1024  # S3's smallest multipart part


@contextmanager
def map_obstore_errors(url: str, action: str) -> Iterator[None]:
    """Turn obstore errors into cirrus errors naming ``url``, most specific first."""
    try:
        yield
    except (NotFoundError, FileNotFoundError) as exc:  # obstore raises either
        raise NotFound(f"no object at {url}") from exc
    except (AlreadyExistsError, PreconditionError) as exc:
        raise AlreadyExists(f"an object already exists at {url}") from exc
    except (PermissionDeniedError, UnauthenticatedError, PermissionError) as exc:
        raise StorageError(
            f"cannot {action} {url}: access denied; check the AWS credentials and the bucket "
            f"policy ({_first_line(exc)})"
        ) from exc
    except (BaseError, OSError) as exc:
        raise StorageError(f"cannot {action} {url}: {_first_line(exc)}") from exc


@contextmanager
def map_botocore_errors(url: str, action: str) -> Iterator[None]:
    """Turn botocore errors into cirrus errors naming ``url``."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchKey", "404", "NotFound"):
            raise NotFound(f"no object at {url}") from exc
        hint = ""
        if code == "AccessControlListNotSupported":
            hint = (
                "; the bucket has ACLs disabled: enable ACLs or grant public read by bucket policy"
            )
        raise StorageError(f"cannot {action} {url}: {code} {exc}{hint}") from exc
    except BotoCoreError as exc:
        raise StorageError(f"cannot {action} {url}: {exc}") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _endpoint() -> str | None:
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def _region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


def _has_size(source: Any) -> bool:
    """Whether obstore can size ``source`` itself (bytes, paths and seekable files)."""
    if isinstance(source, bytes | bytearray | memoryview | Path):
        return True
    try:
        return bool(source.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _read_full(source: IO[bytes], size: int) -> bytes:
    """Read ``size`` bytes, fewer only at the end of the stream."""
    parts = []
    missing = size
    while missing > 0:
        chunk = source.read(missing)
        if not chunk:
            break
        parts.append(bytes(chunk))
        missing -= len(chunk)
    return b"".join(parts)


class _Reader(io.RawIOBase):
    """A raw binary reader over obstore's ReadableFile that maps errors on every read."""

    def __init__(self, inner: Any, url: str) -> None:
        self._inner = inner
        self._url = url

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        with map_obstore_errors(self._url, "read"):
            chunk = self._inner.read(len(view))
        size = len(chunk)
        view[:size] = memoryview(chunk)
        return size

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
        super().close()


class S3Store(ObjectStore):
    """Objects in an S3 bucket, optionally under a key prefix.

    Args:
        url: ``s3://bucket`` or ``s3://bucket/prefix``.
    """

    def __init__(self, url: str) -> None:
        parsed = parse_root(url)
        if parsed.scheme != "s3":
            raise ValueError(f"S3Store needs an s3:// URL, not {url!r}")
        self.url = parsed.url
        self.bucket = parsed.base
        self._prefix = parsed.prefix
        self._endpoint = _endpoint()
        self._region = _region()
        config: dict[str, Any] = {}
        if self._endpoint:
            config["endpoint"] = self._endpoint
        if self._region:
            config["region"] = self._region
        client_options: dict[str, Any] = {}
        if self._endpoint and self._endpoint.startswith("http://"):
            client_options["allow_http"] = True
        with map_obstore_errors(self.url, "open"):
            self._store = _ObstoreS3Store(
                self.bucket,
                prefix=self._prefix or None,
                client_options=cast(Any, client_options),
                **config,
            )
        self._boto_client: Any = None
        self._boto_lock = threading.Lock()

    def _full_key(self, key: str) -> str:
        return f"{self._prefix}/{key}" if self._prefix else key

    def _get(self, key: str) -> bytes:
        with map_obstore_errors(self._url_for(key), "read"):
            return bytes(obstore.get(self._store, key).bytes())

    def _open_read(self, key: str) -> BinaryIO:
        url = self._url_for(key)
        with map_obstore_errors(url, "read"):
            inner = obstore.open_reader(self._store, key)
        return cast(BinaryIO, io.BufferedReader(_Reader(inner, url), 1024 * 1024))

    def _put(
        self,
        key: str,
        source: Source,
        *,
        content_type: str | None,
        headers: Mapping[str, str],
        public: bool,
        if_absent: bool,
    ) -> None:
        attrs = object_attributes(headers, content_type=content_type, public=public)
        url = self._url_for(key)
        attributes = cast(Any, attrs.attributes) or None
        body: Any = source
        if not _has_size(source):
            stream = cast(IO[bytes], source)
            body = _read_full(stream, _PART_SIZE)
            if len(body) == _PART_SIZE:
                if if_absent:  # S3 has no conditional multipart upload: send it in one
                    body = b"".join([body, *iter(lambda: _read_full(stream, _PART_SIZE), b"")])
                else:
                    self._put_parts(key, url, body, stream, attributes)
                    body = None
        if body is not None:
            with map_obstore_errors(url, "write"):
                obstore.put(
                    self._store,
                    key,
                    body,
                    attributes=attributes,
                    mode="create" if if_absent else "overwrite",
                    max_concurrency=_STREAM_PARTS,
                )
        if attrs.public:
            self._grant_public_read(key, url)

    def upload_file(
        self,
        local_path: str | os.PathLike[str],
        key: str,
        *,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        public: bool = False,
        if_absent: bool = False,
    ) -> None:
        """Upload a local file; obstore reads it in parts itself (multipart when large)."""
        path = Path(local_path)
        if not path.is_file():
            raise StorageError(f"cannot read {path} to upload: no such file")
        self.put_stream(
            key,
            cast(Any, path),
            content_type=content_type,
            headers=headers,
            public=public,
            if_absent=if_absent,
        )

    def _put_parts(
        self, key: str, url: str, head: bytes, stream: IO[bytes], attributes: Any
    ) -> None:
        """Multipart upload of a stream Python reads (obstore must not call back into itself).

        Leaving the writer by an exception aborts the upload, so no partial object appears.
        """
        with map_obstore_errors(url, "write"):
            writer = obstore.open_writer(
                self._store,
                key,
                attributes=attributes,
                buffer_size=_PART_SIZE,
                max_concurrency=_STREAM_PARTS,
            )
            with writer:
                writer.write(head)
                while chunk := _read_full(stream, _PART_SIZE):
                    writer.write(chunk)

    def _grant_public_read(self, key: str, url: str) -> None:
        client = self._boto()
        with map_botocore_errors(url, "make public"):
            client.put_object_acl(Bucket=self.bucket, Key=self._full_key(key), ACL="public-read")

    def _boto(self) -> Any:
        with self._boto_lock:
            if self._boto_client is None:
                try:
                    import boto3
                except ImportError as exc:
                    raise StorageError(
                        f"public objects on {self.url} need boto3 to set the public-read ACL: "
                        "pip install boto3 (cirrus's aws extra)"
                    ) from exc
                self._boto_client = boto3.client(
                    "s3", endpoint_url=self._endpoint, region_name=self._region
                )
            return self._boto_client

    def _exists(self, key: str) -> bool:
        try:
            with map_obstore_errors(self._url_for(key), "check"):
                obstore.head(self._store, key)
        except NotFound:
            return False
        return True

    def _delete(self, key: str) -> None:
        with map_obstore_errors(self._url_for(key), "delete"):
            obstore.delete(self._store, key)

    def _list(self, prefix: str) -> Iterator[str]:
        with map_obstore_errors(self._url_for(prefix) if prefix else self.url, "list"):
            for chunk in obstore.list(self._store, prefix=prefix or None):
                for meta in chunk:
                    yield meta["path"]

    def _url_for(self, key: str) -> str:
        return f"{self.url}/{key}"

    def close(self) -> None:
        """Drop the boto3 client, if one was made for ACLs."""
        with self._boto_lock:
            self._boto_client = None
