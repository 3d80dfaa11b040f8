"""Object storage for Map ``ItemReader`` and ``ResultWriter``, addressed as bucket + key.

The engine reads and writes objects only through :class:`ObjectIO`; the pipeline runtime
plugs in its own store. Two small implementations come with the engine: in memory, and
a local directory whose sub-folders are buckets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

__all__ = ["DirectoryObjectIO", "MemoryObjectIO", "ObjectIO"]


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


class DirectoryObjectIO:
    """Objects as files: bucket ``b`` and key ``k/x.json`` is ``<root>/b/k/x.json``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, bucket: str, key: str) -> Path:
        path = (self.root / bucket / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise KeyError(f"{bucket}/{key} is outside {self.root}")
        return path

    def get(self, bucket: str, key: str) -> bytes:
        """The file's bytes."""
        path = self._path(bucket, key)
        if not path.is_file():
            raise KeyError(f"{bucket}/{key}")
        return path.read_bytes()

    def put(self, bucket: str, key: str, data: bytes) -> None:
        """Write the file, creating folders."""
        path = self._path(bucket, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def list(self, bucket: str, prefix: str) -> list[tuple[str, int]]:
        """Files under the prefix."""
        base = self.root / bucket
        if not base.is_dir():
            return []
        out = []
        for path in base.rglob("*"):
            if path.is_file():
                key = path.relative_to(base).as_posix()
                if key.startswith(prefix):
                    out.append((key, path.stat().st_size))
        return sorted(out)
