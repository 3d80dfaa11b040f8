"""The reliability suite drives the same test project as the pipeline tests."""

from __future__ import annotations

from tests.runtime.conftest import open_pipeline, proj, project_template

__all__ = ["open_pipeline", "proj", "project_template"]  # fixtures for every test module
