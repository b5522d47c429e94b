"""The people directory: who each person is, their agency, line manager and safeguarding roles."""

from bot.people.directory import COLUMNS, DirectoryError, Person, parse_directory_csv

__all__ = ["COLUMNS", "DirectoryError", "Person", "parse_directory_csv"]
