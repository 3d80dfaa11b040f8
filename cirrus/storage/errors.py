"""Storage errors beyond the shared tree in :mod:`cirrus.errors`.

Storage raises these, all under :class:`cirrus.errors.StorageError`::

    StorageError            object IO failed (message names the URL)
    ├── NotFound            nothing at that URL
    ├── AlreadyExists       a conditional put (``if_absent=True``) found an object there
    └── PathEscapeError     a key built from payload content would leave its root
"""

from __future__ import annotations

from cirrus.errors import ConfigError, NotFound, PathEscapeError, StorageError

__all__ = ["AlreadyExists", "BadURL", "NotFound", "PathEscapeError", "StorageError"]


class AlreadyExists(StorageError):
    """A conditional put (``if_absent=True``) found an object already at the URL."""


class BadURL(StorageError, ConfigError):
    """A storage URL that no backend can serve (unknown scheme, no bucket or host)."""
