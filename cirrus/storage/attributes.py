"""Object attributes from ``upload_options.headers``.

Payloads give headers the way boto3 names them (``CacheControl``, ``ContentDisposition``,
as upstream Cirrus passes them to ``upload_file(ExtraArgs=...)``); HTTP names
(``Cache-Control``) work too. ``ACL: public-read`` is the same as ``public=True``;
``x-amz-meta-<name>`` and ``Metadata-<name>`` set user metadata.
"""

from __future__ import annotations

from collections.abc import Mapping

from cirrus.errors import StorageError

__all__ = ["ObjectAttributes", "object_attributes"]

_NAMES = {
    "cachecontrol": "Cache-Control",
    "contentdisposition": "Content-Disposition",
    "contentencoding": "Content-Encoding",
    "contentlanguage": "Content-Language",
    "contenttype": "Content-Type",
    "storageclass": "Storage-Class",
}
_META_PREFIXES = ("x-amz-meta-", "metadata-")


class ObjectAttributes:
    """Attributes to store with an object.

    Attributes:
        attributes: HTTP-style attribute names to values, as obstore expects them.
        public: whether the object must be readable by anyone.
    """

    __slots__ = ("attributes", "public")

    def __init__(self, *, public: bool = False) -> None:
        self.attributes: dict[str, str] = {}
        self.public = public


def object_attributes(
    headers: Mapping[str, str], *, content_type: str | None, public: bool
) -> ObjectAttributes:
    """Normalize headers, content type and the public flag into :class:`ObjectAttributes`.

    Raises:
        StorageError: a header name is not one cirrus can store, or the ACL is unsupported.
    """
    result = ObjectAttributes(public=public)
    if content_type:
        result.attributes["Content-Type"] = content_type
    for name, value in headers.items():
        lowered = name.lower()
        canonical = _NAMES.get(lowered.replace("-", "").replace("_", ""))
        if canonical is not None:
            result.attributes[canonical] = str(value)
        elif lowered == "acl":
            if value not in ("public-read", "private"):
                raise StorageError(
                    f"upload header ACL={value!r} is not supported: use 'public-read' or "
                    "'private' (or public_assets)"
                )
            result.public = result.public or value == "public-read"
        elif lowered.startswith(_META_PREFIXES):
            meta = lowered.split("-", 3)[-1] if lowered.startswith("x-amz") else lowered[9:]
            result.attributes[meta] = str(value)
        else:
            raise StorageError(
                f"upload header {name!r} is not supported: use CacheControl, ContentDisposition, "
                "ContentEncoding, ContentLanguage, ContentType, StorageClass, ACL or "
                "x-amz-meta-<name>"
            )
    return result
