"""Lambda entry points (``Handler: cirrus.aws.handlers.<name>.lambda_handler``)."""

from __future__ import annotations

__all__: list[str] = []
