"""Uploading a task's assets to S3 through boto3, as stactask does.

Uploads to ``s3://`` go through a boto3 client made for the call (or the one a task or test
sets as :data:`global_s3_client`), not through the pipeline's own S3 store, so that a task's
unit test under ``moto.mock_aws`` catches them exactly as it catches stactask's. Without
boto3 installed, uploads fall back to :mod:`cirrus.storage`.

Each object is written with the asset's media type as ``ContentType``, the upload options'
``headers`` as extra arguments (``CacheControl``, ``StorageClass`` ...), and
``ACL: public-read`` when the asset is public.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cirrus.errors import StorageError

__all__ = ["S3Upload", "boto3_available", "bucket_region", "global_s3_client", "upload_to_s3"]

global_s3_client: Any = None
"""A boto3 S3 client (or a ``boto3utils.s3``) to use instead of one made per call."""


@dataclass(frozen=True)
class S3Upload:
    """One object to write: where from, where to, and how to store it."""

    source: str
    """Any URL :mod:`cirrus.storage` reads (a local file as ``file://``)."""
    destination: str
    """``s3://bucket/key``."""
    content_type: str | None
    public: bool


def boto3_available() -> bool:
    """Whether boto3 can be imported (checked without importing it)."""
    return importlib.util.find_spec("boto3") is not None


def _client(s3_client: Any) -> Any:
    chosen = s3_client if s3_client is not None else global_s3_client
    if chosen is None:
        import boto3

        return boto3.client("s3")
    return getattr(chosen, "s3", chosen)  # a boto3utils.s3 wraps its client as .s3


def _split(url: str) -> tuple[str, str]:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return bucket, key


def upload_to_s3(
    uploads: Iterable[S3Upload], headers: dict[str, Any] | None = None, s3_client: Any = None
) -> Any:
    """Write each upload with boto3; returns the client used (for :func:`bucket_region`).

    Raises:
        StorageError: naming the object that could not be written and why.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from cirrus.storage import open_store, split_url

    client = _client(s3_client)
    for upload in uploads:
        extra: dict[str, Any] = {}
        if upload.content_type:
            extra["ContentType"] = upload.content_type
        extra.update(headers or {})
        if upload.public:
            extra["ACL"] = "public-read"
        bucket, key = _split(upload.destination)
        root, source_key = split_url(upload.source)
        try:
            with open_store(root).open_read(source_key) as reader:
                client.upload_fileobj(reader, bucket, key, ExtraArgs=extra)
        except (ClientError, BotoCoreError, ValueError) as err:
            raise StorageError(
                f"cannot upload {upload.source} to {upload.destination}: {err}"
            ) from err
    return client


def bucket_region(client: Any, bucket: str) -> str:
    """The region a bucket lives in (``us-east-1`` for the classic region), as S3 reports it."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        region = client.get_bucket_location(Bucket=bucket).get("LocationConstraint")
    except (ClientError, BotoCoreError) as err:
        raise StorageError(f"cannot find the region of bucket {bucket}: {err}") from err
    return str(region) if region else "us-east-1"
