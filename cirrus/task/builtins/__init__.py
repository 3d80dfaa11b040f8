"""Tasks that ship with cirrus, registered under the ``cirrus.tasks`` entry-point group."""

__all__: list[str] = []  # each task is found through its entry point (pyproject.toml)
