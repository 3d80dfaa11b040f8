"""``with`` support for objects that hold resources until ``close()``.

Stores, state databases, queues and pipelines all close the same way::

    class Store(Closing):
        def close(self) -> None:
            ...

    with Store() as store:
        ...  # store.close() runs on the way out, error or not
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["Closing"]


class Closing:
    """A context manager that returns itself and calls :meth:`close` on exit."""

    def close(self) -> None:
        """Release connections or handles; the object must not be used afterwards."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
