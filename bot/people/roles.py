"""Safeguarding roles a person holds within their agency, which policy stages name."""

from __future__ import annotations

import re
from enum import Enum


class Role(Enum):
    """A role a stage can name; the value is what policy files and the directory CSV use."""

    NAMED_LEAD = "named_lead"
    DESIGNATED_PROFESSIONAL = "designated_professional"
    HEAD_OF_SERVICE = "head_of_service"
    SENIOR_MANAGER = "senior_manager"
    PARTNERSHIP_ADMIN = "partnership_admin"

    @property
    def label(self) -> str:
        """How messages name the role: 'named safeguarding lead'."""
        return LABELS[self]


LABELS = {
    Role.NAMED_LEAD: "named safeguarding lead",
    Role.DESIGNATED_PROFESSIONAL: "designated safeguarding professional",
    Role.HEAD_OF_SERVICE: "head of service",
    Role.SENIOR_MANAGER: "senior manager or director",
    Role.PARTNERSHIP_ADMIN: "partnership admin",
}

# Other ways an admin might write a role in the directory CSV.
_ALIASES = {
    "named lead": Role.NAMED_LEAD,
    "named safeguarding lead officer": Role.NAMED_LEAD,
    "designated professional": Role.DESIGNATED_PROFESSIONAL,
    "designated lead": Role.DESIGNATED_PROFESSIONAL,
    "senior manager": Role.SENIOR_MANAGER,
    "director": Role.SENIOR_MANAGER,
    "partnership business manager": Role.PARTNERSHIP_ADMIN,
}


class UnknownRole(ValueError):
    """A role name the directory or a policy file gives that is not one of `Role`."""


def parse_role(text: str) -> Role:
    """A role from its id or label, any case, spaces, hyphens or underscores between words."""
    key = " ".join(re.split(r"[\s_-]+", text.strip().casefold()))
    for role in Role:
        if key in {role.value.replace("_", " "), role.label}:
            return role
    if key in _ALIASES:
        return _ALIASES[key]
    known = "; ".join(role.label for role in Role)
    raise UnknownRole(f"{text.strip()!r} is not a role; roles are: {known}")


def parse_roles(text: str) -> tuple[Role, ...]:
    """Roles separated by ';' (or '|'), as a directory cell holds them; duplicates dropped."""
    found = [parse_role(part) for part in re.split(r"[;|]", text) if part.strip()]
    return tuple(dict.fromkeys(found))


def agency_key(agency: str) -> str:
    """An agency name as compared: case and spacing do not make two agencies."""
    return " ".join(agency.casefold().split())
