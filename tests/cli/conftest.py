"""The command-line tests share the in-process `cli` runner."""

from test_commands import cli  # noqa: F401
