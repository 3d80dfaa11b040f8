"""Command-line interface: thin click commands over the library."""

__all__: list[str] = []  # commands are reached through the `cirrus` entry point (cli.main)
