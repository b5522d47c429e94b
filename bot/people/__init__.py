"""The people directory: who each person is, their agency, line manager and safeguarding roles;
someone new named in a form (`add_newcomer`); and finding people as they are typed (`search`)."""

from bot.people.directory import COLUMNS, DirectoryError, Person, parse_directory_csv
from bot.people.newcomers import Newcomer, add_newcomer, newcomer_problems
from bot.people.roles import Role, UnknownRole, agency_key, parse_role, parse_roles

__all__ = [
    "COLUMNS",
    "DirectoryError",
    "Newcomer",
    "Person",
    "Role",
    "UnknownRole",
    "add_newcomer",
    "agency_key",
    "newcomer_problems",
    "parse_directory_csv",
    "parse_role",
    "parse_roles",
]
