"""Each package's public API is exactly its ``__all__``, and importing cirrus stays light.

As httpx's ``tests/test_exported_members.py`` does: every name without a leading underscore
in a package's namespace is public, so ``__all__`` lists it, and ``__all__`` lists nothing
else. Submodules (attributes of their package once imported) and the ``annotations``
flag of ``from __future__ import annotations`` are not names a package exports; names
loaded on first use (``cirrus.Payload``) count, since ``dir()`` lists them.
"""

from __future__ import annotations
import __future__

import importlib
import pkgutil
import subprocess
import sys
from types import ModuleType

import pytest

import cirrus

PACKAGES = [
    "cirrus",
    *(info.name for info in pkgutil.walk_packages(cirrus.__path__, "cirrus.") if info.ispkg),
]
EXPORTED_PRIVATE_NAMES = {"__version__"}


def public_names(package: ModuleType) -> list[str]:
    """The names ``package`` exposes, sorted."""
    names = []
    for name in dir(package):
        if name.startswith("_") and name not in EXPORTED_PRIVATE_NAMES:
            continue
        value = getattr(package, name)
        if isinstance(value, ModuleType) or value is __future__.annotations:
            continue
        names.append(name)
    return sorted(names)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_exactly_the_public_names(name: str) -> None:
    package = importlib.import_module(name)
    exported = vars(package).get("__all__")
    assert exported is not None, f"{name}/__init__.py declares no __all__"
    assert sorted(exported) == public_names(package)


def test_every_subpackage_is_checked() -> None:
    assert {"cirrus.engine", "cirrus.state", "cirrus.storage", "cirrus.task"} <= set(PACKAGES)


def test_public_errors_are_exported() -> None:
    from cirrus import errors

    exported = {name for name in errors.__all__ if name[0].isupper()}
    assert exported <= set(cirrus.__all__) | {"is_invalid_input_error"}


def test_import_cirrus_stays_light() -> None:
    heavy = "('pystac', 'obstore', 'jsonpath_ng', 'click')"
    code = f"import sys, cirrus; print(sorted(m for m in {heavy} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_a_worker_process_does_not_import_the_aws_backends() -> None:
    # every process of `processes: N` starts by importing this; an embedded run never
    # talks to SQS, DynamoDB or a webhook, and each import would delay the process's start
    heavy = "('cirrus.queue.sqs', 'cirrus.state.dynamodb', 'urllib.request', 'importlib.metadata')"
    code = (
        "import sys, cirrus.runtime.processes; "
        f"print(sorted(m for m in {heavy} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
    from cirrus.queue import SQSQueue
    from cirrus.queue.sqs import SQSQueue as Loaded
    from cirrus.state import DynamoDBStateDB
    from cirrus.state.dynamodb import DynamoDBStateDB as LoadedDB

    assert (SQSQueue, DynamoDBStateDB) == (Loaded, LoadedDB)
