"""The public API is complete and importable."""

from __future__ import annotations

import subprocess
import sys

import cirrus


def test_all_names_resolve() -> None:
    for name in cirrus.__all__:
        assert getattr(cirrus, name) is not None


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
