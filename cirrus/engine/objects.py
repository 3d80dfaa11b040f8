"""Object storage for Map ``ItemReader`` and ``ResultWriter``, addressed as bucket + key.

The engine reads and writes objects only through :class:`ObjectIO`; the pipeline runtime
plugs in its own store (:mod:`cirrus.engine.storage_io` serves cirrus storage URLs), and
:class:`MemoryObjectIO` keeps objects in a dict.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["MemoryObjectIO", "ObjectIO"]


class ObjectIO(Protocol):
    """Reads, writes and lists objects by bucket and key."""

    def get(self, bucket: str, key: str) -> bytes:
        """The object's bytes; raises ``KeyError`` when there is none."""
        ...

    def put(self, bucket: str, key: str, data: bytes) -> None:
        """Write an object."""
        ...

    def list(self, bucket: str, prefix: str) -> list[tuple[str, int]]:
        """Keys under ``prefix`` with their sizes, sorted by key."""
        ...


class MemoryObjectIO:
    """Objects kept in a dict: ``objects[(bucket, key)] = bytes``."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}

    def get(self, bucket: str, key: str) -> bytes:
        """The object's bytes."""
        return self.objects[(bucket, key)]

    def put(self, bucket: str, key: str, data: bytes) -> None:
        """Store an object."""
        self.objects[(bucket, key)] = bytes(data)

    def list(self, bucket: str, prefix: str) -> list[tuple[str, int]]:
        """Keys under ``prefix``."""
        return sorted(
            (key, len(data))
            for (name, key), data in self.objects.items()
            if name == bucket and key.startswith(prefix)
        )
