"""The people directory: who each person is, their agency, line manager and safeguarding roles."""

from bot.people.directory import COLUMNS, DirectoryError, Person, parse_directory_csv
from bot.people.roles import Role, UnknownRole, agency_key, parse_role, parse_roles

__all__ = [
    "COLUMNS",
    "DirectoryError",
    "Person",
    "Role",
    "UnknownRole",
    "agency_key",
    "parse_directory_csv",
    "parse_role",
    "parse_roles",
]
